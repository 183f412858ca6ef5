// Public types of the consent check (the method is described in recognizer.ts).

export type ConsentVerdict = 'verified' | 'review' | 'refused' | 'unavailable';

export interface ConsentResult {
  verdict: ConsentVerdict;
  /** A sentence for the end user. */
  reason: string;
  /** What was heard: the sentence when verified, a free transcription (when one could be made) otherwise. */
  transcript?: string;
  /**
   * Mean goodness of pronunciation of the sentence: per-frame log-likelihood ratio of the
   * sentence against unconstrained phones, in pocketsphinx score units (about 0.1 nat).
   * 0 is as good as it gets; verification needs at least THRESHOLDS.sentenceMinGop (scoring.ts).
   */
  score?: number;
  /** Word by word, how the sentence was heard (when the recording could be aligned with it). */
  words?: HeardWord[];
  /** Words not heard at all or far too unclear: the reason of a refusal. */
  notHeard?: string[];
  /** Words heard, but not clearly enough to decide: the reason of a review. */
  uncertain?: string[];
  /** Negations that competed with the sentence (a review or refusal says which). */
  negations?: HeardNegation[];
  /** Words that sound like a word of the sentence and competed with it (a review or refusal says which). */
  substitutions?: HeardSubstitution[];
}

export interface ConsentRecognizer {
  /** `wav16k` is a 16 kHz mono 16-bit WAV file path (the caller converts media with ffmpeg). */
  check(wav16k: string, authorizeText: string): Promise<ConsentResult>;
  readonly available: boolean;
}

/** How one word of the sentence was heard. */
export interface HeardWord {
  written: string;
  /** Goodness of pronunciation (see ConsentResult.score); absent when the word was not heard at all. */
  gop: number;
  /** How far the word falls below the recording's typical word (GOP units). */
  shortfall: number;
  /** The same word's shortfall on espeak-ng renderings of the written sentence (the largest): the check judges `shortfall − reference`. */
  reference?: number;
  /**
   * For a word that carries meaning, when references were made: its length over the quickest
   * reference's (scaled to the recording's pace). Far below 1, the alignment squeezed the word
   * into time where something shorter was said.
   */
  pace?: number;
}

/** A negation the competing decode heard, and how much better the audio fits with it. */
export interface HeardNegation {
  said: string;
  /** The sentence word after it (after the words it replaced, if any); null at the end. */
  before: string | null;
  /**
   * The sentence words it was heard in place of ("won't" where the sentence says "avatar"), when
   * it replaced any rather than coming between two of them.
   */
  instead?: string[];
  /** Acoustic score of the competing reading minus the sentence's over the same span (pocketsphinx units). */
  gain: number;
  /**
   * The same reading's gain on espeak-ng renderings of the written sentence (the largest), when
   * they were made: the check judges `gain − reference` (scoring.ts, excess).
   */
  reference?: number;
  /**
   * When references were made: how many frames (10 ms) the sentence words on either side of it
   * last longer than the references say them, up to the negation's own length: time the sentence
   * does not account for.
   */
  extraFrames?: number;
}

/** A word that sounds like a word of the sentence, which the competing decode heard in its place. */
export interface HeardSubstitution {
  said: string;
  /** The sentence word it replaced. */
  instead: string;
  /** Frames (10 ms) the gain is measured over. */
  frames: number;
  /** Acoustic score of the competing reading minus the sentence's over the same span (pocketsphinx units). */
  gain: number;
  /**
   * The same reading's gain on espeak-ng renderings of the written sentence (the largest), when
   * they were made: the check judges `gain − reference` (scoring.ts, excess).
   */
  reference?: number;
}
