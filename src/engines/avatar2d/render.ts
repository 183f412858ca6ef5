// Renders a talking-avatar MP4 for a built-in 2D character on the CPU, with no model.
//
// Why it is fast: a frame is fully determined by a small state (mouth shape, eyelids, idle pose),
// and only the head changes between states. The background and body are drawn once; each distinct
// state's head region is drawn once (and cached) as a small YUV crop; every video frame is the
// static frame with one cached crop pasted in, streamed raw to ffmpeg. See renderAvatarVideo for
// the measured alternative.

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { createCanvas, loadImage, type Canvas, type Image } from '@napi-rs/canvas';
import { runTool, ToolError } from '../../process/run-tool.js';
import { opennessFromWavFile } from '../mouth/audio.js';
import { frameCount, visemesFromEnergy, visemeTrack, type Viseme } from '../mouth/visemes.js';
import type { PhonemeTiming } from '../tts/engine.js';
import { requireCharacter } from './characters.js';
import {
  applyDesignTransform, applyPose, drawCharacter, drawStaticLayers, layout, MAX_HEAD_OFFSET, NEUTRAL_STATE, type CharacterDef, type EyeState, type Pose,
} from './frame.js';

/** As long as any render may take on a small machine (a 10-minute video at 1080p), short enough to free a stuck worker. */
const RENDER_TIMEOUT_MS = 60 * 60_000;

export interface RenderInput {
  /** Scene id (e.g. '-101') or character key (e.g. 'mira'). */
  character: string;
  /** 16-bit PCM WAV file. */
  audioWav: string;
  /** Phoneme timings from the TTS engine; without them the mouth follows the audio's loudness. */
  phonemes?: PhonemeTiming[];
  /** Length of the audio, and so of the video. */
  durationMs: number;
  width?: number;
  height?: number;
  fps?: number;
  /** A PNG or JPEG of exactly width x height to draw instead of the studio backdrop (see media/output-format.ts fitBackground). */
  background?: string;
  /** Video bit rate in bits per second; absent: constant quality (CRF 20). */
  bitRate?: number;
  /** Seeds the blink timing; the same seed gives the same video. */
  seed?: number;
  /** How frames reach ffmpeg; 'pipe' measured faster (see renderAvatarVideo). */
  method?: RenderMethod;
  /** x264 preset: slower presets give smaller files at the same quality. */
  preset?: X264Preset;
  /** Called with the share of frames handed to the encoder (0..1), at most once per percent. */
  onProgress?: (done: number) => void;
  /** Aborting stops the render: the encoder is killed and the call rejects. */
  signal?: AbortSignal;
}

export type X264Preset = 'ultrafast' | 'superfast' | 'veryfast' | 'faster' | 'fast' | 'medium';
export const DEFAULT_PRESET: X264Preset = 'veryfast';

export interface RenderResult {
  video: string;
  cover: string;
  frames: number;
  durationMs: number;
}

export type RenderMethod = 'pipe' | 'concat';

export const DEFAULT_WIDTH = 720;
export const DEFAULT_HEIGHT = 1280;
export const DEFAULT_FPS = 25;

// ---------------------------------------------------------------------------------------------
// Idle life: blinks and a slow head sway

/** Blinks come every 2-6 s; a blink is half-closed, closed, half-closed (about 120 ms at 25 fps). */
const BLINK_MIN_MS = 2000;
const BLINK_MAX_MS = 6000;
const BLINK_FRAMES: EyeState[] = ['half', 'closed', 'half'];

/**
 * The idle sway is a slow side-to-side head tilt (about +-0.5 degrees, so the crown moves about
 * 3 px at 720x1280). It pivots on the mouth: the lips stay put, so silence really looks still
 * around the mouth. The tilt is quantized to a ring of poses so frames repeat and can be cached;
 * with 16 poses on an 8 s loop each is held for half a second and neighbours differ by about a
 * pixel at the crown, which reads as a slow drift rather than jumps.
 */
const POSE_COUNT = 16;
const SWAY_CYCLE_MS = 8000;
const MAX_TILT = 0.008;
export const POSES: readonly Pose[] = Array.from({ length: POSE_COUNT }, (_, i) => ({
  dx: 0,
  dy: 0,
  tilt: MAX_TILT * Math.sin((2 * Math.PI * i) / POSE_COUNT),
}));

