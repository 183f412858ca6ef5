// Builds an espeak voice profile that matches an analyzed voice sample: base voice by language,
// variant by sex, then a short calibration loop that measures what espeak actually produces and
// moves `pitch` until its median pitch lands on the sample's. This is a matched profile, not
// neural cloning: timbre is espeak's, pitch and speaking rate are the speaker's.

import type { TtsEngine, VoiceProfile } from '../tts/engine.js';
import { decodeWav } from '../../media/wav.js';
import { analyzeVoice, type VoiceAnalysis } from './analyze.js';

type Language = 'en' | 'zh';
type Sex = 1 | 2;

const BASE_VOICE: Record<Language, string> = { en: 'en-us', zh: 'cmn' };
const VARIANT: Record<Sex, string> = { 1: 'm3', 2: 'f2' };

/**
 * The openings of the classic phonetic passages (Rainbow Passage; "The North Wind and the Sun"),
 * 6-8 s each: long enough for a stable median, and their syllable rate is typical for the
 * language, unlike pangrams full of consonant clusters.
 */
const CALIBRATION_TEXT: Record<Language, string> = {
  en: 'When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow. The rainbow is a division of white light into many beautiful colors.',
  zh: '有一回，北风跟太阳在那儿争论谁的本事大。争来争去就是分不出高低来。',
};

/**
 * Measured median pitch (Hz) of each variant at espeak pitch 0 and 100. espeak's pitch scale is
 * close to exponential, so log-interpolating between these gives a first guess that is usually
 * within 10%; the calibration loop corrects the rest. Together the two variants cover about
 * 68-330 Hz (en) and 64-300 Hz (zh); voices beyond that get the nearest end of the scale.
 */
const PITCH_REACH: Record<string, { low: number; high: number }> = {
  'en-us+m3': { low: 68, high: 170 },
  'en-us+f2': { low: 125, high: 319 },
  'cmn+m3': { low: 64, high: 161 },
  'cmn+f2': { low: 106, high: 301 },
};
const FALLBACK_REACH: Record<Sex, { low: number; high: number }> = { 1: { low: 67, high: 165 }, 2: { low: 115, high: 310 } };

/** espeak words per minute per detected syllable per second, typical of several texts at 175 wpm. */
const WPM_PER_SYLLABLE_PER_S: Record<Language, number> = { en: 29, zh: 38 };
const DEFAULT_RATE = 165;
const RATE_RANGE = [120, 260] as const;
/** Relative rate differences below this are inaudible and not worth a re-measurement. */
const RATE_TOLERANCE = 0.05;
/** The syllable count wobbles by a few percent with voice and pitch; do not chase that noise. */
const MAX_RATE_CORRECTIONS = 2;

/** Aim well inside the 15% acceptance so a different sentence still lands within it. */
const PITCH_TOLERANCE = 0.05;
const MAX_SYNTH_CALLS = 8;

interface Attempt {
  voice: string;
  pitch: number;
  rate: number;
  measuredHz: number;
  /** |log(measured / target)|: symmetric for too high and too low. */
  error: number;
  /** The rate needed no (further) correction after this measurement. */
  rateOk: boolean;
}

export async function matchProfile(
  engine: TtsEngine,
  sample: VoiceAnalysis,
  opts: { language: Language; sex?: Sex },
): Promise<{ profile: VoiceProfile; ttsMedianPitchHz: number }> {
  const sex = opts.sex ?? sample.sexGuess;
  const base = BASE_VOICE[opts.language];
  const text = CALIBRATION_TEXT[opts.language];
  // Without a measurable pitch the variant's own default is as good a guess as any.
  const targetHz = sample.medianPitchHz ?? geometricMid(reachOf(base, sex));
  const pitchTolerance = Math.log(1 + PITCH_TOLERANCE);

  let variantSex = sex;
  let voice = `${base}+${VARIANT[variantSex]}`;
  let pitch = guessPitch(reachOf(base, variantSex), targetHz);
  let rate = initialRate(sample, opts.language);
  let rateCorrections = 0;
  const attempts: Attempt[] = [];

  for (let call = 0; call < MAX_SYNTH_CALLS; call++) {
    const measured = await measure(engine, text, { engine: 'espeak', voice, pitch, rate });
    // Rate is corrected from a ratio of measurements, not a fixed table: the syllable detector
    // counts differently per language, text and voice, and the ratio cancels most of that.
    const wantedRate = correctedRate(rate, sample.syllablesPerSecond, measured.syllablesPerSecond);
    const rateOk = rateCorrections >= MAX_RATE_CORRECTIONS || Math.abs(wantedRate / rate - 1) <= RATE_TOLERANCE;
    const attempt: Attempt = { voice, pitch, rate, measuredHz: measured.hz, error: Math.abs(Math.log(measured.hz / targetHz)), rateOk };
    attempts.push(attempt);
    if (!rateOk) {
      rate = wantedRate;
      rateCorrections++;
    }
    if (attempt.error <= pitchTolerance) {
      if (rateOk) break;
      continue; // right pitch at the wrong rate: measure again at the new rate
    }

    const step = nextPitch(attempts.filter((a) => a.voice === voice), targetHz, reachOf(base, variantSex));
    if (step.kind === 'try') {
      pitch = step.pitch;
      continue;
    }
    if (step.kind === 'converged') break;
    const other = otherVariantFor(base, variantSex, targetHz, attempts);
    if (other === null) break;
    variantSex = other;
    voice = `${base}+${VARIANT[other]}`;
    pitch = guessPitch(reachOf(base, other), targetHz);
  }

  const best = bestAttempt(attempts, pitchTolerance);
  return { profile: { engine: 'espeak', voice: best.voice, pitch: best.pitch, rate: best.rate }, ttsMedianPitchHz: best.measuredHz };
}

