/**
 * Consent check: does a recording contain the consent sentence (`authorizeText`) spoken?
 *
 * Method (chosen by measurement: bench/consent.ts, results in bench/RESULTS.md):
 *
 * 1. Energy-based speech detection trims leading/trailing silence and shortens long pauses.
 *    Nothing audible → refused ("no speech was heard").
 * 2. Three decodes of the same audio, in parallel:
 *    - forced alignment against a grammar that accepts exactly the sentence, one phone per
 *      grammar token, so every phone of the sentence gets a time span and an acoustic score;
 *    - the competing readings: the same grammar where, at every position, a negation ("not",
 *      "never", "don't", "refuse", "without", "withdraw", ...) may be inserted or stand in for
 *      the word, at a small probability;
 *    - a free phone loop (any phone sequence): over a span, roughly the best any speech could score.
 * 3. A negation the competing decode chose is scored by its gain: the competing path's acoustic
 *    score minus the forced path's over the same frames (from the word before it to the word
 *    after it). Negations that are said gain 1000-3800 units; ones the decoder makes up in
 *    correct speech at most about 600. A clear gain refuses, a middling one sends to review.
 * 4. Goodness of pronunciation (GOP) of each phone = (forced score − loop score) per frame;
 *    a word's GOP is the mean over its phones, and its shortfall is how far it falls below the
 *    recording's typical (median) word. A word left out, or replaced by a word that sounds
 *    quite different, still gets aligned and falls far below: far → refused naming the word,
 *    somewhat → review naming it. Function words ("of", "I") and words whose pronunciation is
 *    guessed from their spelling get looser limits. Audio too short to hold the sentence cannot
 *    be aligned at all: refused.
 *
 * What this does not catch (measured): a word replaced by one that shares most of its sounds
 * ("close" for "clone", "Martin" for "Morgan", "face" for "voice", "king" for "queen"): its GOP
 * stays within the spread of correct words, which on espeak speech is wide.
 *
 * Alternatives that were measured and rejected:
 * - Free transcription with the general language model and a word-error-rate threshold: on
 *   espeak speech the correct sentence came out as "ah we do the clock on what it you to the
 *   audio" — far too inaccurate to compare.
 * - One grammar "sentence | garbage loop": the phone loop always wins unless penalized, and the
 *   penalty that separates the cases depends on the voice.
 * - Every other phone competing with each phone of the sentence (to catch "close" for "clone"):
 *   with the beams the scores need, one decode of a 5 s recording took over 2 minutes.
 * - Word shortfalls scaled by the recording's spread (median absolute deviation): separated no
 *   better than the raw shortfall.
 *
 * Files: recognizer.ts (this: the public API and the three decodes of one check), audio.ts
 * (step 1), pronunciation.ts (sentence → words → pronunciations), grammar.ts (the FSG grammars),
 * pocketsphinx.ts (running pocketsphinx_batch, parsing its output), scoring.ts (steps 3-4, the
 * verdict), types.ts (the result types).
 *
 * pocketsphinx 5prealpha (Debian's) quirks this code works around, each found by experiment:
 * - pocketsphinx_continuous splits the input at pauses and decodes each piece alone, so a
 *   two-sentence recording never matches the grammar; pocketsphinx_batch decodes whole files.
 * - Acoustic scores are normalized per frame by the best senone *computed*, which depends on the
 *   grammar and beams; `-compallsen yes` computes all senones so scores from the two decodes
 *   share one reference and can be subtracted.
 * - Any silence unit in the grammar (filler words, or an optional SIL word between words) makes
 *   the FSG search fail at random ("Final result does not match the grammar"), hence step 1
 *   removes pauses from the audio instead.
 * - Kleene operators in JSGF grammars break the same way; grammars are written as FSG files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keepSpeech, pcmBytes, readWav16k } from './audio.js';
import { NEGATIONS, competitorGrammar, phoneLoopGrammar } from './grammar.js';
import { GRAMMAR_SEARCH_ARGS, decode, findExecutable, isReadable, type Segment } from './pocketsphinx.js';
import { EspeakEngine } from '../tts/espeak.js';
import { espeakPronunciations, guessPronunciations, lookupPronunciations, parseSentence, similarWords, type LexWord, type SentenceWord, type SimilarWord } from './pronunciation.js';
import { FUNCTION_WORDS, THRESHOLDS, decide } from './scoring.js';
import type { ConsentRecognizer, ConsentResult } from './types.js';

export type { ConsentRecognizer, ConsentResult, ConsentVerdict, HeardNegation, HeardSubstitution, HeardWord } from './types.js';
export { keepSpeech } from './audio.js';
export { COMPETITORS, competitorGrammar } from './grammar.js';
export { parseHypseg, type Segment } from './pocketsphinx.js';
export { guessPronunciations, numberToWords, parseSentence, type SentenceWord } from './pronunciation.js';
export { THRESHOLDS, decide, type Thresholds } from './scoring.js';

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * The language of a consent sentence: any CJK character → 'zh' (a name written in Chinese
 * characters cannot be checked by an English recognizer either), else Latin letters → 'en'.
 */
