// Analysis of a user's voice sample for "rapid voice cloning" on the embedded engine: the few
// measurements needed to match an espeak profile (pitch, speaking rate) and to reject samples that
// cannot give a meaningful match (silent, clipped, too short, no voiced speech).
//
// Everything runs on a mono copy decimated to roughly 8-11 kHz: pitch (60..500 Hz) and the energy
// envelope need nothing higher, and it keeps a 60 s, 48 kHz upload well under a second.

import { median } from '../../domain/stats.js';

export interface VoiceAnalysis {
  durationMs: number;
  /** Median fundamental frequency over voiced frames; null when no frame was voiced. */
  medianPitchHz: number | null;
  /** Voiced frames / frames with energy. */
  voicedRatio: number;
  /** Frames above the silence threshold / all frames. */
  speechRatio: number;
  /** Overall RMS level in dBFS (-120 for digital silence). */
  rmsDbfs: number;
  /** Samples at or near full scale / all samples. */
  clippedRatio: number;
  /** Energy-envelope peaks (≈ syllable nuclei) per second of speech; null without enough speech. */
  syllablesPerSecond: number | null;
  /** 1 male, 2 female, guessed from the median pitch. */
  sexGuess: 1 | 2;
  /**
   * The voiced frames' pitch split in two groups (2-means on log pitch), to tell two speakers
   * apart: one voice gives one broad hump, a man and a woman give two humps about an octave
   * apart. Null without enough voiced frames.
   */
  pitchModes: PitchModes | null;
}

export interface PitchModes {
  lowHz: number;
  highHz: number;
  /** Share of the voiced frames in the smaller group. */
  minorShare: number;
  /** Ashman's D: distance of the groups' means over their pooled spread; > 2 is clearly bimodal. */
  separation: number;
}

export interface SampleProblem {
  field: 'audioUrl';
  message: string;
}

export const PITCH_MIN_HZ = 60;
export const PITCH_MAX_HZ = 500;
/** Adult male speech sits around 85-155 Hz, female around 165-255 Hz. */
const SEX_THRESHOLD_HZ = 165;

const TARGET_RATE_HZ = 8000;
const BLOCK_MS = 10;
/** Pitch is estimated every other block; 50 estimates per second is plenty for a median. */
const PITCH_HOP_BLOCKS = 2;
const PITCH_WINDOW_MS = 25;
/** YIN: the first dip of the normalized difference below this counts as the period. */
const YIN_THRESHOLD = 0.15;
/** YIN fallback: a frame whose best dip stays above this is unvoiced. */
const YIN_VOICED_MAX = 0.3;
const DIGITAL_SILENCE_DB = -120;
/** Absolute floor of the speech threshold: quieter blocks are silence whatever the dynamics. */
const SILENCE_FLOOR_DB = -55;
/** Blocks this far below the loud part of the recording are pauses or background noise. */
const SPEECH_DYNAMIC_RANGE_DB = 35;
/** 16-bit samples at or above this magnitude (-0.07 dBFS) count as clipped. */
const CLIP_LEVEL = 32500;
/** A syllable peak must rise this far above the valleys on both sides. */
const SYLLABLE_MIN_DIP_DB = 4;
const SYLLABLE_MIN_GAP_MS = 70;
const ENVELOPE_SMOOTH_BLOCKS = 3;
/**
 * Two voices: the smaller pitch group holds at least this share of the voiced frames, the
 * groups' centres are at least this ratio apart, and clearly separated. Measured on espeak:
 * single voices (en and cmn, male and female, 11 settings) split at ratios 1.09-1.23 (or leave a
 * group under 1 %: octave errors); a man followed by a woman at 2.06-3.49, with D 7.5-11.9.
 * Two voices of the same sex (ratios 1.31-1.39) are not told apart.
 */
const TWO_VOICES_MIN_SHARE = 0.2;
const TWO_VOICES_MIN_RATIO = 1.6;
const TWO_VOICES_MIN_SEPARATION = 4;
/** Below this much speech a rate estimate is noise. */
const MIN_SPEECH_FOR_RATE_MS = 1000;

