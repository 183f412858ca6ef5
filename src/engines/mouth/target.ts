// The mouth a video should show, one value pair per output frame: how open (0 closed .. 1 wide
// open) and how spread (-1 rounded, o/u .. +1 spread, ee/s). From the TTS phoneme timings for
// text; audio.ts makes the same track from the sound itself for uploaded audio.

import type { PhonemeTiming } from '../tts/engine.js';
import { frameCount, phonemeToViseme, type Viseme } from './visemes.js';

export interface MouthTarget {
  open: number;
  spread: number;
}

const SHAPES: Record<Viseme, MouthTarget> = {
  REST: { open: 0, spread: 0 },
  MBP: { open: 0, spread: 0 },
  FV: { open: 0.1, spread: 0.3 },
  S: { open: 0.2, spread: 0.6 },
  L: { open: 0.35, spread: 0.2 },
  EE: { open: 0.4, spread: 1 },
  OO: { open: 0.3, spread: -1 },
  OH: { open: 0.7, spread: -0.7 },
  AH: { open: 0.65, spread: 0 },
  AA: { open: 1, spread: 0 },
};

/** Lips move ahead of the sound: a vowel's opening starts this much before it is heard. */
const LEAD_MS = 40;
/** Coarticulation: each frame leans on its neighbours by these weights (then closures are restored). */
const SMOOTH = [0.2, 0.6, 0.2];

/**
 * Per output frame, from phoneme timings. The shape is the phoneme heard LEAD_MS after the
 * frame's middle; the track is then smoothed so neighbouring sounds blend, except that a frame
 * inside m/b/p stays fully closed (the lips must meet, however short the closure).
 */
export function targetFromPhonemes(phonemes: PhonemeTiming[], durationMs: number, fps: number): MouthTarget[] {
  const frames = frameCount(durationMs, fps);
  const sorted = [...phonemes].filter((p) => p.endMs > p.startMs).sort((a, b) => a.startMs - b.startMs);
  const raw: MouthTarget[] = [];
  const closed: boolean[] = [];
  let j = 0;
  for (let f = 0; f < frames; f++) {
    const t = ((f + 0.5) * 1000) / fps + LEAD_MS;
    while (j < sorted.length && sorted[j].endMs <= t) j++;
    const p = sorted[j] && sorted[j].startMs <= t ? sorted[j] : null;
    const viseme = p ? phonemeToViseme(p.phoneme) : 'REST';
    raw.push(SHAPES[viseme]);
    // A closure shorter than a frame still closes the lips: look for one inside this frame.
    const from = (f * 1000) / fps + LEAD_MS, to = ((f + 1) * 1000) / fps + LEAD_MS;
    closed.push(viseme === 'MBP' || sorted.some((q) => q.startMs < to && q.endMs > from && phonemeToViseme(q.phoneme) === 'MBP' && q.endMs - q.startMs < 1000 / fps));
  }
  return raw.map((_, f) => {
    if (closed[f]) return { open: 0, spread: 0 };
    let open = 0, spread = 0;
    SMOOTH.forEach((w, k) => {
      const s = raw[Math.min(frames - 1, Math.max(0, f + k - 1))];
      open += w * s.open;
      spread += w * s.spread;
    });
    return { open, spread };
  });
}