/** mulberry32: tiny, fast and good enough for blink timing. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function blinkTrack(frames: number, fps: number, seed: number): EyeState[] {
  const random = prng(seed);
  const eyes: EyeState[] = new Array(frames).fill('open');
  const nextGap = () => Math.round(((BLINK_MIN_MS + random() * (BLINK_MAX_MS - BLINK_MIN_MS)) * fps) / 1000);
  // The first blink comes a little sooner, so even short clips look alive.
  for (let f = Math.round(nextGap() / 2); f < frames; f += nextGap()) {
    BLINK_FRAMES.forEach((state, i) => {
      if (f + i < frames) eyes[f + i] = state;
    });
  }
  return eyes;
}

export function poseTrack(frames: number, fps: number): number[] {
  const framesPerPose = (SWAY_CYCLE_MS * fps) / 1000 / POSE_COUNT;
  return Array.from({ length: frames }, (_, f) => Math.floor(f / framesPerPose) % POSE_COUNT);
}

export interface FrameState {
  viseme: Viseme;
  eyes: EyeState;
  pose: number;
}

const stateKey = (s: FrameState) => `${s.viseme}|${s.eyes}|${s.pose}`;

/** Everything that happens on screen, one state per frame. Exported for tests and benchmarks. */
export async function buildTimeline(input: RenderInput, def: CharacterDef): Promise<FrameState[]> {
  const fps = input.fps ?? DEFAULT_FPS;
  const frames = frameCount(input.durationMs, fps);
  const visemes = input.phonemes && input.phonemes.length > 0
    ? visemeTrack(input.phonemes, input.durationMs, fps)
    : visemesFromEnergy(await opennessFromWavFile(input.audioWav, fps));
  const eyes = blinkTrack(frames, fps, input.seed ?? Math.abs(def.id));
  const poses = poseTrack(frames, fps);
  return Array.from({ length: frames }, (_, f) => ({ viseme: visemes[f] ?? 'REST', eyes: eyes[f], pose: poses[f] }));
}


// ---------------------------------------------------------------------------------------------
// Frame composition

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Design-space box that holds every character's head layer (hair, ears, antenna, beard) at rest. */
const HEAD_REGION = { x: 160, y: 220, w: 400, h: 500 };

/** Caps the crop cache; a crop is re-drawn in a few ms if it was evicted. */
const CROP_CACHE_BYTES = 96 * 1024 * 1024;

/**
 * Draws and caches head crops and pastes them into the static frame. Frames are YUV 4:2:0
 * (I420, BT.709 limited range), converted once per distinct crop, so ffmpeg gets exactly what
 * x264 encodes and does no colour conversion per frame; it is also 2.7x fewer bytes than RGBA.
 */
export class FrameComposer {
  readonly frameBytes: number;
  private readonly rect: Rect;
  private readonly staticCanvas: Canvas;
  private readonly staticFrame: Buffer;
  private readonly crop: Canvas;
  private readonly cache = new Map<string, Buffer>();
  private cachedBytes = 0;

  constructor(private readonly def: CharacterDef, readonly width: number, readonly height: number, background?: Image) {
    this.frameBytes = (width * height * 3) / 2;
    this.staticCanvas = createCanvas(width, height);
    drawStaticLayers(this.staticCanvas.getContext('2d'), def, width, height, background);
    this.staticFrame = rgbaToI420(this.staticCanvas.data(), width, height);
    this.rect = headRect(width, height);
    this.crop = createCanvas(this.rect.w, this.rect.h);
  }

  /** A new buffer holding the static frame, ready for paste(). */
  blankFrame(): Buffer {
    return Buffer.from(this.staticFrame);
  }

  /**
   * Writes the head for `state` into `target`, a buffer from blankFrame(). Only the head region
   * is touched, so a buffer can be reused frame after frame without re-copying the background.
   */
  paste(state: FrameState, target: Buffer): void {
    const crop = this.headCrop(state);
    const { x, y, w, h } = this.rect;
    const lumaBytes = this.width * this.height;
    copyPlane(crop, 0, w, h, target, 0, this.width, x, y);
    copyPlane(crop, w * h, w / 2, h / 2, target, lumaBytes, this.width / 2, x / 2, y / 2);
    copyPlane(crop, (w * h * 5) / 4, w / 2, h / 2, target, (lumaBytes * 5) / 4, this.width / 2, x / 2, y / 2);
  }

  /** A complete frame in a fresh buffer. */
  frame(state: FrameState): Buffer {
    const out = this.blankFrame();
    this.paste(state, out);
    return out;
  }