export function analyzeVoice(wav: { sampleRate: number; channels: number; samples: Int16Array }): VoiceAnalysis {
  const channels = Math.max(1, wav.channels);
  const frames = Math.floor(wav.samples.length / channels);
  const durationMs = (frames * 1000) / wav.sampleRate;
  const { signal, rate } = toMonoDecimated(wav.samples, channels, wav.sampleRate);

  const blockDb = blockLevelsDb(signal, Math.max(1, Math.round((rate * BLOCK_MS) / 1000)));
  const threshold = speechThresholdDb(blockDb);
  const isSpeech = blockDb.map((db) => db >= threshold);
  const speechBlocks = isSpeech.filter(Boolean).length;
  const speechMs = speechBlocks * BLOCK_MS;

  const pitch = trackPitch(signal, rate, isSpeech);
  const medianPitchHz = pitch.estimates.length > 0 ? median(pitch.estimates) : null;

  return {
    durationMs,
    medianPitchHz,
    voicedRatio: pitch.framesWithEnergy > 0 ? pitch.estimates.length / pitch.framesWithEnergy : 0,
    speechRatio: blockDb.length > 0 ? speechBlocks / blockDb.length : 0,
    rmsDbfs: overallLevelDb(wav.samples),
    clippedRatio: clippedRatio(wav.samples),
    syllablesPerSecond: speechMs >= MIN_SPEECH_FOR_RATE_MS ? countSyllablePeaks(blockDb, isSpeech) / (speechMs / 1000) : null,
    sexGuess: medianPitchHz !== null && medianPitchHz >= SEX_THRESHOLD_HZ ? 2 : 1,
    pitchModes: pitchModes(pitch.estimates),
  };
}

function twoVoices(m: PitchModes | null): boolean {
  return m !== null && m.minorShare >= TWO_VOICES_MIN_SHARE && m.highHz / m.lowHz >= TWO_VOICES_MIN_RATIO && m.separation >= TWO_VOICES_MIN_SEPARATION;
}

/** Two-group split of pitch estimates (1-D 2-means on log2 Hz). */
export function pitchModes(hz: number[]): PitchModes | null {
  if (hz.length < 100) return null;
  const x = hz.map((f) => Math.log2(f)).sort((a, b) => a - b);
  // 1-D 2-means is optimal at a split point of the sorted values; scan them all with prefix sums.
  const prefix = [0];
  const prefixSq = [0];
  for (const v of x) { prefix.push(prefix[prefix.length - 1] + v); prefixSq.push(prefixSq[prefixSq.length - 1] + v * v); }
  const sse = (i: number, j: number) => { const n = j - i; const s = prefix[j] - prefix[i]; return prefixSq[j] - prefixSq[i] - (s * s) / n; };
  let best = 1;
  let bestCost = Infinity;
  for (let k = 1; k < x.length; k++) {
    const cost = sse(0, k) + sse(k, x.length);
    if (cost < bestCost) { bestCost = cost; best = k; }
  }
  const n1 = best;
  const n2 = x.length - best;
  const m1 = (prefix[best]) / n1;
  const m2 = (prefix[x.length] - prefix[best]) / n2;
  const v1 = sse(0, best) / n1;
  const v2 = sse(best, x.length) / n2;
  return {
    lowHz: 2 ** m1, highHz: 2 ** m2, minorShare: Math.min(n1, n2) / x.length,
    separation: (Math.SQRT2 * (m2 - m1)) / Math.sqrt(v1 + v2 + 1e-12),
  };
}

// ---------------------------------------------------------------------------------------------
// Sample checks