export function detectLanguage(text: string): 'en' | 'zh' | 'other' {
  if (/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(text)) return 'zh';
  if (/[a-z]/i.test(text)) return 'en';
  return 'other';
}

/** Stands in when pocketsphinx is not installed: every consent goes to an operator. */
export class NoRecognizer implements ConsentRecognizer {
  readonly available = false;

  async check(_wav16k: string, _authorizeText: string): Promise<ConsentResult> {
    return {
      verdict: 'unavailable',
      reason:
        'No speech recognizer is installed on this server, so an operator must review the recording ' +
        '(to check consent recordings automatically, install pocketsphinx: apt-get install pocketsphinx pocketsphinx-en-us).',
    };
  }
}

/** Less audible sound than this is "no speech". */
const MIN_SPEECH_MS = 300;
/** A consent sentence takes seconds; minutes of speech are something else and would only cost CPU. */
const MAX_SPEECH_MS = 120_000;

/**
 * Words offered in place of each word that carries meaning: the `cap` dictionary words nearest
 * to it within `maxDistance` (weighted phone edits, see phoneCost in pronunciation.ts).
 */
export const SIMILAR = { maxDistance: 1.5, cap: 60 };

const DEFAULT_BINARY = 'pocketsphinx_batch';
const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

// ---------------------------------------------------------------------------------------------
// The recognizer: three pocketsphinx decodes (grammar.ts, pocketsphinx.ts) scored by scoring.ts

interface ModelPaths {
  hmm: string;
  dict: string;
  /** General language model, used only to tell the user what was heard. */
  lm: string | null;
}

export class PocketsphinxRecognizer implements ConsentRecognizer {
  readonly available = true;

  private constructor(
    private readonly binary: string,
    private readonly model: ModelPaths,
  ) {}

  /** Finds pocketsphinx_batch and the en-us model; null when they are not installed. */
  static async locate(opts: { binary?: string; modelDir?: string } = {}): Promise<PocketsphinxRecognizer | null> {
    const binary = await findExecutable(opts.binary ?? DEFAULT_BINARY);
    const modelDir = opts.modelDir ?? DEFAULT_MODEL_DIR;
    const hmm = path.join(modelDir, 'en-us');
    const dict = path.join(modelDir, 'cmudict-en-us.dict');
    const lm = path.join(modelDir, 'en-us.lm.bin');
    if (!binary || !(await isReadable(path.join(hmm, 'mdef'))) || !(await isReadable(dict))) return null;
    return new PocketsphinxRecognizer(binary, { hmm, dict, lm: (await isReadable(lm)) ? lm : null });
  }

