/**
 * Raw frames to and from ffmpeg over pipes, for pictures dhp changes itself
 * (the embedded lip-sync): a decoder that yields one frame at a time, and an
 * encoder that takes them. Pipes rather than image files: a PNG encode costs
 * more than the whole composite, and nothing touches the disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileArg } from './input.js';
import type { MediaTools } from './tools.js';

const QUIET = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error'];

/** Bytes of one frame in ffmpeg's `pix_fmt` (the two used here). */
export function frameBytes(pixFmt: 'yuv420p' | 'rgb24', width: number, height: number): number {
  return pixFmt === 'rgb24' ? width * height * 3 : (width * height * 3) / 2;
}

interface Watched {
  child: ChildProcess;
  /** Resolves on exit 0; rejects with ffmpeg's stderr otherwise. */
  exited: Promise<void>;
}

function start(tools: MediaTools, args: string[], stdin: boolean, signal: AbortSignal | undefined, what: string): Watched {
  const child = spawn(tools.ffmpeg, [...QUIET, ...args], { stdio: [stdin ? 'pipe' : 'ignore', stdin ? 'ignore' : 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => { stderr = (stderr + c).slice(-4000); });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg could not ${what}: ${stderr.trim() || (sig ? `killed by ${sig}` : `exit code ${code}`)}`));
    });
  });
  exited.catch(() => undefined);
  return { child, exited };
}

/**
 * Decodes the first video stream of `file` to raw frames of `pixFmt`,
 * optionally scaled (`scale` is an ffmpeg `w:h`). Each yielded buffer is a
 * fresh copy the caller may keep.
 */
export async function* decodeFrames(
  tools: MediaTools,
  file: string,
  opts: { pixFmt: 'yuv420p' | 'rgb24'; width: number; height: number; scale?: boolean; signal?: AbortSignal },
): AsyncGenerator<Buffer> {
  const size = frameBytes(opts.pixFmt, opts.width, opts.height);
  const filter = opts.scale ? ['-vf', `scale=${opts.width}:${opts.height}:flags=bilinear`] : [];
  const p = start(tools, ['-i', fileArg(file), '-map', '0:v:0', ...filter, '-f', 'rawvideo', '-pix_fmt', opts.pixFmt, 'pipe:1'], false, opts.signal, 'decode the video');
  let pending: Buffer[] = [];
  let have = 0;
  try {
    for await (const chunk of p.child.stdout! as AsyncIterable<Buffer>) {
      pending.push(chunk);
      have += chunk.length;
      while (have >= size) {
        const all = pending.length === 1 ? pending[0] : Buffer.concat(pending);
        yield Buffer.from(all.subarray(0, size));
        const rest = all.subarray(size);
        pending = rest.length ? [rest] : [];
        have = rest.length;
      }
    }
    await p.exited;
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
}

/** An ffmpeg encoder fed raw frames on stdin; `close()` ends the input and waits for the file. */
export class FrameEncoder {
  private readonly p: Watched;
  private failed: unknown = null;

  constructor(tools: MediaTools, input: { pixFmt: 'yuv420p'; width: number; height: number; fps: number }, outputArgs: string[], signal?: AbortSignal) {
    this.p = start(tools, [
      '-f', 'rawvideo', '-pix_fmt', input.pixFmt, '-s', `${input.width}x${input.height}`, '-r', String(input.fps), '-i', 'pipe:0',
      ...outputArgs,
    ], true, signal, 'encode the video');
    this.p.child.stdin!.on('error', (err) => { this.failed ??= err; });
    this.p.exited.catch((err) => { this.failed ??= err; });
  }

  /** Resolves once ffmpeg has taken the frame, so the caller may reuse the buffer. */
  write(frame: Buffer): Promise<void> {
    if (this.failed) return this.p.exited.then(() => { throw this.failed; });
    return new Promise((resolve, reject) => {
      this.p.child.stdin!.write(frame, (err) => (err ? this.p.exited.then(() => reject(err), reject) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.p.child.stdin!.end();
    await this.p.exited;
  }

  kill(): void {
    if (this.p.child.exitCode === null) this.p.child.kill('SIGKILL');
  }
}