export function checkSample(
  a: VoiceAnalysis,
  limits: { minMs?: number; maxMs?: number } = {},
): { problems: string[]; notes: string[] } {
  const minMs = limits.minMs ?? 3000;
  const maxMs = limits.maxMs ?? 60000;
  const problems: string[] = [];
  const notes: string[] = [];
  const length = formatSeconds(a.durationMs, [minMs, maxMs]);

  const tooShort = a.durationMs < minMs;
  if (tooShort || a.durationMs > maxMs) {
    problems.push(
      `the sample is ${length} s long; it must be ${formatSeconds(minMs)} to ${formatSeconds(maxMs)} s (10 to 30 s recommended)`,
    );
  } else if (a.durationMs < 10000 || a.durationMs > 30000) {
    notes.push(`the sample is ${length} s long; 10 to 30 s is recommended for the best match`);
  }

  if (a.rmsDbfs <= SILENCE_FLOOR_DB || a.speechRatio === 0) {
    // Every other speech check would only restate this one.
    problems.push('the sample is silent');
    return { problems, notes };
  }
  if (a.clippedRatio > 0.01) {
    problems.push(
      `the sample is clipped (distorted) in ${(a.clippedRatio * 100).toFixed(1)}% of its samples; record at a lower volume`,
    );
  }
  // A too-short sample is also short of speech and hard to analyze; the length message already
  // says what to do, so only repeat-worthy problems (silence, clipping) are added to it.
  if (tooShort) return { problems, notes };
  const speechMs = a.durationMs * a.speechRatio;
  if (speechMs < Math.min(2000, minMs / 2) || a.speechRatio < 0.2) {
    problems.push(
      `the sample contains too little speech (${formatSeconds(speechMs)} s in ${length} s); speak for most of the recording`,
    );
  } else if (a.medianPitchHz === null || a.voicedRatio < 0.1) {
    // Energy without periodicity: noise, hiss, whispering.
    problems.push('no voiced speech was found in the sample; record a normal speaking voice, not a whisper or noise');
  } else if (twoVoices(a.pitchModes)) {
    const m = a.pitchModes!;
    problems.push(
      `the sample seems to hold more than one voice (one around ${Math.round(m.lowHz)} Hz, another around ${Math.round(m.highHz)} Hz); `
      + 'record one person speaking alone',
    );
  }
  return { problems, notes };
}

/**
 * Seconds with one decimal; two below a second, or when one would round onto one of the
 * `limits` ("3.0 s long; it must be 3 to 60 s") and hide why the sample failed.
 */
function formatSeconds(ms: number, limits: number[] = []): string {
  const s = ms / 1000;
  if (Number.isInteger(s)) return String(s);
  const one = s.toFixed(1);
  return s < 1 || limits.some((limit) => Number(one) * 1000 === limit) ? s.toFixed(2) : one;
}

// ---------------------------------------------------------------------------------------------
// Signal preparation and levels

/**
 * Mixes to mono and decimates by an integer factor to about TARGET_RATE_HZ. The box average of
 * each group plus a [1 2 1] smoother is a crude low-pass, but aliasing of the weak >4 kHz part of
 * speech does not move a pitch estimate or an energy envelope.
 */
function toMonoDecimated(samples: Int16Array, channels: number, sampleRate: number): { signal: Float32Array; rate: number } {
  const factor = Math.max(1, Math.floor(sampleRate / TARGET_RATE_HZ));
  const frames = Math.floor(samples.length / channels);
  const length = Math.floor(frames / factor);
  const box = new Float32Array(length);
  const groupSize = factor * channels;
  for (let i = 0; i < length; i++) {
    let sum = 0;
    const start = i * groupSize;
    for (let j = start; j < start + groupSize; j++) sum += samples[j];
    box[i] = sum / groupSize;
  }
  const signal = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const prev = box[i > 0 ? i - 1 : i];
    const next = box[i < length - 1 ? i + 1 : i];
    signal[i] = (prev + 2 * box[i] + next) / 4;
  }
  return { signal, rate: sampleRate / factor };
}

function toDb(meanSquare: number): number {
  if (meanSquare <= 0) return DIGITAL_SILENCE_DB;
  return Math.max(DIGITAL_SILENCE_DB, 10 * Math.log10(meanSquare / (32768 * 32768)));
}

