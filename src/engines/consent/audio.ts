// Audio: reading the 16 kHz WAV and keeping only the speech in it.
import { readFile } from 'node:fs/promises';
import { decodeWav, writePcm16 } from '../../media/wav.js';

export const SAMPLE_RATE = 16_000;

export async function readWav16k(file: string): Promise<Int16Array> {
  const wav = decodeWav(await readFile(file));
  if (wav.sampleRate !== SAMPLE_RATE || wav.channels !== 1) {
    throw new Error(`consent check needs 16 kHz mono audio, got ${wav.sampleRate} Hz with ${wav.channels} channel(s)`);
  }
  return wav.samples;
}

const FRAME = SAMPLE_RATE / 100; // 10 ms
/** Silence kept where a pause was (frames): enough for a natural gap, short of what the decoder mistakes. */
const KEPT_PAUSE_FRAMES = 15;
const EDGE_FRAMES = 5;

/**
 * Drops leading and trailing silence and shortens pauses to KEPT_PAUSE_FRAMES. A frame is speech
 * when it is well above the recording's noise floor and within 40 dB of its loud parts; `audible`
 * says which 10 ms frames of the kept samples are speech (the rest is what is left of pauses).
 */
export function keepSpeech(samples: Int16Array): { samples: Int16Array; speechMs: number; audible: boolean[] } {
  const levels = frameLevels(samples);
  const threshold = speechThreshold(levels);
  const isSpeech = levels.map((db) => db > threshold);
  const first = isSpeech.indexOf(true);
  if (first < 0) return { samples: new Int16Array(0), speechMs: 0, audible: [] };
  const last = isSpeech.lastIndexOf(true);
  const kept: number[] = [];
  let silentRun: number[] = [];
  for (let f = Math.max(0, first - EDGE_FRAMES); f <= Math.min(levels.length - 1, last + EDGE_FRAMES); f++) {
    if (isSpeech[f]) {
      kept.push(...shortenPause(silentRun), f);
      silentRun = [];
    } else silentRun.push(f);
  }
  kept.push(...silentRun.slice(0, EDGE_FRAMES));
  const out = new Int16Array(kept.length * FRAME);
  kept.forEach((f, i) => out.set(samples.subarray(f * FRAME, (f + 1) * FRAME), i * FRAME));
  return { samples: out, speechMs: isSpeech.filter(Boolean).length * 10, audible: kept.map((f) => isSpeech[f]) };
}

/** Keeps the two ends of a pause, so each neighbouring sound keeps its natural fade. */
function shortenPause(frames: number[]): number[] {
  if (frames.length <= KEPT_PAUSE_FRAMES) return frames;
  const half = Math.floor(KEPT_PAUSE_FRAMES / 2);
  return [...frames.slice(0, half), ...frames.slice(frames.length - (KEPT_PAUSE_FRAMES - half))];
}

/** Level of each 10 ms frame in dBFS (digital silence ≈ -120). */
function frameLevels(samples: Int16Array): number[] {
  const levels: number[] = [];
  for (let start = 0; start + FRAME <= samples.length; start += FRAME) {
    let energy = 0;
    for (let i = start; i < start + FRAME; i++) energy += samples[i] * samples[i];
    levels.push(10 * Math.log10(energy / FRAME + 1e-3) - 90.31);
  }
  return levels;
}

function speechThreshold(levels: number[]): number {
  const sorted = [...levels].sort((a, b) => a - b);
  const floor = sorted[Math.floor(sorted.length * 0.1)] ?? -120;
  const loud = sorted[Math.floor(sorted.length * 0.98)] ?? -120;
  // -60 dBFS: quieter than that is not a voice anyone recorded on purpose.
  return Math.max(floor + 12, loud - 40, -60);
}

export function pcmBytes(samples: Int16Array): Buffer {
  const bytes = Buffer.alloc(samples.length * 2);
  writePcm16(bytes, 0, samples);
  return bytes;
}

/**
 * Mono 16-bit samples at `rate` resampled to SAMPLE_RATE: windowed-sinc interpolation, low-passed
 * below the lower of the two Nyquist frequencies (enough for the recognizer, which listens up to
 * 6.8 kHz). Used for espeak-ng's 22.05 kHz output. The output sample n sits at input position
 * n·down/up (the ratio in lowest terms), so its filter is one of `up` precomputed phases.
 */
export function resampleTo16k(samples: Int16Array, rate: number): Int16Array {
  if (rate === SAMPLE_RATE) return samples;
  if (!Number.isInteger(rate) || rate <= 0) throw new Error(`cannot resample from ${rate} Hz`);
  const g = gcd(SAMPLE_RATE, rate);
  const up = SAMPLE_RATE / g;
  const down = rate / g;
  const cutoff = Math.min(1, up / down) * 0.95; // of the input's Nyquist
  const half = 16; // zero crossings of the sinc kept on each side
  const reach = Math.ceil(half / cutoff); // input samples on each side
  const taps = 2 * reach + 1;
  const phases = new Float64Array(up * taps);
  for (let phase = 0; phase < up; phase++) {
    for (let t = 0; t < taps; t++) {
      const x = (t - reach - phase / up) * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const window = Math.abs(x) >= half ? 0 : 0.5 + 0.5 * Math.cos((Math.PI * x) / half);
      phases[phase * taps + t] = sinc * window * cutoff;
    }
  }
  const out = new Int16Array(Math.floor((samples.length * up) / down));
  for (let n = 0; n < out.length; n++) {
    const base = Math.floor((n * down) / up);
    const offset = ((n * down) % up) * taps;
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const k = base + t - reach;
      if (k >= 0 && k < samples.length) sum += samples[k] * phases[offset + t];
    }
    out[n] = Math.max(-32768, Math.min(32767, Math.round(sum)));
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
