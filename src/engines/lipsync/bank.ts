// Training-time analysis for the embedded lip-sync: the face mesh of every frame of a scene's clip,
// and a "mouth bank": the lower face of every usable frame, warped to one canonical pose, encoded
// as a small video (bank.mp4) with a JSON index. Synthesis later picks mouths from it.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeFrames, FrameEncoder } from '../../media/raw-video.js';
import type { MediaTools } from '../../media/tools.js';
import type { FaceDetector, FaceMesh } from '../face/detector.js';
import { warpToCanonical } from './composite.js';
import { apply, eyeDistance, fitSimilarity, KEPT, LOWER_FACE, mouthShape, pt, STABLE, type Affine, type MouthShape, type Pt } from './landmarks.js';

/** Bumped whenever the index or the bank's pixels change meaning; older banks are analysed again. */
export const BANK_FORMAT_VERSION = 1;

/** Mesh input: frames are scaled so their long side is at most this (the mesh itself works on 192 px crops). */
const DETECT_LONG_SIDE = 640;
/** A fresh detection (which also counts faces) every this many analysed frames; in between Human tracks the box. */
const REDETECT_EVERY = 8;
/**
 * The mesh runs on every STRIDE-th frame; frames in between get landmarks interpolated from their
 * neighbours (only for placing a patch, never as bank mouths). At 25 fps the face moves little in
 * 40 ms, and the mesh is nearly all of the analysis time.
 */
const STRIDE = 2;
/** Frames turned further than this (radians, about 25 degrees) are left out of the bank. */
const MAX_YAW = 0.45;
const MAX_PITCH = 0.45;
const MIN_SCORE = 0.5;
/** A second face in more than this share of the freshly detected frames refuses the training video. */
export const SECOND_FACE_SHARE = 0.2;
/** The canonical pose's eye distance is the clip's, capped: larger mouths cost memory and time, not quality seen in motion. */
const MAX_CANONICAL_EYE = 120;

/** Mouth openings (in eye distances) counted for coverage: six bins over this range. */
export const OPEN_RANGE = 0.3;
const OPEN_BINS = 6;
/** Fewer seconds of usable face than this, or a narrower range of openings, makes a thin bank. */
export const THIN_SECONDS = 2;
export const THIN_OPEN_SPREAD = 0.06;

export interface FrameInfo {
  /** Mesh points KEPT (x, y pairs in KEPT order) in the scene's pixels; null when no face was found. */
  points: number[] | null;
  shape: MouthShape | null;
  yaw: number;
  pitch: number;
  roll: number;
  /** Slot in bank.mp4, or null when the frame is not in the bank (no face, turned, or thin bank). */
  slot: number | null;
  /** Frame pixels to canonical pixels, for frames in the bank. */
  toCanonical: Affine | null;
}

export interface BankIndex {
  formatVersion: number;
  width: number;
  height: number;
  fps: number;
  frames: FrameInfo[];
  /** The canonical crop's size in pixels (bank.mp4's frame size). */
  crop: { width: number; height: number };
  /** Frames in bank.mp4, in slot order. */
  slots: number;
  /** The scene frame of every slot. */
  slotFrames: number[];
  /** Most open frame's slot, for the parametric fallback's inner mouth. */
  mostOpenSlot: number | null;
  coverage: Coverage;
}

export interface Coverage {
  frames: number;
  usableFrames: number;
  /** Share (0..1) of the range of mouth openings that the usable frames cover. */
  coverage: number;
  /** True when there are too few usable frames or mouth shapes to select from; synthesis falls back to a parametric warp. */
  thin: boolean;
}

/** The training video cannot make a lip-sync avatar; the message is a sentence for the person who uploaded it. */
export class BankRefused extends Error {
  override name = 'BankRefused';
}

export interface AnalyseJob {
  tools: MediaTools;
  detector: FaceDetector;
  /** The scene's forward.mp4 (constant frame rate, every frame counted in `frames`). */
  clip: string;
  width: number;
  height: number;
  fps: number;
  frames: number;
  outDir: string;
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
}

