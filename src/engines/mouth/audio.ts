// Mouth movement from the sound of speech, for audio that comes without phoneme timings (an
// uploaded audioUrl): how open the mouth is from loudness, and how spread from the share of high
// frequencies. The one place audio is analysed for mouths: the 2D avatars pick visemes from the
// openness, the embedded lip-sync uses both values as its target.
import { readFile } from 'node:fs/promises';
import { decodeWav } from '../../media/wav.js';
import type { MouthTarget } from './target.js';
import { frameCount } from './visemes.js';

/** A WAV file's speech as mono samples (any channel count). */
export async function readMonoWav(file: string): Promise<{ samples: Int16Array; sampleRate: number }> {
  const wav = decodeWav(await readFile(file));
  return { samples: toMono(wav.samples, wav.channels), sampleRate: wav.sampleRate };
}

/** Per output frame of a WAV file's speech: how open and how spread. */
export async function mouthFromWavFile(file: string, fps: number): Promise<MouthTarget[]> {
  const { samples, sampleRate } = await readMonoWav(file);
  return mouthFromAudio(samples, sampleRate, fps);
}

/** Per output frame of a WAV file's speech: how open only (what the 2D avatars' visemes need). */
export async function opennessFromWavFile(file: string, fps: number): Promise<number[]> {
  const { samples, sampleRate } = await readMonoWav(file);
  return energyTrack(samples, sampleRate, fps);
}

/**
 * Per output frame, from mono samples: loudness opens the mouth (the energy track), and
 * the share of high frequencies spreads it (s, ee and f are hissy and spread; o and u are dark
 * and rounded).
 */
export function mouthFromAudio(samples: Int16Array, sampleRate: number, fps: number): MouthTarget[] {
  const open = energyTrack(samples, sampleRate, fps);
  const hop = sampleRate / fps;
  return open.map((o, f) => {
    const from = Math.floor(f * hop), to = Math.min(samples.length, Math.floor((f + 1) * hop));
    let energy = 0, diff = 0;
    for (let i = from + 1; i < to; i++) {
      energy += samples[i] * samples[i];
      const d = samples[i] - samples[i - 1];
      diff += d * d;
    }
    // diff/energy is about (2 sin(pi fc / fs))^2 for a tone at fc: 0.2 ~ 640 Hz at 44.1 kHz (dark), 2 ~ 4.5 kHz (hiss).
    const ratio = energy > 0 ? diff / energy : 0;
    const spread = o === 0 ? 0 : Math.max(-1, Math.min(1, Math.log10(Math.max(1e-3, ratio) / 0.5) * 1.5));
    return { open: o, spread };
  });
}

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

/** Averages interleaved channels; loudness is all the energy track needs. */
function toMono(samples: Int16Array, channels: number): Int16Array {
  if (channels === 1) return samples;
  const mono = new Int16Array(samples.length / channels);
  for (let i = 0; i < mono.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[i * channels + c];
    mono[i] = Math.round(sum / channels);
  }
  return mono;
}
