/**
 * The one way dhp runs a tool (ffmpeg, ffprobe, pocketsphinx): no shell, a deadline, an abort
 * signal, stdout kept only when asked for and bounded, the tail of stderr kept for logs, and a
 * result only once the process has exited (so the files it wrote are closed).
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';

/** A tool run failed. The message names the tool and how it ended; `stderrTail` goes to logs, never to users. */
export class ToolError extends Error {
  readonly stderrTail: string;

  constructor(message: string, stderrTail: string) {
    super(message);
    this.name = 'ToolError';
    this.stderrTail = stderrTail;
  }
}

export interface RunToolOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Keep stdout (ffprobe JSON, piped JPEGs); otherwise it is discarded. */
  captureStdout?: boolean;
  /** Kill the process once it has printed more than this to stdout: whatever it prints is held in memory. */
  maxStdoutBytes?: number;
  /**
   * Writes the tool's stdin (raw frames for an encoder); stdin is closed when it resolves. A tool
   * may stop reading and exit as soon as it has enough (ffmpeg's -t), so a write failing after a
   * clean exit is not an error: the exit code decides. A failing feeder kills the tool.
   */
  stdin?: (stdin: Writable) => Promise<void>;
}

export interface ToolOutput {
  stdout: Buffer;
  stderr: string;
}

const STDERR_TAIL_LINES = 20;
/** Enough for 20 long lines; older stderr is dropped as it streams in. */
const STDERR_KEEP_CHARS = 16 * 1024;

/**
 * Spawn `bin args`, collect output and settle once the process has exited
 * (so files it wrote are closed). A timeout or abort kills it with SIGKILL:
 * a half-written output is discarded anyway, so there is nothing to finalize.
 */
export function runTool(bin: string, args: string[], opts: RunToolOptions = {}): Promise<ToolOutput> {
  const name = path.basename(bin);
  return new Promise<ToolOutput>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new ToolError(`${name} was aborted before it started`, ''));
      return;
    }
    const child = spawn(bin, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', opts.captureStdout === false ? 'ignore' : 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let killedFor: string | null = null;
    let spawnError: NodeJS.ErrnoException | null = null;

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (opts.maxStdoutBytes !== undefined && stdoutBytes > opts.maxStdoutBytes) {
        kill(`printed more than ${opts.maxStdoutBytes} bytes`);
        return;
      }
      stdout.push(chunk);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_CHARS);
    });

    const kill = (why: string) => {
      if (killedFor) return;
      killedFor = why;
      child.kill('SIGKILL');
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => kill(`did not finish within ${Math.round(opts.timeoutMs! / 1000)} s`), opts.timeoutMs)
      : null;
    const onAbort = () => kill('was aborted');
    if (opts.stdin) {
      const stdin = child.stdin!;
      stdin.on('error', () => undefined); // EPIPE once the tool stopped reading; its exit code decides
      opts.stdin(stdin).then(() => stdin.end(), (err: unknown) => kill(`was stopped: its input failed (${err instanceof Error ? err.message : String(err)})`));
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err; // 'close' still follows and settles the promise
    });
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const tail = lastLines(stderr, STDERR_TAIL_LINES);
      if (spawnError) {
        const err = new ToolError(`could not start ${bin}: ${spawnError.code ?? spawnError.message}`, tail);
        Object.assign(err, { spawnCode: spawnError.code });
        reject(err);
      } else if (killedFor) {
        reject(new ToolError(`${name} ${killedFor}`, tail));
      } else if (code !== 0) {
        reject(new ToolError(`${name} ${sig ? `was killed by ${sig}` : `exited with code ${code}`}`, tail));
      } else {
        resolve({ stdout: Buffer.concat(stdout), stderr });
      }
    });
  });
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/** A tool by path (absolute or relative, as given) or by bare name searched in PATH; null when none is executable. */
export async function findExecutable(name: string): Promise<string | null> {
  const candidates = name.includes(path.sep) ? [name] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    if (await access(candidate, fsConstants.X_OK).then(() => true, () => false)) return candidate;
  }
  return null;
}
