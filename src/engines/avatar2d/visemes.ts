// Lip-sync for the built-in 2D avatars: espeak IPA phonemes (or, without phonemes, the loudness
// of the audio) become one mouth shape ("viseme") per video frame.

import type { PhonemeTiming } from '../tts/engine.js';

/**
 * The mouth shapes the characters can draw. Deliberately few: at 25 fps a viewer reads the
 * rhythm of opening and closing, and the handful of shapes where the lips visibly do something
 * special (pressed for m/b/p, lip under the teeth for f/v, rounded for o/u).
 */
export const VISEMES = ['REST', 'MBP', 'AA', 'AH', 'EE', 'OO', 'OH', 'FV', 'L', 'S'] as const;
export type Viseme = (typeof VISEMES)[number];

/** Stress, length and tie marks plus combining diacritics carry no mouth-shape information. */
const IGNORED_MARKS = /[ˈˌːˑ‿͡\u0300-\u036f]/gu;

/**
 * IPA symbols (as espeak writes them, without stress or length) to visemes. Multi-symbol entries
 * (diphthongs, affricates) are looked up before their first symbol; for a diphthong the first,
 * more open part is what the viewer sees.
 */
const PHONEME_VISEMES: Record<string, Viseme> = {
  // Lips pressed together.
  m: 'MBP', b: 'MBP', p: 'MBP', ɱ: 'FV',
  // Lower lip against the upper teeth.
  f: 'FV', v: 'FV',
  // Open vowels.
  ɑ: 'AA', a: 'AA', æ: 'AA', aɪ: 'AA', aʊ: 'AA', ɒ: 'OH', ɐ: 'AH',
  // Mid vowels and the glottal h: mouth half open.
  ʌ: 'AH', ə: 'AH', ɚ: 'AH', ɜ: 'AH', ɛ: 'AH', e: 'EE', eɪ: 'EE', eə: 'AH', ɵ: 'AH', h: 'AH',
  // Spread lips.
  i: 'EE', ɪ: 'EE', iə: 'EE', ɪə: 'EE', j: 'EE', y: 'OO',
  // Rounded and small.
  u: 'OO', ʊ: 'OO', ʊə: 'OO', w: 'OO', ɹ: 'OO', r: 'OO', ʍ: 'OO',
  // Rounded and open.
  o: 'OH', oʊ: 'OH', əʊ: 'OH', ɔ: 'OH', ɔɪ: 'OH',
  // Slightly open with the tongue visible.
  l: 'L', ɫ: 'L', θ: 'L', ð: 'L', d: 'L', n: 'L', ɾ: 'L', ɬ: 'L',
  // Teeth together, narrow opening.
  s: 'S', z: 'S', t: 'S', ʃ: 'S', ʒ: 'S', tʃ: 'S', dʒ: 'S', k: 'S', g: 'S', ɡ: 'S', ŋ: 'S', x: 'S', ç: 'S', ʔ: 'S',
};

/** Frames where the mouth shows a phoneme the viewer would miss if it were skipped. */
const MUST_SHOW: ReadonlySet<Viseme> = new Set<Viseme>(['MBP', 'FV']);

/** The mid-open shape used for anything the table does not know (other languages, odd symbols). */
const UNKNOWN_VISEME: Viseme = 'AH';

export function phonemeToViseme(phoneme: string): Viseme {
  const bare = phoneme.replace(IGNORED_MARKS, '').trim();
  if (bare === '' || bare === '_') return 'REST';
  const symbols = Array.from(bare);
  // Longest known prefix wins, so 'aɪ' maps as a diphthong and 'əl' as its vowel.
  for (let n = Math.min(3, symbols.length); n >= 1; n--) {
    const hit = PHONEME_VISEMES[symbols.slice(0, n).join('')];
    if (hit) return hit;
  }
  return UNKNOWN_VISEME;
}

export function frameCount(durationMs: number, fps: number): number {
  return Math.max(1, Math.round((durationMs * fps) / 1000));
}

/**
 * One viseme per video frame. Each frame shows the phoneme covering most of it; a frame that is
 * mostly silence is REST. Plosives like 'p' are often shorter than a 40 ms frame and would vanish
 * under that rule, so a lip closure or f/v that won no frame takes the frame it overlaps most.
 */