/** Writes outDir/bank.mp4 and outDir/bank.json; returns their paths and the index. */
export async function analyseClip(job: AnalyseJob): Promise<{ index: BankIndex; video: string | null; indexFile: string }> {
  const scale = Math.min(1, DETECT_LONG_SIDE / Math.max(job.width, job.height));
  const dw = Math.max(2, 2 * Math.round((job.width * scale) / 2));
  const dh = Math.max(2, 2 * Math.round((job.height * scale) / 2));
  const sx = job.width / dw;
  const sy = job.height / dh;

  const frames: (FrameInfo | null)[] = [];
  let fresh = 0;
  let crowded = 0;
  let analysed = 0;
  let i = 0;
  for await (const rgb of decodeFrames(job.tools, job.clip, { pixFmt: 'rgb24', width: dw, height: dh, scale: true, signal: job.signal })) {
    if (i++ % STRIDE !== 0) { frames.push(null); continue; }
    const isFresh = analysed++ % REDETECT_EVERY === 0;
    const faces = (await job.detector.mesh({ rgb, width: dw, height: dh }, isFresh ? 0 : REDETECT_EVERY)).filter((f) => f.score >= MIN_SCORE);
    if (isFresh) {
      fresh++;
      if (faces.length > 1) crowded++;
    }
    frames.push(frameInfo(mainFace(faces), sx, sy));
    job.onProgress?.(0.8 * Math.min(1, i / job.frames));
  }
  if (fresh > 0 && crowded / fresh > SECOND_FACE_SHARE) {
    throw new BankRefused(`A second face appears in ${Math.round((100 * crowded) / fresh)}% of the training video; it must show one person only, the one whose consent is given. Record or crop it so nobody else is in view.`);
  }
  // The decoder may give a frame more or less than the container counts; the index covers the clip's frames.
  while (frames.length < job.frames) frames.push(null);
  frames.length = job.frames;
  const filled = fillBetween(frames);

  const frontal = (f: FrameInfo) => !!f.points && Math.abs(f.yaw) <= MAX_YAW && Math.abs(f.pitch) <= MAX_PITCH;
  const usable = filled.filter((f, n) => n % STRIDE === 0 && frontal(f));
  const coverage = coverageOf(filled.length, filled.filter(frontal).length, usable.map((f) => f.shape!), job.fps);
  const indexFile = path.join(job.outDir, 'bank.json');
  const base = { formatVersion: BANK_FORMAT_VERSION, width: job.width, height: job.height, fps: job.fps, frames: filled, coverage };
  if (usable.length === 0) {
    const index: BankIndex = { ...base, crop: { width: 0, height: 0 }, slots: 0, slotFrames: [], mostOpenSlot: null };
    await writeFile(indexFile, JSON.stringify(index));
    return { index, video: null, indexFile };
  }

  const canon = canonicalFrame(usable);
  for (const f of usable) f.toCanonical = fitSimilarity(STABLE.map((k) => keptPt(f.points!, k)), canon.stable);
  const slotFrames: number[] = [];
  filled.forEach((f, n) => { if (f.toCanonical) { f.slot = slotFrames.length; slotFrames.push(n); } });
  let mostOpenSlot: number | null = null;
  for (const n of slotFrames) if (mostOpenSlot === null || filled[n].shape!.open > filled[slotFrames[mostOpenSlot]].shape!.open) mostOpenSlot = filled[n].slot;

  const video = path.join(job.outDir, 'bank.mp4');
  await writeBankVideo(job, filled, canon.crop, video);
  const index: BankIndex = { ...base, crop: canon.crop, slots: slotFrames.length, slotFrames, mostOpenSlot };
  await writeFile(indexFile, JSON.stringify(index));
  job.onProgress?.(1);
  return { index, video, indexFile };
}

/** Frames not analysed take the average of their analysed neighbours, when both show a face. */
function fillBetween(frames: (FrameInfo | null)[]): FrameInfo[] {
  return frames.map((f, n) => {
    if (f) return f;
    const before = frames[n - 1], after = frames[n + 1];
    if (!before?.points || !after?.points) return emptyFrame();
    const points = before.points.map((v, k) => round1((v + after.points![k]) / 2));
    return {
      points, shape: mouthShape(fullFromKept(points)), yaw: (before.yaw + after.yaw) / 2, pitch: (before.pitch + after.pitch) / 2,
      roll: (before.roll + after.roll) / 2, slot: null, toCanonical: null,
    };
  });
}

function emptyFrame(): FrameInfo {
  return { points: null, shape: null, yaw: 0, pitch: 0, roll: 0, slot: null, toCanonical: null };
}

/** The face to follow: the largest (a clip that passed the one-person check has one that matters). */
function mainFace(faces: FaceMesh[]): FaceMesh | null {
  const area = (f: FaceMesh) => f.box.width * f.box.height;
  return faces.reduce<FaceMesh | null>((best, f) => (!best || area(f) > area(best) ? f : best), null);
}