/** Synthesizes the calibration text and measures what espeak really produced. */
async function measure(engine: TtsEngine, text: string, profile: VoiceProfile): Promise<{ hz: number; syllablesPerSecond: number | null }> {
  const result = await engine.synthesize(text, profile);
  const analysis = analyzeVoice(decodeWav(result.wav));
  if (analysis.medianPitchHz === null) throw new Error(`calibration produced no voiced speech with ${profile.voice}`);
  return { hz: analysis.medianPitchHz, syllablesPerSecond: analysis.syllablesPerSecond };
}

function reachOf(base: string, sex: Sex): { low: number; high: number } {
  return PITCH_REACH[`${base}+${VARIANT[sex]}`] ?? FALLBACK_REACH[sex];
}

function geometricMid(reach: { low: number; high: number }): number {
  return Math.sqrt(reach.low * reach.high);
}

/** The espeak pitch (0..100) that log-interpolation of the variant's reach predicts for `hz`. */
function guessPitch(reach: { low: number; high: number }, hz: number): number {
  return clampPitch((100 * Math.log(hz / reach.low)) / Math.log(reach.high / reach.low));
}

function clampPitch(pitch: number): number {
  return Math.round(Math.min(100, Math.max(0, pitch)));
}

function clampRate(rate: number): number {
  return Math.round(Math.min(RATE_RANGE[1], Math.max(RATE_RANGE[0], rate)));
}

function initialRate(sample: VoiceAnalysis, language: Language): number {
  if (sample.syllablesPerSecond === null) return DEFAULT_RATE;
  return clampRate(sample.syllablesPerSecond * WPM_PER_SYLLABLE_PER_S[language]);
}

function correctedRate(rate: number, sampleSps: number | null, ttsSps: number | null): number {
  if (sampleSps === null || ttsSps === null || ttsSps <= 0) return rate;
  return clampRate((rate * sampleSps) / ttsSps);
}

/**
 * When the target is beyond an end of the current variant's scale, the other sex's variant may
 * get closer (the two overlap around 110-170 Hz, and each reaches further on its own side).
 * Null when it would not, or was already tried: the closest attempt is as good as espeak gets.
 */
function otherVariantFor(base: string, current: Sex, targetHz: number, attempts: Attempt[]): Sex | null {
  const other: Sex = current === 1 ? 2 : 1;
  if (attempts.some((a) => a.voice === `${base}+${VARIANT[other]}`)) return null;
  const reach = reachOf(base, other);
  // Log distance from the target to the other variant's reach (0 inside it) vs. the best so far.
  const predictedError = Math.max(0, Math.log(reach.low / targetHz), Math.log(targetHz / reach.high));
  const bestError = Math.min(...attempts.map((a) => a.error));
  return predictedError < bestError ? other : null;
}

type PitchStep = { kind: 'try'; pitch: number } | { kind: 'converged' } | { kind: 'out-of-reach' };

/**
 * The next pitch to try: a secant step through the two measurements closest to the target in
 * (pitch, log Hz), or the variant's prior slope after a single measurement. `attempts` are this
 * variant's. 'out-of-reach' when the target lies beyond an already measured end of the scale,
 * 'converged' when it lies between two measured neighbouring integer pitches.
 */
function nextPitch(attempts: Attempt[], targetHz: number, reach: { low: number; high: number }): PitchStep {
  const target = Math.log(targetHz);
  const distance = (a: Attempt) => Math.abs(Math.log(a.measuredHz) - target);
  const [p1, p2] = [...attempts].sort((a, b) => distance(a) - distance(b));
  const priorSlope = Math.log(reach.high / reach.low) / 100;
  let slope = priorSlope;
  if (p2 && p1.pitch !== p2.pitch) {
    const measured = (Math.log(p1.measuredHz) - Math.log(p2.measuredHz)) / (p1.pitch - p2.pitch);
    // Pitch only ever rises with the parameter; a flat or negative slope is measurement noise.
    if (measured > priorSlope / 4) slope = measured;
  }
  const wanted = p1.pitch + (target - Math.log(p1.measuredHz)) / slope;
  const measuredPitches = new Set(attempts.map((a) => a.pitch));
  if ((wanted < 0 && measuredPitches.has(0)) || (wanted > 100 && measuredPitches.has(100))) return { kind: 'out-of-reach' };
  const next = clampPitch(wanted);
  if (!measuredPitches.has(next)) return { kind: 'try', pitch: next };
  // Rounding lands on a measured pitch: step one unit towards the target instead.
  const nudged = p1.pitch + (target > Math.log(p1.measuredHz) ? 1 : -1);
  if (nudged < 0 || nudged > 100) return { kind: 'out-of-reach' };
  return measuredPitches.has(nudged) ? { kind: 'converged' } : { kind: 'try', pitch: nudged };
}

/**
 * Prefers attempts that match on both pitch and rate; otherwise pitch decides, as it is what
 * listeners notice first. Every candidate was measured, so the reported pitch is the profile's.
 */
function bestAttempt(attempts: Attempt[], pitchTolerance: number): Attempt {
  const complete = attempts.filter((a) => a.rateOk && a.error <= pitchTolerance);
  const pool = complete.length > 0 ? complete : attempts;
  return pool.reduce((best, a) => (a.error < best.error ? a : best));
}
