/**
 * Turns a training video into a scene's assets: a forward clip, the same clip
 * played backwards, and a cover picture.
 *
 * Video synthesis later builds a background of any length by alternating
 * forward and reverse (ping-pong, so there is no jump at the joins) with the
 * concat demuxer and `-c copy`. Stream copy only yields a valid H.264 stream
 * when every segment has the same SPS/PPS and starts with an IDR frame, so
 * both clips go through one encoder configuration (`encoderArgs`) with short
 * closed GOPs, and the same frame rate, time base, size and pixel format.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg } from './ffmpeg.js';
import { fileArg, tenantInput } from './input.js';
import { ffprobeJson, MediaProbeError, probe } from './probe.js';
import type { MediaTools } from './tools.js';

export interface SceneAssets {
  /** Paths inside outDir: forward.mp4, reverse.mp4, cover.jpg. */
  forward: string;
  reverse: string;
  cover: string;
  width: number;
  height: number;
  /** `${width}x${height}` */
  resolution: string;
  fps: number;
  durationMs: number;
  /** Frames in forward.mp4, and in reverse.mp4. */
  frames: number;
}

export interface SceneAssetOptions {
  /** Smaller files at some cost in quality (the API's `compress` flag). */
  compress: boolean;
  /** Output frame rate, a whole number; default 25. */
  fps?: number;
  /** Taller videos are scaled down to this height, keeping the aspect ratio; default 1920. */
  maxHeight?: number;
  /** Length of the pieces the reverse clip is built from; default REVERSE_CHUNK_SECONDS, less for large frames. */
  reverseChunkSeconds?: number;
  signal?: AbortSignal;
}

/** Reverse works on pieces this long at most (see reverseChunkFrames). */
export const REVERSE_CHUNK_SECONDS = 5;
/**
 * Raw picture memory one reverse piece may hold. ffmpeg's `reverse` filter
 * keeps every frame of its input decoded in memory: 5 s of 1080x1920 would be
 * ~390 MB, so large frames get shorter pieces.
 */
export const REVERSE_BUFFER_BYTES = 192 * 1024 * 1024;

const DEFAULT_FPS = 25;
const DEFAULT_MAX_HEIGHT = 1920;
const CRF = { normal: 20, compressed: 28 };

interface Geometry {
  width: number;
  height: number;
  fps: number;
}

/** Build forward.mp4, reverse.mp4 and cover.jpg in outDir from the video `input`. */
export async function buildSceneAssets(
  tools: MediaTools,
  input: string,
  outDir: string,
  opts: SceneAssetOptions,
): Promise<SceneAssets> {
  const fps = opts.fps ?? DEFAULT_FPS;
  if (!Number.isInteger(fps) || fps < 1 || fps > 60) throw new RangeError(`fps must be a whole number from 1 to 60, got ${fps}`);
  const info = await probe(tools, input);
  if (!info.video) throw new MediaProbeError('the file has no video stream');
  // probe() reports display dimensions, and ffmpeg rotates frames upright
  // before our filters run, so the scene keeps the orientation people saw.
  const geometry = { ...outputSize(info.video.width, info.video.height, opts.maxHeight ?? DEFAULT_MAX_HEIGHT), fps };
  const encoder = encoderArgs(geometry, opts.compress ? CRF.compressed : CRF.normal);

  await mkdir(outDir, { recursive: true });
  const forward = path.join(outDir, 'forward.mp4');
  const reverse = path.join(outDir, 'reverse.mp4');
  const cover = path.join(outDir, 'cover.jpg');
  try {
    await encodeForward(tools, input, forward, geometry, encoder, opts.signal);
    const frames = await countFrames(tools, forward);
    if (frames === 0) throw new MediaProbeError('no picture could be decoded from the video');
    const chunk = reverseChunkFrames(geometry, opts.reverseChunkSeconds);
    await encodeReverse(tools, forward, reverse, { frames, chunk, geometry, encoder, signal: opts.signal });
    const reversed = await countFrames(tools, reverse);
    if (reversed !== frames) {
      // Ping-pong joins depend on this; fail loudly rather than ship a scene that stutters.
      throw new Error(`reverse.mp4 has ${reversed} frames but forward.mp4 has ${frames}`);
    }
    await writeCover(tools, forward, cover, opts.signal);
    return {
      forward, reverse, cover,
      width: geometry.width,
      height: geometry.height,
      resolution: `${geometry.width}x${geometry.height}`,
      fps,
      durationMs: Math.round((frames * 1000) / fps),
      frames,
    };
  } catch (err) {
    await Promise.all([forward, reverse, cover].map((f) => rm(f, { force: true })));
    throw err;
  }
}