function blockLevelsDb(signal: Float32Array, blockSize: number): number[] {
  const levels: number[] = [];
  for (let start = 0; start + blockSize <= signal.length; start += blockSize) {
    let sum = 0;
    for (let i = start; i < start + blockSize; i++) sum += signal[i] * signal[i];
    levels.push(toDb(sum / blockSize));
  }
  return levels;
}

/** Relative to the loud part of the recording, so quiet but clean recordings still count as speech. */
function speechThresholdDb(blockDb: number[]): number {
  if (blockDb.length === 0) return 0;
  const sorted = [...blockDb].sort((x, y) => x - y);
  const loud = sorted[Math.floor(0.95 * (sorted.length - 1))];
  return Math.max(SILENCE_FLOOR_DB, loud - SPEECH_DYNAMIC_RANGE_DB);
}

function overallLevelDb(samples: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return toDb(samples.length > 0 ? sum / samples.length : 0);
}

function clippedRatio(samples: Int16Array): number {
  let clipped = 0;
  for (let i = 0; i < samples.length; i++) if (samples[i] >= CLIP_LEVEL || samples[i] <= -CLIP_LEVEL) clipped++;
  return samples.length > 0 ? clipped / samples.length : 0;
}

// ---------------------------------------------------------------------------------------------
// Pitch (YIN restricted to 60..500 Hz)

function trackPitch(signal: Float32Array, rate: number, isSpeech: boolean[]): { estimates: number[]; framesWithEnergy: number } {
  const blockSize = Math.round((rate * BLOCK_MS) / 1000);
  const window = Math.round((rate * PITCH_WINDOW_MS) / 1000);
  const minLag = Math.floor(rate / PITCH_MAX_HZ);
  const maxLag = Math.ceil(rate / PITCH_MIN_HZ);
  const diff = new Float64Array(maxLag + 2);
  const estimates: number[] = [];
  let framesWithEnergy = 0;
  for (let block = 0; block < isSpeech.length; block += PITCH_HOP_BLOCKS) {
    const start = block * blockSize;
    if (start + window + maxLag + 1 > signal.length) break;
    // Pitch is only meaningful where there is sound; the window spans ~3 blocks, all must be speech.
    const coveredBlocks = Math.ceil(window / blockSize);
    let loud = true;
    for (let b = block; b < block + coveredBlocks && loud; b++) loud = isSpeech[b] === true;
    if (!loud) continue;
    framesWithEnergy++;
    const hz = yinFrame(signal, start, window, minLag, maxLag, diff, rate);
    if (hz !== null) estimates.push(hz);
  }
  return { estimates, framesWithEnergy };
}

/** One YIN estimate (de Cheveigné & Kawahara 2002, steps 2-5) or null for an unvoiced frame. */
function yinFrame(
  x: Float32Array,
  start: number,
  window: number,
  minLag: number,
  maxLag: number,
  d: Float64Array,
  rate: number,
): number | null {
  // Difference function; lags below minLag are still needed for the cumulative mean normalization.
  for (let lag = 1; lag <= maxLag + 1; lag++) {
    let sum = 0;
    for (let i = start; i < start + window; i++) {
      const delta = x[i] - x[i + lag];
      sum += delta * delta;
    }
    d[lag] = sum;
  }
  // Cumulative mean normalized difference, in place (d[0] is 1 by definition).
  let running = 0;
  d[0] = 1;
  for (let lag = 1; lag <= maxLag + 1; lag++) {
    running += d[lag];
    d[lag] = running > 0 ? (d[lag] * lag) / running : 1;
  }
  const lag = pickLag(d, minLag, maxLag);
  if (lag === null) return null;
  const hz = rate / refineLag(d, lag);
  return hz >= PITCH_MIN_HZ && hz <= PITCH_MAX_HZ ? hz : null;
}

