// The text-to-speech engine contract. The embedded espeak engine is the first implementation;
// voice clones and remote neural engines are meant to plug in behind the same interface.

import type { WordTiming } from '../../media/srt.js';

/** Everything an engine needs to speak in a particular voice. */
export interface VoiceProfile {
  /** Discriminator so other engines can add their own profile shapes later. */
  engine: 'espeak';
  /** espeak voice id including an optional variant, e.g. 'en-us+f3', 'cmn+f2'. */
  voice: string;
  /** espeak units: pitch 0..100, rate in words per minute (80..450), range 0..100. */
  pitch?: number;
  rate?: number;
  range?: number;
}

export interface PhonemeTiming {
  phoneme: string;
  startMs: number;
  endMs: number;
}

export interface SynthesisResult {
  /** A complete RIFF WAV file, PCM s16le mono. */
  wav: Buffer;
  sampleRate: number;
  /** Derived from the sample count, so it is exact for the audio in `wav`. */
  durationMs: number;
  words: WordTiming[];
  phonemes: PhonemeTiming[];
}

export interface TtsEngine {
  synthesize(text: string, voice: VoiceProfile): Promise<SynthesisResult>;
  close(): Promise<void>;
}

/**
 * The request itself cannot be spoken (unknown voice, nothing speakable in the text, ...).
 * The message is a sentence meant for the end user; callers map this to a 4xx-style error,
 * while any other Error is an internal failure.
 */
export class TtsInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TtsInputError';
  }
}