export function visemeTrack(phonemes: PhonemeTiming[], durationMs: number, fps: number): Viseme[] {
  const frames = frameCount(durationMs, fps);
  const frameMs = 1000 / fps;
  const track: Viseme[] = new Array(frames).fill('REST');
  const best = new Float64Array(frames);
  const covered = new Float64Array(frames);
  const sorted = [...phonemes].filter((p) => p.endMs > p.startMs).sort((a, b) => a.startMs - b.startMs);

  for (const p of sorted) {
    const viseme = phonemeToViseme(p.phoneme);
    forEachOverlap(p, frameMs, frames, (frame, overlap) => {
      covered[frame] += overlap;
      if (overlap > best[frame]) {
        best[frame] = overlap;
        track[frame] = viseme;
      }
    });
  }
  for (let f = 0; f < frames; f++) if (covered[f] < frameMs / 2) track[f] = 'REST';

  for (const p of sorted) {
    const viseme = phonemeToViseme(p.phoneme);
    if (!MUST_SHOW.has(viseme)) continue;
    let target = -1;
    let targetOverlap = 0;
    let shown = false;
    forEachOverlap(p, frameMs, frames, (frame, overlap) => {
      if (track[frame] === viseme) shown = true;
      if (overlap > targetOverlap && !MUST_SHOW.has(track[frame])) {
        target = frame;
        targetOverlap = overlap;
      }
    });
    if (!shown && target >= 0) track[target] = viseme;
  }
  return track;
}

function forEachOverlap(p: PhonemeTiming, frameMs: number, frames: number, fn: (frame: number, overlapMs: number) => void): void {
  const first = Math.max(0, Math.floor(p.startMs / frameMs));
  const last = Math.min(frames - 1, Math.ceil(p.endMs / frameMs) - 1);
  for (let f = first; f <= last; f++) {
    const overlap = Math.min(p.endMs, (f + 1) * frameMs) - Math.max(p.startMs, f * frameMs);
    if (overlap > 0) fn(f, overlap);
  }
}

// ---------------------------------------------------------------------------------------------
// Audio without phonemes: mouth openness from loudness

/** Frames quieter than this (dBFS) are silence whatever the recording's level. */
const ABSOLUTE_GATE_DB = -50;
/** ...and so are frames this far below the speech level, which removes room noise and breaths. */
const RELATIVE_GATE_DB = 30;
/** One-pole smoothing per frame: the mouth opens quickly and closes a little more slowly, as real ones do. */
const ATTACK = 0.7;
const RELEASE = 0.45;

/**
 * Mouth openness 0..1 per video frame from the RMS envelope of mono samples.
 * Levels are normalized to the loud end of the clip (95th percentile), so quiet and loud
 * recordings animate alike.
 */
export function energyTrack(samples: Int16Array, sampleRate: number, fps: number): number[] {
  const frames = frameCount((samples.length * 1000) / sampleRate, fps);
  const levels = frameLevelsDb(samples, sampleRate, fps, frames);
  const loud = percentile(levels.filter((db) => db > ABSOLUTE_GATE_DB), 0.95);
  if (loud === undefined) return new Array(frames).fill(0);
  const gate = Math.max(ABSOLUTE_GATE_DB, loud - RELATIVE_GATE_DB);
  const openness: number[] = [];
  let smoothed = 0;
  for (const db of levels) {
    const target = db <= gate ? 0 : Math.min(1, (db - gate) / Math.max(1, loud - gate));
    smoothed += (target - smoothed) * (target > smoothed ? ATTACK : RELEASE);
    // Snap the decaying tail to zero so silence is exactly closed, not 0.001 open.
    if (target === 0 && smoothed < 0.05) smoothed = 0;
    openness.push(smoothed);
  }
  return openness;
}

/** RMS in dBFS per frame period, over a window 1.5 frames wide so short bursts are not missed. */
function frameLevelsDb(samples: Int16Array, sampleRate: number, fps: number, frames: number): number[] {
  const hop = sampleRate / fps;
  const half = Math.round(hop * 0.75);
  const levels: number[] = [];
  for (let f = 0; f < frames; f++) {
    const center = Math.round((f + 0.5) * hop);
    const from = Math.max(0, center - half);
    const to = Math.min(samples.length, center + half);
    let sum = 0;
    for (let i = from; i < to; i++) sum += samples[i] * samples[i];
    const rms = Math.sqrt(sum / Math.max(1, to - from)) / 32768;
    levels.push(rms > 0 ? 20 * Math.log10(rms) : -120);
  }
  return levels;
}

function percentile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Visemes for loudness-only lip-sync. Without phonemes the shape cannot be known, so openness
 * picks from a ladder of increasingly open, neutral shapes.
 */
export function visemesFromEnergy(openness: number[]): Viseme[] {
  return openness.map((o): Viseme => {
    if (o < 0.08) return 'REST';
    if (o < 0.3) return 'S';
    if (o < 0.55) return 'L';
    if (o < 0.8) return 'AH';
    return 'AA';
  });
}