  private headCrop(state: FrameState): Buffer {
    const key = stateKey(state);
    const hit = this.cache.get(key);
    if (hit) {
      // Re-insert to keep the Map in least-recently-used order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const crop = this.drawCrop(state);
    this.cache.set(key, crop);
    this.cachedBytes += crop.length;
    for (const [oldKey, old] of this.cache) {
      if (this.cachedBytes <= CROP_CACHE_BYTES) break;
      this.cache.delete(oldKey);
      this.cachedBytes -= old.length;
    }
    return crop;
  }

  private drawCrop(state: FrameState): Buffer {
    const ctx = this.crop.getContext('2d');
    const { x, y, w, h } = this.rect;
    ctx.resetTransform();
    ctx.drawImage(this.staticCanvas, x, y, w, h, 0, 0, w, h);
    ctx.save();
    applyDesignTransform(ctx, this.width, this.height);
    // Shift so the crop's top-left is the frame's (x, y): prepend a device-space translation.
    const m = ctx.getTransform();
    ctx.setTransform(m.a, m.b, m.c, m.d, m.e - x, m.f - y);
    applyPose(ctx, this.def, POSES[state.pose]);
    this.def.drawHead(ctx, { viseme: state.viseme, eyes: state.eyes, pose: POSES[state.pose] });
    ctx.restore();
    return rgbaToI420(this.crop.data(), w, h);
  }
}

/** Copies a w x h plane stored at `from` in `src` into a plane of `stride` at (x, y) in `dst`. */
function copyPlane(src: Buffer, from: number, w: number, h: number, dst: Buffer, to: number, stride: number, x: number, y: number): void {
  for (let row = 0; row < h; row++) {
    src.copy(dst, to + (y + row) * stride + x, from + row * w, from + (row + 1) * w);
  }
}

/**
 * Opaque RGBA to I420 with BT.709 limited-range coefficients (what players assume for HD video,
 * and what the encoder is told). Chroma is the average of each 2x2 block. Width and height must be even.
 */
export function rgbaToI420(rgba: Buffer, width: number, height: number): Buffer {
  const luma = width * height;
  const out = Buffer.allocUnsafe((luma * 3) / 2);
  for (let i = 0, p = 0; i < luma; i++, p += 4) {
    out[i] = (16.5 + 0.1826 * rgba[p] + 0.6142 * rgba[p + 1] + 0.062 * rgba[p + 2]) | 0;
  }
  const cw = width / 2;
  let u = luma;
  let v = luma + luma / 4;
  for (let cy = 0; cy < height / 2; cy++) {
    for (let cx = 0; cx < cw; cx++, u++, v++) {
      const p = (cy * 2 * width + cx * 2) * 4;
      const q = p + width * 4;
      const r = (rgba[p] + rgba[p + 4] + rgba[q] + rgba[q + 4]) / 4;
      const g = (rgba[p + 1] + rgba[p + 5] + rgba[q + 1] + rgba[q + 5]) / 4;
      const b = (rgba[p + 2] + rgba[p + 6] + rgba[q + 2] + rgba[q + 6]) / 4;
      out[u] = (128.5 - 0.1006 * r - 0.3386 * g + 0.4392 * b) | 0;
      out[v] = (128.5 + 0.4392 * r - 0.3989 * g - 0.0403 * b) | 0;
    }
  }
  return out;
}

/** The head region in output pixels, grown for the sway and snapped to even numbers for chroma subsampling. */
function headRect(width: number, height: number): Rect {
  const { scale, ox, oy } = layout(width, height);
  // The sway moves the head's outline by up to MAX_HEAD_OFFSET; the rest is anti-aliasing slack.
  const margin = MAX_HEAD_OFFSET + 8;
  const x0 = Math.max(0, Math.floor((ox + (HEAD_REGION.x - margin) * scale) / 2) * 2);
  const y0 = Math.max(0, Math.floor((oy + (HEAD_REGION.y - margin) * scale) / 2) * 2);
  const x1 = Math.min(width, Math.ceil((ox + (HEAD_REGION.x + HEAD_REGION.w + margin) * scale) / 2) * 2);
  const y1 = Math.min(height, Math.ceil((oy + (HEAD_REGION.y + HEAD_REGION.h + margin) * scale) / 2) * 2);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

// ---------------------------------------------------------------------------------------------
// Video

/**
 * Renders the character speaking `input.audioWav` to `outDir/video.mp4` (H.264 yuv420p + AAC,
 * faststart) plus `outDir/cover.jpg`. The video has round(durationMs * fps / 1000) frames and the
 * audio is padded or cut to durationMs, so both streams match the audio's length.
 *
 * Two ways of feeding ffmpeg were measured on 30 s of speech (2 busy shared cores, x264 veryfast):
 * 'pipe' streams every frame as raw I420 on stdin; 'concat' writes each distinct frame once (as
 * a one-frame Y4M file) plus an ffconcat list with per-frame durations, runs merged. The pipe won:
 * 3.6-4.9 s vs 5.2-5.5 s at 720x1280, 9.7 s vs 12.8 s at 1080x1920. Pasting a cached crop into
 * a reused buffer costs next to nothing, while concat pays for writing and demuxing the files
 * (and needs ~3 MB of disk per distinct frame at 1080x1920), and x264 dominates both. An earlier
 * RGBA pipe was 2x slower than either (ffmpeg converted every frame), and PNG frame files are out
 * of the question: @napi-rs/canvas takes ~0.4 s to encode one at 720x1280.
 * So 'pipe' is the default; 'concat' is kept for comparison.
 */
export async function renderAvatarVideo(ffmpegPath: string, input: RenderInput, outDir: string): Promise<RenderResult> {
  const def = requireCharacter(input.character);
  const { width, height, fps } = outputSize(input);
  if (!(input.durationMs > 0) || !Number.isFinite(input.durationMs)) throw new Error(`invalid audio duration ${input.durationMs} ms`);
  await mkdir(outDir, { recursive: true });
  const timeline = await buildTimeline(input, def);
  const background = input.background ? await loadImage(await readFile(input.background)) : undefined;
  const composer = new FrameComposer(def, width, height, background);
  const video = path.join(outDir, 'video.mp4');
  const cover = path.join(outDir, 'cover.jpg');
  const encode: EncodeJob = {
    ffmpegPath, audioWav: input.audioWav, durationMs: input.durationMs, width, height, fps, out: video,
    preset: input.preset ?? DEFAULT_PRESET,
    bitRate: input.bitRate,
    onFrame: frameReporter(input.onProgress),
    signal: input.signal,
  };

  if ((input.method ?? 'pipe') === 'pipe') {
    await encodePiped(encode, timeline, composer);
  } else {
    await encodeConcat(encode, timeline, composer, path.join(outDir, `frames-${process.pid}-${Date.now()}`));
  }
  await renderCover(def.key, cover, { width, height }, background);
  return { video, cover, frames: timeline.length, durationMs: input.durationMs };
}

function outputSize(input: RenderInput): { width: number; height: number; fps: number } {
  const width = input.width ?? DEFAULT_WIDTH;
  const height = input.height ?? DEFAULT_HEIGHT;
  const fps = input.fps ?? DEFAULT_FPS;
  // yuv420p needs even dimensions; a 8K cap keeps a typo from allocating gigabytes.
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 16 || v > 8192 || v % 2 !== 0) throw new Error(`invalid video ${name} ${v}: use an even number of pixels`);
  }
  if (!Number.isInteger(fps) || fps < 1 || fps > 60) throw new Error(`invalid frame rate ${fps}`);
  return { width, height, fps };
}

