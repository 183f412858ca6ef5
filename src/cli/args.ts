/** A small, strict argument parser: unknown flags are errors, not silently ignored. */
export class UsageError extends Error {}

export interface Parsed { positional: string[]; flags: Record<string, string | true> }

export function parseArgs(argv: string[], known: Record<string, 'string' | 'boolean'>): Parsed {
  const out: Parsed = { positional: [], flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { out.positional.push(a); continue; }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    const kind = known[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'boolean') { out.flags[name] = true; continue; }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    out.flags[name] = value;
  }
  return out;
}

export function intFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number >= 0, got "${String(v)}"`);
  return Number(v);
}