  async check(wav16k: string, authorizeText: string): Promise<ConsentResult> {
    const language = detectLanguage(authorizeText);
    if (language !== 'en') return unavailableFor(language);
    const words = await this.lexicon(parseSentence(authorizeText));
    if (words.length === 0) return refused('The consent sentence contains no words that can be spoken.');

    const speech = keepSpeech(await readWav16k(wav16k));
    if (speech.speechMs < MIN_SPEECH_MS) return refused('No speech was heard in the recording; record the person saying the consent sentence aloud.');
    if (speech.speechMs > MAX_SPEECH_MS) return refused('The recording is too long: it should contain just the person saying the consent sentence.');

    const dir = await mkdtemp(path.join(tmpdir(), 'dhp-consent-'));
    try {
      return await this.compare(dir, words, speech.samples);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Steps 2-4 of the file comment, in scratch directory `dir`. */
  private async compare(dir: string, words: LexWord[], samples: Int16Array): Promise<ConsentResult> {
    await writeFile(path.join(dir, 'audio.raw'), pcmBytes(samples));
    const similar = await this.similar(words);
    const [forced, forcedWords, competing, loop] = await Promise.all([
      this.align(dir, 'sentence', words, new Map(), [], false),
      this.align(dir, 'words', words, new Map(), [], true),
      this.align(dir, 'competing', words, await this.negations(), similar, true),
      this.phoneLoop(dir),
    ]);
    return decide(words, forced, competing, loop, THRESHOLDS, similar, forcedWords);
  }

  /**
   * Attaches pronunciations: the CMU dictionary's, else guesses: espeak-ng's readings (American
   * and British) and the spelling rules' (guessPronunciations).
   */
  private async lexicon(words: SentenceWord[]): Promise<LexWord[]> {
    const known = await lookupPronunciations(this.model.dict, new Set(words.map((w) => w.text)));
    const missing = [...new Set(words.map((w) => w.text).filter((w) => !known.has(w)))];
    const read = missing.length > 0 ? await readAloud(missing) : new Map<string, string[]>();
    return words.map((w) => {
      const prons = known.get(w.text);
      return prons ? { ...w, prons, guessed: false } : { ...w, prons: [...new Set([...(read.get(w.text) ?? []), ...guessPronunciations(w.text)])], guessed: true };
    }).filter((w) => w.prons.length > 0);
  }

  /**
   * For each word that carries meaning (not a function word, or part of the name), the
   * dictionary words that sound most like it (SIMILAR); none for the others.
   */
  private async similar(words: LexWord[]): Promise<SimilarWord[][]> {
    const checked = words.map((w) => w.isName || !FUNCTION_WORDS.has(w.text));
    const found = await similarWords(this.model.dict, words.filter((_, i) => checked[i]), SIMILAR);
    let k = 0;
    return words.map((_, i) => (checked[i] ? found[k++] : []));
  }

  /** Decodes against the sentence, with `negations` and `similar` words competing with it (see competitorGrammar). */
  private async align(dir: string, name: string, words: LexWord[], negations: Map<string, string[]>, similar: SimilarWord[][], wholeWords: boolean): Promise<Segment[] | null> {
    const grammar = competitorGrammar(words, negations, similar, { wholeWords });
    await writeFile(path.join(dir, `${name}.dict`), grammar.dict);
    await writeFile(path.join(dir, `${name}.fsg`), grammar.fsg);
    const segments = await decode(this.binary, this.model.hmm, dir, 'audio', name, ['-fsg', path.join(dir, `${name}.fsg`), '-dict', path.join(dir, `${name}.dict`), ...GRAMMAR_SEARCH_ARGS, '-lw', '1', '-wip', '1', '-pip', '1']);
    // An empty result means the search found no path through the whole sentence.
    return segments.length > 0 ? segments : null;
  }

  private negationProns: Map<string, string[]> | null = null;

  private async negations(): Promise<Map<string, string[]>> {
    this.negationProns ??= await lookupPronunciations(this.model.dict, new Set(NEGATIONS));
    return this.negationProns;
  }

  private async phoneLoop(dir: string): Promise<Segment[]> {
    const grammar = phoneLoopGrammar();
    await writeFile(path.join(dir, 'loop.dict'), grammar.dict);
    await writeFile(path.join(dir, 'loop.fsg'), grammar.fsg);
    // A low language weight lets the loop follow the acoustics instead of preferring few, long phones.
    return decode(this.binary, this.model.hmm, dir, 'audio', 'loop', ['-fsg', path.join(dir, 'loop.fsg'), '-dict', path.join(dir, 'loop.dict'), ...GRAMMAR_SEARCH_ARGS, '-lw', '1', '-wip', '1', '-pip', '1']);
  }

}

/** espeak-ng's readings of `words` (a one-thread engine for this check, closed after). */
async function readAloud(words: string[]): Promise<Map<string, string[]>> {
  const engine = new EspeakEngine({ threads: 1 });
  try {
    return await espeakPronunciations(engine, words);
  } finally {
    await engine.close();
  }
}

function refused(reason: string): ConsentResult {
  return { verdict: 'refused', reason };
}

function unavailableFor(language: 'zh' | 'other'): ConsentResult {
  const which = language === 'zh' ? 'Mandarin' : 'this language';
  return { verdict: 'unavailable', reason: `No speech recognizer for ${which} is installed; an operator must review the recording.` };
}
