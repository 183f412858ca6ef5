/**
 * Exit codes every dhp command keeps to, so scripts can branch on them:
 * 0 success; 1 the task failed or the API refused the request; 2 bad usage or configuration
 * (unknown flag, missing value, missing file); 3 not logged in, or the server refuses the saved
 * credentials; 130 interrupted (Ctrl-C) while waiting.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, credentials: 3, interrupted: 130 } as const;

/** An error that ends the command with a message on stderr and the given exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) { super(message); }
}

/** Bad usage: exit 2, with a pointer to "dhp help". */
export class UsageError extends CliError {
  constructor(message: string) { super(message, EXIT.usage); }
}

export interface Parsed { positional: string[]; flags: Record<string, string | true> }

/** One-letter aliases of long options; valid only where the long option is. */
const SHORT: Record<string, string> = { o: 'output' };

/**
 * A small, strict argument parser: unknown flags are errors, not silently ignored.
 * `--` ends the options (what follows is positional, even when it starts with a dash).
 */
export function parseArgs(argv: string[], known: Record<string, 'string' | 'boolean'>): Parsed {
  const out: Parsed = { positional: [], flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { out.positional.push(...argv.slice(i + 1)); break; }
    let name: string;
    let inline: string | undefined;
    if (/^-[A-Za-z]$/.test(a)) {
      name = SHORT[a[1]] ?? '';
      if (!known[name]) throw new UsageError(`unknown option ${a}`);
    } else if (a.startsWith('--')) {
      [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    } else { out.positional.push(a); continue; }
    const kind = known[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'boolean') { out.flags[name] = true; continue; }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    out.flags[name] = value;
  }
  return out;
}

/** The value of a string option, or undefined when it was not given. */
export function stringFlag(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function intFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number >= 0, got "${String(v)}"`);
  return Number(v);
}