interface EncodeJob {
  ffmpegPath: string;
  audioWav: string;
  durationMs: number;
  width: number;
  height: number;
  fps: number;
  out: string;
  preset: X264Preset;
  bitRate?: number;
  onFrame: (index: number, total: number) => void;
  signal?: AbortSignal;
}

/** Output options shared by both methods: H.264 + AAC, cut to the audio's exact length. */
function outputArgs(job: EncodeJob): string[] {
  return [
    '-map', '0:v:0', '-map', '1:a:0',
    '-c:v', 'libx264', '-preset', job.preset,
    ...(job.bitRate ? ['-b:v', String(job.bitRate), '-maxrate', String(job.bitRate), '-bufsize', String(job.bitRate * 2)] : ['-crf', '20']),
    '-pix_fmt', 'yuv420p',
    '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv',
    // Pad short audio with silence and cut at the declared length, so the file is exactly as long as the speech.
    '-af', 'apad', '-c:a', 'aac', '-b:a', '128k',
    '-t', (job.durationMs / 1000).toFixed(3),
    '-movflags', '+faststart',
    job.out,
  ];
}

async function encodePiped(job: EncodeJob, timeline: FrameState[], composer: FrameComposer): Promise<void> {
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${job.width}x${job.height}`, '-r', String(job.fps), '-i', 'pipe:0',
    '-i', job.audioWav,
    ...outputArgs(job),
  ];
  await runFfmpeg(job.ffmpegPath, args, job.signal, async (stdin) => {
    // Two frame buffers: one is being written to ffmpeg while the next is composed. A buffer is
    // reused only after its write has completed, so ffmpeg never sees a half-updated frame.
    const buffers = [composer.blankFrame(), composer.blankFrame()];
    const inFlight: Array<Promise<void> | undefined> = [undefined, undefined];
    for (let f = 0; f < timeline.length; f++) {
      job.signal?.throwIfAborted();
      const slot = f % 2;
      await inFlight[slot];
      composer.paste(timeline[f], buffers[slot]);
      inFlight[slot] = writeChunk(stdin, buffers[slot]);
      job.onFrame(f + 1, timeline.length);
    }
    await Promise.all(inFlight);
  });
}

/** Turns per-frame calls into at most one onProgress call per whole percent. */
function frameReporter(onProgress: RenderInput['onProgress']): EncodeJob['onFrame'] {
  let last = -1;
  return (index, total) => {
    const percent = Math.floor((index / total) * 100);
    if (!onProgress || percent === last) return;
    last = percent;
    onProgress(percent / 100);
  };
}

function writeChunk(stream: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    stream.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
  // Failures surface where the promise is awaited; this only silences the unawaited twin.
  done.catch(() => undefined);
  return done;
}

async function encodeConcat(job: EncodeJob, timeline: FrameState[], composer: FrameComposer, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  try {
    const files = new Map<string, string>();
    const lines = ['ffconcat version 1.0'];
    const frameSec = 1 / job.fps;
    let last = '';
    for (let f = 0; f < timeline.length;) {
      // Merge runs of identical frames into one entry.
      let run = 1;
      while (f + run < timeline.length && stateKey(timeline[f + run]) === stateKey(timeline[f])) run++;
      const key = stateKey(timeline[f]);
      let file = files.get(key);
      if (!file) {
        file = path.join(dir, `s${files.size}.y4m`);
        await writeFile(file, y4m(composer.frame(timeline[f]), job.width, job.height, job.fps));
        files.set(key, file);
      }
      lines.push(`file '${file}'`, `duration ${(run * frameSec).toFixed(6)}`);
      last = file;
      f += run;
    }
    // The concat demuxer ignores the last entry's duration unless the file is listed again.
    lines.push(`file '${last}'`);
    const list = path.join(dir, 'frames.ffconcat');
    await writeFile(list, lines.join('\n') + '\n');
    await runFfmpeg(job.ffmpegPath, [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
      '-f', 'concat', '-safe', '0', '-i', list,
      '-i', job.audioWav,
      // The fps filter repeats each distinct frame for its duration.
      '-vf', `fps=${job.fps}`,
      ...outputArgs(job),
    ], job.signal);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A one-frame YUV4MPEG2 file: raw I420 behind a text header, so writing it costs no compression. */
function y4m(i420: Buffer, width: number, height: number, fps: number): Buffer {
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420mpeg2 XCOLORRANGE=LIMITED\nFRAME\n`, 'ascii');
  return Buffer.concat([header, i420]);
}

/** Runs ffmpeg, optionally feeding its stdin; a failure says why, from the tail of its stderr. */
async function runFfmpeg(ffmpegPath: string, args: string[], signal?: AbortSignal, feed?: (stdin: Writable) => Promise<void>): Promise<void> {
  try {
    await runTool(ffmpegPath, args, { signal, captureStdout: false, stdin: feed, timeoutMs: RENDER_TIMEOUT_MS });
  } catch (err) {
    if (err instanceof ToolError) throw new Error(`ffmpeg failed to render the avatar video: ${err.stderrTail.trim() || err.message}`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Cover

/** Writes the character's neutral frame: PNG if `file` ends in .png, otherwise JPEG. */
export async function renderCover(character: string, file: string, size: { width?: number; height?: number } = {}, background?: Image): Promise<void> {
  const def = requireCharacter(character);
  const width = size.width ?? DEFAULT_WIDTH;
  const height = size.height ?? DEFAULT_HEIGHT;
  const canvas = createCanvas(width, height);
  drawCharacter(canvas.getContext('2d'), def, NEUTRAL_STATE, width, height, background);
  const image = file.toLowerCase().endsWith('.png') ? await canvas.encode('png') : await canvas.encode('jpeg', 90);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, image);
}

