/**
 * Consent check: does a recording contain the consent sentence (`authorizeText`) spoken?
 *
 * Method (chosen by measurement: bench/consent.ts, results in bench/RESULTS.md):
 *
 * 1. Energy-based speech detection trims leading/trailing silence and shortens long pauses.
 *    Nothing audible → refused ("no speech was heard").
 * 2. Pronunciations: the CMU dictionary's; for a word missing from it, espeak-ng's American and
 *    British readings plus, for a name, up to six letter-to-sound readings and a pinyin one; for
 *    another word (a company: "guiji"), only the first of those (the pinyin one when it is pinyin).
 *    For every word that carries meaning (not a function word, or part of the name), up to 60
 *    dictionary words that sound close to it (weighted phone edit distance ≤ 1.5, vowel for vowel
 *    and voiced for unvoiced cheaper; not its homophones, not words differing only in vowels).
 * 3. Five decodes of the same audio, in parallel:
 *    - forced alignment against a grammar that accepts exactly the sentence, one phone per
 *      grammar token, so every phone of the sentence gets a time span and an acoustic score;
 *    - the same forced alignment with whole words as tokens (see below why);
 *    - negations competing: the one-phone sentence where, at every position, a negation ("not",
 *      "never", "don't", "refuse", "without", "withdraw", ...) may be inserted or stand in for
 *      the word, at a small probability;
 *    - close words competing: the whole-word sentence where each word that carries meaning may
 *      be replaced by one of its close words, at a small probability;
 *    - a free phone loop (any phone sequence): over a span, roughly the best any speech could score.
 * 4. A negation or close word a competing decode chose is scored by its gain: the competing
 *    path's acoustic score minus the forced path's of the same form (one-phone for negations,
 *    whole-word for close words) over the same frames, from the word before it to the word after
 *    it. Negations that are said gain 1000-3800 units; ones the decoder makes up in correct speech
 *    at most about 600. A clear gain refuses, a middling one sends to review, and the reason names
 *    what was heard: "'voice' was not heard ...: it says 'face' where the sentence says 'voice'".
 *    Close words: of the 10 real recordings against their own transcripts one has a close word
 *    chosen at all (gain 301), while real substitutions gain 755-3380; on espeak speech the
 *    spoken substitute gains 580-1970, and some close word beats the written one on correct
 *    sentences by 200-1530 (step 6 tells those apart).
 * 5. Goodness of pronunciation (GOP) of each phone = (forced score − loop score) per frame;
 *    a word's GOP is the mean over its phones, and its shortfall is how far it falls below the
 *    recording's typical (median) word. A word left out, or replaced by a word that sounds
 *    quite different, still gets aligned and falls far below: far → refused naming the word,
 *    somewhat → review naming it. Function words ("of", "I") and words whose pronunciation is
 *    guessed from their spelling get looser limits. Audio too short to hold the sentence cannot
 *    be aligned at all: refused.
 * 6. References, for every recording that holds the sentence: espeak-ng speaks the written
 *    sentence in six voices (REFERENCE_VOICES: US, British and RP English, low and high), and each
 *    rendering is decoded as the recording was: aligned with the sentence and the phone loop (its
 *    words' shortfalls), and aligned with exactly the competing readings the recording's decodes
 *    chose (pathGrammar). A reading's gain, or a word's shortfall, counts only beyond the largest
 *    the same reading or word shows on a reference (never below zero): that much is what the
 *    acoustic model hears in any synthetic voice saying the sentence right ('dain' for "Jane",
 *    'moyse' for "voice", the "I" after a sentence's pause), not what was said. Measured over 13
 *    espeak voices: correct sentences not verified 21/26 → 4-5/26 (1/26 with step 7's changes).
 *    Renderings are kept for the last 8 sentences (a person records again after a refusal).
 * 7. Time, from the same references (each rendering's word lengths scaled to the recording's
 *    total, scoring.ts): where the acoustic model cannot tell two readings apart by sound, the
 *    time the words take still can.
 *    - A negation the competing decode chose counts when the sentence words around it (one word
 *      wider on each side, since the alignment shifts time across a pause) last longer than on
 *      every reference, by ten audible frames or more (extraFrames): the time a negation said
 *      takes. On correct speech a made-up negation gets at most 9 frames (0 on real speech);
 *      said negations a median 21, including ones the acoustic model barely hears (en-us+m7
 *      "do not", gain 170: 20 frames; "No, I consent" between two sentences: 31). Real speech
 *      lengthens words far more freely (up to 36 frames beyond every reference), so time alone,
 *      without a negation chosen in it, proves nothing.
 *    - A word that carries meaning said in under 0.6 of the time the quickest reference takes
 *      (pace) was squeezed in by the alignment where something shorter was said: review. On
 *      correct speech the lowest pace measured is 0.66 (real "five") and 0.77 (espeak); "Adam"
 *      aligned as "Alex" takes 0.48-0.59, a word left out 0.42-0.59.
 *    - A word that carries meaning both faint (30 below the typical word beyond its references,
 *      where alone 45 is needed) and quick (under 0.78 of the quickest reference's time): review.
 *      Correct espeak and real speech show one or the other, never both (faint words at most 9
 *      when under 0.9 of the time); Flite voices, never tuned on, come closer (42 at 0.84, 26 at
 *      0.80); a word left out that the alignment gives a sliver of its neighbours shows both ("I
 *      to clone my voice" in en-us+f2: 44 below, 0.73 of the time, verified before).

 * Why whole words for close words: pocketsphinx gives a one-phone grammar token no triphone
 * context, so a sentence of one-phone tokens scores about 10% worse than the same sentence as
 * words (-33001 against -29950 on one espeak recording). Measured against the one-phone
 * alignment, any whole-word competitor "won" by 600-3000 on correct speech. (Negations were
 * tuned against the one-phone alignment and keep it; measured in one whole-word decode with
 * the close words, said negations gained from -244 to 1500, no better than made-up ones.)
 *
 * What this does not catch, or catches at a cost (measured, bench/RESULTS.md):
 * - A substitute outside the close words: "miserable" for "amiable" on real speech (too far in
 *   phones to be offered, too close for the GOP). A word that differs only in its vowels ("king"
 *   for "kong") is left to the GOP: vowels vary with accent (a British "audio" fits "audia"
 *   better than the dictionary's American "audio").
 * - Where a synthetic voice says another word the way it says the written one and in about the
 *   same time, the references explain the gain away: British espeak "Alex Martin" for "Alex
 *   Morgan" comes close (bench/RESULTS.md). The same references are what lets correct synthetic
 *   speech be verified at all.
 * - A short word left out of a short recording ("five six five" read as "five five").
 *
 * Alternatives that were measured and rejected:
 * - Free transcription with the general language model and a word-error-rate threshold: on
 *   espeak speech the correct sentence came out as "ah we do the clock on what it you to the
 *   audio" — far too inaccurate to compare.
 * - One grammar "sentence | garbage loop": the phone loop always wins unless penalized, and the
 *   penalty that separates the cases depends on the voice.
 * - Every other phone competing with each phone of the sentence (to catch "close" for "clone"):
 *   with the beams the scores need, one decode of a 5 s recording took over 2 minutes.
 * - Adding espeak-ng's American and British readings to every dictionary word (to stop accent
 *   variants from losing to close words): espeak correct sentences sent to review fell from
 *   20/26 to 13/26, but 3/13 "Martin" for "Morgan" and 2/39 other substitutions were verified,
 *   and real speech lost "man" for "woman"; British readings alone: 16/26, 2/13, 1/39.
 * - Word shortfalls scaled by the recording's spread (median absolute deviation): separated no
 *   better than the raw shortfall.
 * - Only common words as close words (rank in the en-us language model's unigrams): correct
 *   espeak sentences not verified stayed 20/26 (the next close word fits instead: 'attics' for
 *   'addicks', and common ones already win: 'gain go' for "Jane Doe"), while real speech
 *   "ashford", espeak "Adam Morgan" and "video", caught before only through obscure close words,
 *   were verified (bench/RESULTS.md).
 *
 * Files: recognizer.ts (this: the public API and the five decodes of one check), audio.ts
 * (step 1), pronunciation.ts (step 2: sentence → words → pronunciations, close words),
 * grammar.ts (the FSG grammars), pocketsphinx.ts (running pocketsphinx_batch, parsing its output),
 * scoring.ts (steps 4-5 and 7, the verdict), types.ts (the result types).
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
import { findExecutable } from '../../process/run-tool.js';
import type { TtsEngine } from '../tts/engine.js';
import { EspeakEngine } from '../tts/espeak.js';
import { decodeWav } from '../../media/wav.js';
import { SAMPLE_RATE, keepSpeech, pcmBytes, readWav16k, resampleTo16k } from './audio.js';
import { NEGATIONS, competitorGrammar, parsePhoneToken, pathGrammar, phoneLoopGrammar, type Grammar } from './grammar.js';
import { GRAMMAR_SEARCH_ARGS, decode, isReadable, type Segment } from './pocketsphinx.js';
import {
  espeakPronunciations, lookupPronunciations, outOfDictionaryPronunciations, parseSentence, similarWords, spokenForm, type LexWord, type SentenceWord, type SimilarWord,
} from './pronunciation.js';
import { carriesMeaning, decide, needsReferences, type Decodes, type ReferenceDecodes } from './scoring.js';
import type { ConsentRecognizer, ConsentResult } from './types.js';

export type { ConsentRecognizer, ConsentResult, ConsentVerdict, HeardNegation, HeardSubstitution, HeardWord } from './types.js';
export { keepSpeech } from './audio.js';
export { COMPETITORS, competitorGrammar } from './grammar.js';
export { parseHypseg, type Segment } from './pocketsphinx.js';
export { guessPronunciations, numberToWords, outOfDictionaryPronunciations, parseSentence, spokenForm, type SentenceWord } from './pronunciation.js';
export { THRESHOLDS, decide, type Decodes, type Thresholds } from './scoring.js';

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
    /** espeak-ng: names' pronunciations and the reference renderings. */
    private readonly speech: TtsEngine,
  ) {}

  /** Finds pocketsphinx_batch and the en-us model; null when they are not installed. */
  static async locate(opts: { binary?: string; modelDir?: string; speech?: TtsEngine } = {}): Promise<PocketsphinxRecognizer | null> {
    const binary = await findExecutable(opts.binary ?? DEFAULT_BINARY);
    const modelDir = opts.modelDir ?? DEFAULT_MODEL_DIR;
    const hmm = path.join(modelDir, 'en-us');
    const dict = path.join(modelDir, 'cmudict-en-us.dict');
    const lm = path.join(modelDir, 'en-us.lm.bin');
    if (!binary || !(await isReadable(path.join(hmm, 'mdef'))) || !(await isReadable(dict))) return null;
    // An engine of its own by default: its thread starts on first use and does not keep the process alive when idle.
    return new PocketsphinxRecognizer(binary, { hmm, dict, lm: (await isReadable(lm)) ? lm : null }, opts.speech ?? new EspeakEngine({ threads: 1 }));
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
      return await this.compare(dir, authorizeText, words, speech.samples, speech.audible);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Steps 3-5 of the file comment, in scratch directory `dir`. */
  private async compare(dir: string, text: string, words: LexWord[], samples: Int16Array, audible: boolean[]): Promise<ConsentResult> {
    await writeFile(path.join(dir, 'audio.raw'), pcmBytes(samples));
    const similar = await this.similar(words);
    const [forced, forcedWords, negating, substituting, loop] = await Promise.all([
      this.align(dir, 'audio', 'sentence', words, new Map(), [], false),
      this.align(dir, 'audio', 'words', words, new Map(), [], true),
      this.align(dir, 'audio', 'negating', words, await this.negations(), [], false),
      this.align(dir, 'audio', 'substituting', words, new Map(), similar, true),
      this.phoneLoop(dir, 'audio'),
    ]);
    const decodes: Decodes = { forced, forcedWords, negating, substituting, loop, audible };
    // A recording that does not hold the sentence at all needs no references (scoring.ts, needsReferences).
    const first = decide(words, decodes, similar);
    if (!needsReferences(first)) return first;
    // A sentence far longer than the recording (at six words a second) cannot be in it; its renderings would only cost time.
    if (words.length > (samples.length / SAMPLE_RATE) * 6) return first;
    try {
      decodes.references = await this.references(dir, text, words, decodes, similar, samples.length);
    } catch {
      // Without references a verdict that is not verified stands; a verified one goes to an
      // operator, since what only references show (a negation's time, a word's pace) is unknown.
      if (first.verdict !== 'verified') return first;
      const { transcript: _, ...details } = first;
      return { ...details, verdict: 'review', uncertain: [], reason: 'An operator must review the recording: the check could not compare it with spoken references of the sentence.' };
    }
    return decide(words, decodes, similar);
  }

  /**
   * The written sentence spoken by each of REFERENCE_VOICES, decoded as the recording was: aligned
   * with the sentence, with the free phone loop, and with the competing readings the recording's
   * decodes chose, forced (pathGrammar). A word that falls as far below the typical word in these
   * renderings, or a reading that fits them as well as it fits the recording, says something about
   * the acoustic model and synthetic voices, not about what was said.
   */
  private async references(dir: string, text: string, words: LexWord[], decodes: Decodes, similar: SimilarWord[][], recordingSamples: number): Promise<ReferenceDecodes[]> {
    const negations = await this.negations();
    // Only readings with a competitor in them need forcing.
    const chosen = (segments: Segment[] | null) => (segments && segments.some((s) => !parsePhoneToken(s.word)) ? segments.map((s) => s.word) : null);
    const negating = chosen(decodes.negating);
    const substituting = chosen(decodes.substituting);
    const out: ReferenceDecodes[] = [];
    for (const [k, samples] of (await this.render(spokenForm(text))).entries()) {
      // A rendering of another length than the recording is not the same sentence spoken alike.
      const ratio = samples.length / recordingSamples;
      if (ratio < 0.5 || ratio > 2) continue;
      const audio = `reference${k}`;
      await writeFile(path.join(dir, `${audio}.raw`), pcmBytes(samples));
      const force = (name: string, tokens: string[] | null, wholeWords: boolean) =>
        (tokens ? this.decodeGrammar(dir, audio, `${audio}-${name}`, pathGrammar(words, tokens, negations, similar, { wholeWords })) : null);
      const [forced, forcedWords, loop, negatingPath, substitutingPath] = await Promise.all([
        this.align(dir, audio, `${audio}-sentence`, words, new Map(), [], false),
        substituting ? this.align(dir, audio, `${audio}-words`, words, new Map(), [], true) : null,
        this.phoneLoop(dir, audio),
        force('negating', negating, false),
        force('substituting', substituting, true),
      ]);
      out.push({ forced, forcedWords, loop, negating: negatingPath, substituting: substitutingPath });
    }
    return out;
  }

  /** The last few sentences' reference renderings (a person records again after a refusal). */
  private readonly rendered = new Map<string, Promise<Int16Array[]>>();

  /** `text` spoken by each of REFERENCE_VOICES, as 16 kHz samples with the pauses shortened (keepSpeech), like a recording. */
  private render(text: string): Promise<Int16Array[]> {
    let renderings = this.rendered.get(text);
    if (!renderings) {
      renderings = (async () => {
        const out: Int16Array[] = [];
        for (const voice of REFERENCE_VOICES) {
          const { wav } = await this.speech.synthesize(text, { engine: 'espeak', voice });
          const decoded = decodeWav(wav);
          out.push(keepSpeech(resampleTo16k(decoded.samples, decoded.sampleRate)).samples);
        }
        return out;
      })();
      renderings.catch(() => { if (this.rendered.get(text) === renderings) this.rendered.delete(text); });
      this.rendered.set(text, renderings);
      if (this.rendered.size > 8) this.rendered.delete(this.rendered.keys().next().value!);
    }
    return renderings;
  }

  /**
   * Attaches pronunciations: the CMU dictionary's, else guesses: espeak-ng's readings (American
   * and British) and the spelling rules' (outOfDictionaryPronunciations: all of them for a name).
   */
  private async lexicon(words: SentenceWord[]): Promise<LexWord[]> {
    const known = await lookupPronunciations(this.model.dict, new Set(words.map((w) => w.text)));
    const missing = [...new Set(words.map((w) => w.text).filter((w) => !known.has(w)))];
    const read = missing.length > 0 ? await espeakPronunciations(this.speech, missing) : new Map<string, string[]>();
    return words.map((w) => {
      const prons = known.get(w.text);
      return prons ? { ...w, prons, guessed: false } : { ...w, prons: outOfDictionaryPronunciations(w, read.get(w.text) ?? []), guessed: true };
    }).filter((w) => w.prons.length > 0);
  }

  /**
   * For each word that carries meaning (not a function word, or part of the name), the
   * dictionary words that sound most like it (SIMILAR); none for the others.
   */
  private async similar(words: LexWord[]): Promise<SimilarWord[][]> {
    const checked = words.map(carriesMeaning);
    const found = await similarWords(this.model.dict, words.filter((_, i) => checked[i]), SIMILAR);
    let k = 0;
    return words.map((_, i) => (checked[i] ? found[k++] : []));
  }

  /** Decodes against the sentence, with `negations` and `similar` words competing with it (see competitorGrammar). */
  private align(dir: string, audio: string, name: string, words: LexWord[], negations: Map<string, string[]>, similar: SimilarWord[][], wholeWords: boolean): Promise<Segment[] | null> {
    return this.decodeGrammar(dir, audio, name, competitorGrammar(words, negations, similar, { wholeWords }));
  }

  /** Decodes `dir`/`audio`.raw against `grammar`; null when the search found no path through it. */
  private async decodeGrammar(dir: string, audio: string, name: string, grammar: Grammar): Promise<Segment[] | null> {
    await writeFile(path.join(dir, `${name}.dict`), grammar.dict);
    await writeFile(path.join(dir, `${name}.fsg`), grammar.fsg);
    const segments = await decode(this.binary, this.model.hmm, dir, audio, name, ['-fsg', path.join(dir, `${name}.fsg`), '-dict', path.join(dir, `${name}.dict`), ...GRAMMAR_SEARCH_ARGS, '-lw', '1', '-wip', '1', '-pip', '1']);
    return segments.length > 0 ? segments : null;
  }

  private negationProns: Map<string, string[]> | null = null;

  private async negations(): Promise<Map<string, string[]>> {
    if (!this.negationProns) {
      // Phrases ("do not") are their words' pronunciations in sequence.
      const known = await lookupPronunciations(this.model.dict, new Set(NEGATIONS.flatMap((n) => n.split(' '))));
      this.negationProns = new Map(NEGATIONS.map((n) => [n, n.split(' ').reduce<string[]>(
        (prons, word) => prons.flatMap((p) => (known.get(word) ?? []).slice(0, 2).map((q) => (p ? `${p} ${q}` : q))), [''],
      )]));
    }
    return this.negationProns;
  }

  private async phoneLoop(dir: string, audio: string): Promise<Segment[]> {
    // Empty only when the audio holds no frame at all.
    return (await this.decodeGrammar(dir, audio, `${audio}-loop`, phoneLoopGrammar())) ?? [];
  }

}

/**
 * espeak-ng voices that speak the written sentence as references for a recording's competing
 * readings (recognizer.ts, references): US English, British English and Received Pronunciation
 * (the accent of the platform's British public voices, src/services/catalog.ts), low and high
 * pitched. Without the last two, the platform's own British voices saying the sentence right went
 * to review 16 times in 20 ('clim' and 'glen' for an RP "clone"; bench/RESULTS.md).
 */
export const REFERENCE_VOICES: readonly string[] = ['en-us', 'en-us+f3', 'en', 'en+f4', 'en-gb-x-rp', 'en-gb-x-rp+f2'];

function refused(reason: string): ConsentResult {
  return { verdict: 'refused', reason };
}

function unavailableFor(language: 'zh' | 'other'): ConsentResult {
  const which = language === 'zh' ? 'Mandarin' : 'this language';
  return { verdict: 'unavailable', reason: `No speech recognizer for ${which} is installed; an operator must review the recording.` };
}
