// The embedded lip-sync: a trained scene's base timeline (its clip looped, as compose.ts plays it)
// with every frame's mouth and jaw replaced by one chosen from the person's own mouth bank, so
// the lips follow new speech. CPU only, no model weights. See bank.ts (training), select.ts
// (which mouth), composite.ts (pixels).

import { AUDIO_ARGS, planTimeline, type LoopDirection } from '../../media/compose.js';
import { fileArg } from '../../media/input.js';
import { decodeFrames, FrameEncoder } from '../../media/raw-video.js';
import type { MediaTools } from '../../media/tools.js';
import type { MouthTarget } from '../mouth/target.js';
import { keptPt, loadSlots, type BankIndex, type FrameInfo, fullFromKept } from './bank.js';
import { blendPatch, featherMask, type Mask } from './composite.js';
import { openMouth } from './fallback.js';
import { apply, eyeDistance, fitSimilarity, JAW_POINTS, LOWER_FACE, STABLE, type Affine, type Pt } from './landmarks.js';
import { selectUnits, type BankUnit, type Pose } from './select.js';

/** Frames turned further than this are shown as they are (a patch would not fit them). */
const MAX_BASE_TURN = 0.5;
/** The mask's soft edge under the nose, in eye distances. */
const FEATHER = 0.14;
/** The mask's soft edge along the face's outline (cheek, jaw, chin), in eye distances: narrow and inside the outline, so the patch reaches the outline and the outline and all beyond it stay the base frame's. */
const JAW_FEATHER = 0.05;

export interface EmbeddedJob {
  tools: MediaTools;
  index: BankIndex;
  /** The bank's video, or null when the bank has no usable frame. */
  bankVideo: string | null;
  /** The looped base timeline (compose.ts's video.mp4): `frames` frames of the scene. */
  base: string;
  frames: number;
  pn: LoopDirection;
  targets: MouthTarget[];
  audioWav: string;
  output: string;
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
}

export interface EmbeddedResult {
  /** 'bank': mouths from the bank; 'parametric': the base frame's own mouth opened by a warp (thin bank). */
  mode: 'bank' | 'parametric';
  /** Output frames that got a new mouth (the rest had no usable face and pass through). */
  changedFrames: number;
  /** Milliseconds spent choosing mouths (search and reading the bank) and compositing, for the benchmark. */
  selectMs: number;
  compositeMs: number;
}

/** The scene frame shown at each output frame, as compose.ts's timeline plays the clip. */
export function sceneFrames(clipFrames: number, total: number, pn: LoopDirection): number[] {
  const out: number[] = [];
  for (const piece of planTimeline(clipFrames, total, pn)) {
    for (let k = 0; k < piece.frames; k++) out.push(piece.source === 'forward' ? k : clipFrames - 1 - k);
  }
  return out;
}

const usableBase = (f: FrameInfo | undefined): f is FrameInfo & { points: number[] } =>
  !!f?.points && Math.abs(f.yaw) <= MAX_BASE_TURN && Math.abs(f.pitch) <= MAX_BASE_TURN;

export async function renderEmbedded(job: EmbeddedJob): Promise<EmbeddedResult> {
  const { index } = job;
  const order = sceneFrames(index.frames.length, job.frames, job.pn);
  const targets = order.map((_, t) => job.targets[Math.min(t, job.targets.length - 1)] ?? { open: 0, spread: 0 });
  const mode: EmbeddedResult['mode'] = index.coverage.thin || !job.bankVideo || index.slots === 0 ? 'parametric' : 'bank';

  const started = performance.now();
  let path: number[] = [];
  let slots = new Map<number, Buffer>();
  const units: BankUnit[] = index.slotFrames.map((frame) => {
    const f = index.frames[frame];
    return { frame, shape: f.shape!, yaw: f.yaw, pitch: f.pitch };
  });
  if (mode === 'bank') {
    const poses: (Pose | null)[] = order.map((n) => (usableBase(index.frames[n]) ? { yaw: index.frames[n].yaw, pitch: index.frames[n].pitch } : null));
    path = selectUnits(units, targets, poses);
    const wanted = new Set(path.filter((_, t) => poses[t]));
    slots = await loadSlots(job.tools, job.bankVideo!, index, wanted, job.signal);
  }
  const fallbackMouth = mode === 'parametric' && index.mostOpenSlot !== null && job.bankVideo
    ? (await loadSlots(job.tools, job.bankVideo, index, new Set([index.mostOpenSlot]), job.signal)).get(index.mostOpenSlot) ?? null
    : null;

  const selectMs = performance.now() - started;
  let compositeMs = 0;
  const { width, height, fps } = index;
  const encoder = new FrameEncoder(job.tools, { pixFmt: 'yuv420p', width, height, fps }, [
    '-i', fileArg(job.audioWav),
    '-map', '0:v:0', '-map', '1:a:0', '-map_metadata', '-1',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p',
    '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv',
    ...AUDIO_ARGS,
    // No -frames:v: the pipe carries exactly the timeline's frames, and with it ffmpeg drops the
    // last AAC frame (compose.ts says the same), leaving the sound short of the picture.
    '-video_track_timescale', String(fps * 512),
    '-movflags', '+faststart', '-f', 'mp4', fileArg(job.output),
  ], job.signal);
  let t = 0;
  let changed = 0;
  try {
    for await (const frame of decodeFrames(job.tools, job.base, { pixFmt: 'yuv420p', width, height, signal: job.signal })) {
      if (t >= job.frames) break;
      const base = index.frames[order[t]];
      const at = performance.now();
      if (usableBase(base)) {
        const done = mode === 'bank'
          ? composite(frame, index, base, index.frames[units[path[t]].frame], slots.get(path[t])) !== null
          : openMouth(frame, width, height, base, targets[t].open, fallbackMouth && index.mostOpenSlot !== null
            ? { crop: fallbackMouth, cw: index.crop.width, ch: index.crop.height, info: index.frames[index.slotFrames[index.mostOpenSlot]] } : null);
        if (done) changed++;
      }
      compositeMs += performance.now() - at;
      await encoder.write(frame);
      t++;
      job.onProgress?.(t / job.frames);
    }
    if (t < job.frames) throw new Error(`the base video ended after ${t} of ${job.frames} frames`);
    await encoder.close();
  } catch (err) {
    encoder.kill();
    throw err;
  }
  return { mode, changedFrames: changed, selectMs, compositeMs };
}