function frameInfo(face: FaceMesh | null, sx: number, sy: number): FrameInfo {
  if (!face) return emptyFrame();
  const points: number[] = [];
  for (const k of KEPT) points.push(round1(face.points[2 * k] * sx), round1(face.points[2 * k + 1] * sy));
  return { points, shape: mouthShape(fullFromKept(points)), yaw: face.yaw, pitch: face.pitch, roll: face.roll, slot: null, toCanonical: null };
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const KEPT_AT = new Map<number, number>(KEPT.map((k, i) => [k, i]));

/** Point `k` of the mesh from a KEPT-ordered list. */
export function keptPt(points: ArrayLike<number>, k: number): Pt {
  const i = KEPT_AT.get(k);
  if (i === undefined) throw new RangeError(`mesh point ${k} is not kept`);
  return [points[2 * i], points[2 * i + 1]];
}

/** A sparse 468-point array holding only the KEPT points, for functions written against the full mesh. */
export function fullFromKept(points: ArrayLike<number>): Float32Array {
  const full = new Float32Array(468 * 2);
  KEPT.forEach((k, i) => { full[2 * k] = points[2 * i]; full[2 * k + 1] = points[2 * i + 1]; });
  return full;
}

/** `usableFrames` of `frames` show a frontal face; `shapes` are the mouths measured on them (every STRIDE-th). */
export function coverageOf(frames: number, usableFrames: number, shapes: MouthShape[], fps: number): Coverage {
  const bins = new Array(OPEN_BINS).fill(0);
  for (const s of shapes) bins[Math.min(OPEN_BINS - 1, Math.floor((s.open / OPEN_RANGE) * OPEN_BINS))]++;
  const covered = bins.filter((n) => n >= 3).length / OPEN_BINS;
  const opens = shapes.map((s) => s.open).sort((a, b) => a - b);
  const q = (p: number) => opens[Math.min(opens.length - 1, Math.floor(p * opens.length))] ?? 0;
  const thin = usableFrames < (THIN_SECONDS * fps) || q(0.95) - q(0.05) < THIN_OPEN_SPREAD;
  return { frames, usableFrames, coverage: Math.round(covered * 100) / 100, thin };
}

/**
 * The canonical pose: the stable points averaged over usable frames (each aligned to the first by
 * a similarity), scaled to the canonical eye distance; and the crop that holds every frame's lower
 * face in that pose, with room under the chin for the jaw.
 */
function canonicalFrame(usable: FrameInfo[]): { stable: Pt[]; crop: { width: number; height: number } } {
  const ref = STABLE.map((k) => keptPt(usable[0].points!, k));
  const sum = ref.map(() => [0, 0] as Pt);
  const eyes: number[] = [];
  for (const f of usable) {
    const m = fitSimilarity(STABLE.map((k) => keptPt(f.points!, k)), ref);
    STABLE.forEach((k, j) => { const p = apply(m, keptPt(f.points!, k)); sum[j][0] += p[0]; sum[j][1] += p[1]; });
    eyes.push(eyeDistance(fullFromKept(f.points!)));
  }
  const mean = sum.map(([x, y]) => [x / usable.length, y / usable.length] as Pt);
  eyes.sort((a, b) => a - b);
  const eye = Math.min(MAX_CANONICAL_EYE, eyes[eyes.length >> 1]);
  const meanEye = Math.hypot(mean[0][0] - mean[3][0], mean[0][1] - mean[3][1]);
  const s = eye / Math.max(1e-6, meanEye);
  const scaled = mean.map(([x, y]) => [x * s, y * s] as Pt);
  // Where the lower faces land in that pose.
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const f of usable) {
    const m = fitSimilarity(STABLE.map((k) => keptPt(f.points!, k)), scaled);
    for (const k of LOWER_FACE) {
      const [x, y] = apply(m, keptPt(f.points!, k));
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
  }
  const margin = 0.25 * eye;
  x0 -= margin; x1 += margin; y0 -= 0.15 * eye; y1 += 0.5 * eye;
  const shifted = scaled.map(([x, y]) => [x - x0, y - y0] as Pt);
  const even = (v: number) => Math.max(16, 2 * Math.ceil(v / 2));
  return { stable: shifted, crop: { width: even(x1 - x0), height: even(y1 - y0) } };
}

/** Second pass at full size: every bank frame's lower face, warped to the canonical pose, into bank.mp4. */
async function writeBankVideo(job: AnalyseJob, frames: FrameInfo[], crop: { width: number; height: number }, output: string): Promise<void> {
  const encoder = new FrameEncoder(job.tools, { pixFmt: 'yuv420p', width: crop.width, height: crop.height, fps: job.fps }, [
    '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '14', '-pix_fmt', 'yuv420p', '-g', '50', '-bf', '0', '-f', 'mp4', output,
  ], job.signal);
  const out = Buffer.alloc((crop.width * crop.height * 3) / 2);
  let n = 0;
  try {
    for await (const yuv of decodeFrames(job.tools, job.clip, { pixFmt: 'yuv420p', width: job.width, height: job.height, signal: job.signal })) {
      const f = frames[n++];
      if (!f?.toCanonical) continue;
      warpToCanonical(yuv, job.width, job.height, f.toCanonical, out, crop.width, crop.height);
      await encoder.write(out);
    }
    await encoder.close();
  } catch (err) {
    encoder.kill();
    throw err;
  }
}

/** Reads bank.mp4 back, keeping only the slots in `wanted` (memory holds what a video uses, not the whole bank). */
export async function loadSlots(tools: MediaTools, video: string, index: BankIndex, wanted: Set<number>, signal?: AbortSignal): Promise<Map<number, Buffer>> {
  const slots = new Map<number, Buffer>();
  let slot = 0;
  for await (const yuv of decodeFrames(tools, video, { pixFmt: 'yuv420p', width: index.crop.width, height: index.crop.height, signal })) {
    if (wanted.has(slot)) slots.set(slot, yuv);
    slot++;
  }
  return slots;
}

export { pt };
