/**
 * Running ffmpeg: quietly, with a deadline, on files named so ffmpeg reads them as plain files,
 * and on tenants' files only through the accepted demuxers (tenantInput). Still frames and
 * speech audio for the checks that need them.
 */
import { runTool } from '../process/run-tool.js';
import { fileArg, tenantInput } from './input.js';
import { MediaProbeError, probe } from './probe.js';
import type { MediaTools } from './tools.js';


/** Default for runFfmpeg: long enough for a long training video on a small machine, short enough to free a stuck worker. */
const DEFAULT_FFMPEG_TIMEOUT_MS = 30 * 60_000;

/**
 * Run ffmpeg quietly (errors only on stderr, no stdin, overwrite outputs).
 * Throws ToolError on a non-zero exit, timeout or abort.
 */
export async function runFfmpeg(
  tools: MediaTools,
  args: string[],
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  await runTool(tools.ffmpeg, ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error', ...args], {
    timeoutMs: opts.timeoutMs ?? DEFAULT_FFMPEG_TIMEOUT_MS,
    signal: opts.signal,
    captureStdout: false,
  });
}

/** Run ffmpeg and return what it wrote to stdout (`pipe:1`), e.g. a JPEG. */
async function ffmpegToBuffer(tools: MediaTools, args: string[], timeoutMs: number): Promise<Buffer> {
  const { stdout } = await runTool(tools.ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], {
    timeoutMs,
    captureStdout: true,
  });
  return stdout;
}

const FRAME_TIMEOUT_MS = 60_000;

/**
 * `count` JPEG frames spread evenly over the video (at the middle of `count`
 * equal slices, so none falls on the very last timestamp where a seek can
 * find nothing). Frames come out upright: ffmpeg applies the rotation.
 */
export async function extractFrames(
  tools: MediaTools,
  file: string,
  opts: { count: number; width?: number },
): Promise<Buffer[]> {
  const info = await probe(tools, file);
  if (!info.video) throw new MediaProbeError('the file has no video stream');
  const seconds = info.durationMs / 1000;
  const frames: Buffer[] = [];
  for (let i = 0; i < opts.count; i++) {
    const at = (seconds * (i + 0.5)) / opts.count;
    let jpeg = await grabFrame(tools, file, at, opts.width);
    // Streams with odd timestamps can leave a seek empty-handed; the first
    // frame is a better sample than none.
    if (jpeg.length === 0) jpeg = await grabFrame(tools, file, 0, opts.width);
    if (jpeg.length === 0) throw new MediaProbeError('no picture could be decoded from the video');
    frames.push(jpeg);
  }
  return frames;
}

function grabFrame(tools: MediaTools, file: string, atSeconds: number, width: number | undefined): Promise<Buffer> {
  return ffmpegToBuffer(tools, [
    // -ss before -i seeks by index then decodes up to the exact time: fast and accurate.
    ...(atSeconds > 0 ? ['-ss', atSeconds.toFixed(3)] : []),
    ...tenantInput(file),
    '-map', '0:v:0', '-frames:v', '1',
    ...(width ? ['-vf', `scale=${width}:-2`] : []),
    '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '3',
    'pipe:1',
  ], FRAME_TIMEOUT_MS);
}

/** 16 kHz mono 16-bit WAV of the first audio track: what speech recognizers and analysers expect. */
export async function toWav16kMono(tools: MediaTools, input: string, output: string, maxSeconds?: number): Promise<void> {
  const info = await probe(tools, input);
  if (!info.audio) throw new MediaProbeError('the file has no sound track');
  await runFfmpeg(tools, [
    // A consent recording is a tenant's file: only the accepted containers, read from disk.
    ...tenantInput(input),
    '-map', '0:a:0', '-vn', '-sn', '-dn', '-map_metadata', '-1',
    // The probed duration can lie (or be missing): -t stops decoding at the cap regardless.
    ...(maxSeconds !== undefined ? ['-t', String(maxSeconds)] : []),
    '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le',
    '-f', 'wav', fileArg(output),
  ]);
}
