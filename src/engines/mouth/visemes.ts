// Mouth shapes ("visemes") per video frame: from espeak IPA phonemes, or from how open the mouth
// is (mouth/audio.ts measures that from the sound when there are no phonemes). The built-in 2D
// avatars draw them; the embedded lip-sync's targets (target.ts) start from them.

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
