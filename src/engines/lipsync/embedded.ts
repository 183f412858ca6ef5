// The embedded lip-sync: a trained scene's base timeline (its clip looped, as compose.ts plays it)
// with every frame's mouth and jaw replaced by one chosen from the person's own mouth bank, so
// the lips follow new speech. CPU only, no model weights. See bank.ts (training), select.ts
// (which mouth), composite.ts (pixels).

import { AUDIO_ARGS, planTimeline, type LoopDirection } from '../../media/compose.js';
import { decodeFrames, FrameEncoder } from '../../media/raw-video.js';
import { keptPt, loadSlots, type BankIndex, type FrameInfo } from './bank.js';
import { blendPatch, featherMask } from './composite.js';
import { openMouth } from './fallback.js';
import { apply, eyeDistance, fitAffine, LOWER_FACE, STABLE, type Pt } from './landmarks.js';
import { selectUnits, type BankUnit, type Pose } from './select.js';
import type { MouthTarget } from '../mouth/target.js';
import { fullFromKept } from './bank.js';
import { type MediaTools } from '../../media/tools.js';
import { fileArg } from '../../media/input.js';

/** Frames turned further than this are shown as they are (a patch would not fit them). */
const MAX_BASE_TURN = 0.5;
/** The mask's soft edge, in eye distances. */
const FEATHER = 0.14;

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
          ? composite(frame, index, base, index.frames[units[path[t]].frame], slots.get(path[t]))
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

/** Puts the bank mouth `source` (its canonical crop `crop`) onto `frame`, whose face is `base`. */
function composite(frame: Buffer, index: BankIndex, base: FrameInfo & { points: number[] }, source: FrameInfo, crop: Buffer | undefined): boolean {
  if (!crop || !source.points || !source.toCanonical) return false;
  const toCanon = source.toCanonical;
  const canonStable = STABLE.map((k) => apply(toCanon, keptPt(source.points!, k)));
  const baseStable = STABLE.map((k) => keptPt(base.points, k));
  const toFrame = fitAffine(canonStable, baseStable);
  const basePoly: Pt[] = LOWER_FACE.map((k) => keptPt(base.points, k));
  const sourcePoly: Pt[] = LOWER_FACE.map((k) => apply(toFrame, apply(toCanon, keptPt(source.points!, k))));
  const feather = FEATHER * eyeDistance(fullFromKept(base.points));
  const mask = featherMask([basePoly, sourcePoly], feather, index.width, index.height);
  if (!mask) return false;
  blendPatch(frame, index.width, index.height, { crop, cw: index.crop.width, ch: index.crop.height, toFrame }, mask);
  return true;
}