/** The first dip below the threshold (avoids octave-too-low errors), else the global minimum if deep enough. */
function pickLag(d: Float64Array, minLag: number, maxLag: number): number | null {
  for (let lag = minLag; lag <= maxLag; lag++) {
    if (d[lag] < YIN_THRESHOLD) {
      while (lag + 1 <= maxLag && d[lag + 1] < d[lag]) lag++;
      return lag;
    }
  }
  let best = minLag;
  for (let lag = minLag + 1; lag <= maxLag; lag++) if (d[lag] < d[best]) best = lag;
  return d[best] < YIN_VOICED_MAX ? best : null;
}

/** Parabolic interpolation around the chosen lag: at 8 kHz a whole-sample lag is up to 3% off at 250 Hz. */
function refineLag(d: Float64Array, lag: number): number {
  const a = d[lag - 1];
  const b = d[lag];
  const c = d[lag + 1];
  const denominator = a - 2 * b + c;
  if (denominator <= 0) return lag;
  const shift = (a - c) / (2 * denominator);
  return Math.abs(shift) < 1 ? lag + shift : lag;
}

// ---------------------------------------------------------------------------------------------
// Speaking rate

/**
 * Counts peaks of the smoothed energy envelope inside speech: each vowel is a local energy
 * maximum, so peaks that stand out by a real dip approximate syllables. Crude for any one
 * sentence, but consistent, which is what rate matching needs.
 */
function countSyllablePeaks(blockDb: number[], isSpeech: boolean[]): number {
  const env = smooth(blockDb, ENVELOPE_SMOOTH_BLOCKS);
  let count = 0;
  for (const [from, to] of speechRuns(isSpeech)) {
    const peaks: number[] = [];
    for (let i = from; i < to; i++) {
      const rising = i === from || env[i] >= env[i - 1];
      const falling = i === to - 1 || env[i] > env[i + 1];
      if (rising && falling && prominence(env, i, from, to) >= SYLLABLE_MIN_DIP_DB) peaks.push(i);
    }
    count += spacedPeaks(peaks, env, Math.round(SYLLABLE_MIN_GAP_MS / BLOCK_MS));
  }
  return count;
}

/** [from, to) index ranges of consecutive speech blocks. */
function speechRuns(isSpeech: boolean[]): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i <= isSpeech.length; i++) {
    if (i < isSpeech.length && isSpeech[i]) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      runs.push([start, i]);
      start = -1;
    }
  }
  return runs;
}

/**
 * Topographic prominence within the run: how far the peak rises above the higher of the two
 * lowest points between it and a higher peak (or the run's edge, where speech starts from silence).
 */
function prominence(env: number[], peak: number, from: number, to: number): number {
  let leftMin = env[peak];
  let i = peak - 1;
  for (; i >= from && env[i] <= env[peak]; i--) leftMin = Math.min(leftMin, env[i]);
  if (i < from) leftMin = -Infinity;
  let rightMin = env[peak];
  let j = peak + 1;
  for (; j < to && env[j] <= env[peak]; j++) rightMin = Math.min(rightMin, env[j]);
  if (j >= to) rightMin = -Infinity;
  return env[peak] - Math.max(leftMin, rightMin);
}

/** Keeps the louder of peaks closer than `minGap` blocks: no one speaks that fast, it is one syllable. */
function spacedPeaks(peaks: number[], env: number[], minGap: number): number {
  const kept: number[] = [];
  for (const peak of [...peaks].sort((a, b) => env[b] - env[a])) {
    if (kept.every((k) => Math.abs(k - peak) >= minGap)) kept.push(peak);
  }
  return kept.length;
}

function smooth(values: number[], width: number): number[] {
  const half = Math.floor(width / 2);
  return values.map((_, i) => {
    let sum = 0;
    let n = 0;
    for (let j = Math.max(0, i - half); j <= Math.min(values.length - 1, i + half); j++) {
      sum += values[j];
      n++;
    }
    return sum / n;
  });
}