/** Even dimensions (H.264 with 4:2:0 needs them), never scaled up. */
function outputSize(width: number, height: number, maxHeight: number): { width: number; height: number } {
  const scale = height > maxHeight ? maxHeight / height : 1;
  const even = (n: number) => Math.max(2, 2 * Math.floor(n / 2));
  return { width: even(width * scale), height: even(height * scale) };
}

/**
 * The one encoder configuration for every scene segment. Anything that
 * reaches the SPS/PPS (profile, level, CRF, frame rate, time base, colour
 * description) must match between segments, and each segment must open with
 * an IDR frame and contain only closed GOPs; no B-frames keeps timestamps
 * trivially monotonic across joins.
 */
function encoderArgs(g: Geometry, crf: number): string[] {
  return [
    '-map_metadata', '-1', '-map_chapters', '-1', '-an', '-sn', '-dn',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(crf),
    '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    '-g', String(g.fps), '-keyint_min', String(g.fps), '-sc_threshold', '0', '-bf', '0', '-flags', '+cgop',
    '-r', String(g.fps),
    '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv',
    // A multiple of the frame rate, so every frame lasts a whole number of ticks.
    '-video_track_timescale', String(g.fps * 512),
    '-movflags', '+faststart',
  ];
}

/**
 * Frames at exactly 1/fps apart, numbered from 0 in a 1/fps time base: the
 * encoder sees the same timing whichever clip it encodes.
 */
function cfrTail(fps: number): string {
  return `settb=1/${fps},setpts=N,format=yuv420p`;
}

async function encodeForward(
  tools: MediaTools,
  input: string,
  output: string,
  g: Geometry,
  encoder: string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const filters = [
    // fps first: dropping frames before scaling saves work; it also makes a
    // variable-frame-rate phone video constant.
    `fps=${g.fps}`,
    `scale=${g.width}:${g.height}:flags=bicubic:out_color_matrix=bt709:out_range=tv`,
    'setsar=1',
    cfrTail(g.fps),
  ];
  await runFfmpeg(tools, [...tenantInput(input), '-map', '0:v:0', '-vf', filters.join(','), ...encoder, fileArg(output)], { signal });
}

/** Frames per reverse piece: REVERSE_CHUNK_SECONDS (or the caller's), fewer when frames are large. */
function reverseChunkFrames(g: Geometry, seconds = REVERSE_CHUNK_SECONDS): number {
  const frameBytes = g.width * g.height * 1.5; // yuv420p
  const byMemory = Math.floor(REVERSE_BUFFER_BYTES / frameBytes);
  return Math.max(1, Math.min(Math.round(seconds * g.fps), byMemory));
}

interface ReversePlan {
  frames: number;
  chunk: number;
  geometry: Geometry;
  encoder: string[];
  signal: AbortSignal | undefined;
}

/**
 * reverse.mp4 is forward.mp4 played backwards, frame for frame. It is made
 * from forward.mp4 rather than the source so the frames match exactly (same
 * count, same rate conversion) at the price of one more x264 generation.
 * Long clips are reversed in pieces that are concatenated last-first, which
 * bounds memory; the pieces share the encoder configuration, so stream copy
 * joins them.
 */