/**
 * Puts the bank mouth `source` (its canonical crop `crop`) onto `frame`, whose face is `base`.
 * Returns the mask it blended under (its box and alpha, in frame pixels), or null when nothing changed.
 *
 * The patch is placed by a similarity fitted on the stable points (eyes, nose, the face's sides):
 * a full affine fitted there is free to shear and squash, and the jaw lies far below those
 * points, so its small errors grow into a patch that sits a few pixels off at the chin. The mask
 * is the lower face (both faces' polygons, the base frame's and the patch's) with a wide soft
 * edge under the nose, where patch and base are the same skin, cut to the inside of both faces'
 * outlines with a narrow soft edge that ends on the jaw line: the jaw line and what lies beyond
 * it (hair, neck, backdrop, which the face's points do not align) stay the base frame's. A mask
 * whose soft edge reached past the outline blended the patch's own jaw edge and hair over the
 * base's, a few pixels apart: the smears at the jaw in the README's first strip. The cost: the
 * chin's outline is the base frame's, so a jaw drop shows inside the face but not at its edge.
 */
export function composite(frame: Buffer, index: BankIndex, base: FrameInfo & { points: number[] }, source: FrameInfo, crop: Buffer | undefined): Mask | null {
  if (!crop) return null;
  const placed = placeMouth(index, base, source);
  if (!placed) return null;
  blendPatch(frame, index.width, index.height, { crop, cw: index.crop.width, ch: index.crop.height, toFrame: placed.toFrame }, placed.mask);
  return placed.mask;
}

/** Where composite() puts the bank mouth `source` on a frame whose face is `base`: canonical-to-frame transform and mask. */
export function placeMouth(index: BankIndex, base: FrameInfo & { points: number[] }, source: FrameInfo): { toFrame: Affine; mask: Mask } | null {
  if (!source.points || !source.toCanonical) return null;
  const toCanon = source.toCanonical;
  const canonStable = STABLE.map((k) => apply(toCanon, keptPt(source.points!, k)));
  const baseStable = STABLE.map((k) => keptPt(base.points, k));
  const toFrame = fitSimilarity(canonStable, baseStable);
  const eye = eyeDistance(fullFromKept(base.points));
  const feather = FEATHER * eye;
  const basePoly = LOWER_FACE.map((k) => keptPt(base.points, k));
  const sourcePoly = LOWER_FACE.map((k) => apply(toFrame, apply(toCanon, keptPt(source.points!, k))));
  // The lower face with a wide soft edge under the nose, where patch and base are the same skin;
  // then cut to inside both outlines with a narrow soft edge, so nothing beyond the jaw line changes.
  const mask = featherMask([basePoly, sourcePoly], feather, index.width, index.height);
  const edge = JAW_FEATHER * eye;
  if (mask) clipMask(mask, featherMask([insetJaw(basePoly, edge, -2 * feather), insetJaw(sourcePoly, edge, -2 * feather)], edge, index.width, index.height, 'intersection'));
  return mask ? { toFrame, mask } : null;
}

/**
 * `poly` (LOWER_FACE order) with its jaw-line points moved `jaw` pixels inwards, across the
 * outline, and the others (under the nose) `rest` pixels inwards (negative: outwards).
 */
export function insetJaw(poly: Pt[], jaw: number, rest = 0): Pt[] {
  const cx = poly.reduce((s, p) => s + p[0], 0) / poly.length, cy = poly.reduce((s, p) => s + p[1], 0) / poly.length;
  const n = poly.length;
  return poly.map((p, i) => {
    const d = i < JAW_POINTS ? jaw : rest;
    if (d === 0) return p;
    const a = poly[(i + n - 1) % n], b = poly[(i + 1) % n];
    let nx = a[1] - b[1], ny = b[0] - a[0];
    const len = Math.hypot(nx, ny) || 1;
    nx /= len; ny /= len;
    if (nx * (cx - p[0]) + ny * (cy - p[1]) < 0) { nx = -nx; ny = -ny; }
    return [p[0] + d * nx, p[1] + d * ny];
  });
}

/** `mask` times `by` (0 where `by` has no box), in place. */
function clipMask(mask: Mask, by: Mask | null): void {
  const { box, alpha } = mask;
  for (let row = 0; row < box.h; row++) {
    for (let col = 0; col < box.w; col++) {
      const x = box.x + col - (by?.box.x ?? 0), y = box.y + row - (by?.box.y ?? 0);
      const inside = by && x >= 0 && y >= 0 && x < by.box.w && y < by.box.h ? by.alpha[y * by.box.w + x] : 0;
      alpha[row * box.w + col] *= inside;
    }
  }
}