async function encodeReverse(tools: MediaTools, forward: string, output: string, plan: ReversePlan): Promise<void> {
  if (plan.frames <= plan.chunk) {
    await reversePiece(tools, forward, output, 0, plan.frames, plan);
    return;
  }
  const workDir = await mkdtemp(path.join(path.dirname(output), '.reverse-'));
  try {
    const pieces: string[] = [];
    for (let start = 0; start < plan.frames; start += plan.chunk) {
      const piece = path.join(workDir, `piece-${pieces.length}.mp4`);
      await reversePiece(tools, forward, piece, start, Math.min(plan.chunk, plan.frames - start), plan);
      pieces.push(piece);
    }
    await concatSegments(tools, pieces.reverse(), output, { signal: plan.signal });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Encode frames [start, start + count) of the CFR clip `forward`, backwards. */
async function reversePiece(
  tools: MediaTools,
  forward: string,
  output: string,
  start: number,
  count: number,
  plan: ReversePlan,
): Promise<void> {
  const { fps } = plan.geometry;
  // Frames sit exactly at k/fps; seeking half a frame early keeps rounding
  // from ever dropping frame `start` or letting in frame `start - 1`.
  const seek = start > 0 ? ['-ss', ((start - 0.5) / fps).toFixed(6)] : [];
  const window = ['-t', (count / fps).toFixed(6)];
  // trim closes the input after `count` frames, so reverse (which waits for
  // the end of its input) starts output without reading the rest of the file.
  const filters = [`trim=end_frame=${count}`, 'reverse', cfrTail(fps)];
  await runFfmpeg(tools, [...seek, ...window, '-i', fileArg(forward), '-map', '0:v:0', '-vf', filters.join(','), ...plan.encoder, fileArg(output)], {
    signal: plan.signal,
  });
}

/** The first frame of a video as a JPEG at its size (a scene's cover, a composed video's cover). */
export async function writeCover(tools: MediaTools, forward: string, output: string, signal: AbortSignal | undefined): Promise<void> {
  await runFfmpeg(tools, [
    '-i', fileArg(forward), '-map', '0:v:0', '-frames:v', '1',
    '-map_metadata', '-1', '-c:v', 'mjpeg', '-q:v', '2', '-f', 'image2', '-update', '1',
    fileArg(output),
  ], { signal });
}

/** Frames in the first video stream, counted from the container's packets (no decoding). */
export async function countFrames(tools: MediaTools, file: string): Promise<number> {
  const out = (await ffprobeJson(tools, [
    '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-i', fileArg(file),
  ])) as { streams?: Array<{ nb_read_packets?: string }> };
  return Number(out.streams?.[0]?.nb_read_packets ?? 0);
}

/**
 * Join segments encoded with identical settings into one file by stream copy
 * (concat demuxer, `-c copy`): no re-encoding, so it is fast and lossless.
 */
export async function concatSegments(
  tools: MediaTools,
  segments: string[],
  output: string,
  opts: { signal?: AbortSignal } = {},
): Promise<void> {
  if (segments.length === 0) throw new RangeError('concatSegments needs at least one segment');
  const list = `${output}.concat.txt`;
  await writeFile(list, segments.map((s) => `file ${concatQuote(fileArg(s))}\n`).join(''), 'utf8');
  try {
    await runFfmpeg(tools, [
      '-f', 'concat', '-safe', '0', '-i', fileArg(list),
      '-map', '0', '-c', 'copy', '-movflags', '+faststart',
      fileArg(output),
    ], { signal: opts.signal });
  } finally {
    await rm(list, { force: true });
  }
}

/**
 * Quote a path for a concat list: inside single quotes nothing is special,
 * and a single quote itself is written as '\'' (close, escaped quote, reopen).
 */
export function concatQuote(value: string): string {
  if (/[\n\r]/.test(value)) throw new RangeError('a concat segment path cannot contain a line break');
  return `'${value.replace(/'/g, "'\\''")}'`;
}
