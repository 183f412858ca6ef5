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
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { median } from '../../domain/stats.js';
import { decodeWav, writePcm16 } from '../../media/wav.js';

// ---------------------------------------------------------------------------------------------
// Public API

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
   * 0 is as good as it gets; verification needs at least SENTENCE_MIN_GOP.
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
}

export interface ConsentRecognizer {
  /** `wav16k` is a 16 kHz mono 16-bit WAV file path (the caller converts media with ffmpeg). */
  check(wav16k: string, authorizeText: string): Promise<ConsentResult>;
  readonly available: boolean;
}

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

// ---------------------------------------------------------------------------------------------
// Tuning. GOP units (see ConsentResult.score) for words, acoustic score units for negations;
// measured on the corpus of test/support/consent-corpus.ts (bench/consent.ts). Worst correct → best wrong:
// - whole sentence: -44 → -60 (unrelated sentences of similar length);
// - a content word's shortfall: 47 (espeak en+m3 "Alex") → 45-100 (a different first name or
//   possessive, a word left out); real speech: 23 → 25-62;
// - a negation's gain: about 600 (made up in correct speech) → 1026 (said).

export interface Thresholds {
  sentenceMinGop: number;
  /** A word this far below the recording's typical word is uncertain (review)... */
  review: number;
  /** ...and this far, not heard (refused). */
  refuse: number;
  /** Added to both for function words ("of", "the", "I"). */
  functionOffset: number;
  /** Added to both for words whose pronunciation is guessed from the spelling. */
  guessedOffset: number;
  /** A competing negation that fits the audio better by more than this is uncertain (review)... */
  negationReview: number;
  /** ...and by more than this, heard (refused). */
  negationRefuse: number;
}
export const THRESHOLDS: Thresholds = {
  sentenceMinGop: -50, review: 45, refuse: 75, functionOffset: 15, guessedOffset: 15, negationReview: 650, negationRefuse: 1000,
};

/**
 * Short function words carry little meaning and score noisily (the "I" after a sentence's pause
 * in espeak speech falls 40-57 below the typical word), so they get looser limits; negations are
 * checked separately.
 */
const FUNCTION_WORDS = new Set('a an the i am is are was be been of to for and or in on at by with my your his her he she it we they me us them had have has than then there how much might more still do'.split(' '));

/** Competing readings' probabilities in the sentence grammar (competitorGrammar). */
export const COMPETITORS = { insertion: 1e-10, substitution: 1e-10 };

/** Words that turn consent into its refusal, offered before and in place of every word. */
const NEGATIONS = ['not', 'no', 'never', "don't", 'refuse', 'without', 'withdraw', "won't", 'cannot', "can't", 'deny', 'reject'];
/** Less audible sound than this is "no speech". */
const MIN_SPEECH_MS = 300;
/** A consent sentence takes seconds; minutes of speech are something else and would only cost CPU. */
const MAX_SPEECH_MS = 120_000;
const DECODE_TIMEOUT_MS = 120_000;

const DEFAULT_BINARY = 'pocketsphinx_batch';
const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
const SAMPLE_RATE = 16_000;

/** The en-us acoustic model's phones, minus silence and noise. */
const PHONES = 'AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH'.split(' ');

// ---------------------------------------------------------------------------------------------
// The recognizer

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
    const [forced, competing, loop] = await Promise.all([
      this.align(dir, 'sentence', words, new Map()), this.align(dir, 'competing', words, await this.negations()), this.phoneLoop(dir),
    ]);
    return decide(words, forced, competing, loop);
  }

  /** Attaches pronunciations: the CMU dictionary's, else guesses from the spelling. */
  private async lexicon(words: SentenceWord[]): Promise<LexWord[]> {
    const known = await lookupPronunciations(this.model.dict, new Set(words.map((w) => w.text)));
    return words.map((w) => {
      const prons = known.get(w.text);
      return prons ? { ...w, prons, guessed: false } : { ...w, prons: guessPronunciations(w.text), guessed: true };
    }).filter((w) => w.prons.length > 0);
  }

  /** Decodes against the sentence, with `negations` competing with it (see competitorGrammar). */
  private async align(dir: string, name: string, words: LexWord[], negations: Map<string, string[]>): Promise<Segment[] | null> {
    const grammar = competitorGrammar(words, negations);
    await writeFile(path.join(dir, `${name}.dict`), grammar.dict);
    await writeFile(path.join(dir, `${name}.fsg`), grammar.fsg);
    const segments = await this.decode(dir, 'audio', name, ['-fsg', path.join(dir, `${name}.fsg`), '-dict', path.join(dir, `${name}.dict`), ...GRAMMAR_SEARCH_ARGS, '-lw', '1', '-wip', '1', '-pip', '1']);
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
    return this.decode(dir, 'audio', 'loop', ['-fsg', path.join(dir, 'loop.fsg'), '-dict', path.join(dir, 'loop.dict'), ...GRAMMAR_SEARCH_ARGS, '-lw', '1', '-wip', '1', '-pip', '1']);
  }

  /** Runs pocketsphinx_batch on `dir`/`audio`.raw and returns the segmentation of its best hypothesis. */
  private async decode(dir: string, audio: string, name: string, searchArgs: string[]): Promise<Segment[]> {
    const ctl = path.join(dir, `${name}.ctl`);
    const out = path.join(dir, `${name}.seg`);
    await writeFile(ctl, `${audio}\n`);
    await run(this.binary, [
      '-hmm', this.model.hmm, ...searchArgs,
      '-adcin', 'yes', '-cepdir', dir, '-cepext', '.raw', '-ctl', ctl, '-hypseg', out,
      '-samprate', String(SAMPLE_RATE), '-input_endian', 'little', '-remove_silence', 'no', '-logfn', '/dev/null',
    ], DECODE_TIMEOUT_MS);
    return parseHypseg(await readFile(out, 'utf8'));
  }
}

/**
 * Grammar decodes: score every senone (comparable scores, see the file comment), wide beams
 * because the grammars are tiny, no automatic fillers (silence is cut from the audio instead),
 * and the first-pass result as is (the lattice rescoring is for language models).
 */
const GRAMMAR_SEARCH_ARGS = [
  '-compallsen', 'yes', '-fsgusefiller', 'no', '-bestpath', 'no',
  '-beam', '1e-80', '-pbeam', '1e-80', '-wbeam', '1e-80', '-lpbeam', '1e-80', '-lponlybeam', '1e-80',
];

function refused(reason: string): ConsentResult {
  return { verdict: 'refused', reason };
}

function unavailableFor(language: 'zh' | 'other'): ConsentResult {
  const which = language === 'zh' ? 'Mandarin' : 'this language';
  return { verdict: 'unavailable', reason: `No speech recognizer for ${which} is installed; an operator must review the recording.` };
}

// ---------------------------------------------------------------------------------------------
// Text: sentence → words, and which of them are the person's name

export interface SentenceWord {
  /** Lowercase dictionary form. */
  text: string;
  /** The token as written in the sentence ("Smith", "3rd"), for messages. */
  written: string;
  /** Part of the name the person states; these must each be heard clearly. */
  isName: boolean;
}

interface LexWord extends SentenceWord {
  /** ARPAbet phone strings, e.g. 'S M IH TH'. */
  prons: string[];
  guessed: boolean;
}

/**
 * Lowercase words with digits spelled out. Name words: those after "I am" / "I'm" / "my name is"
 * up to the end of that clause, and capitalized words inside a sentence (other than "I").
 */
export function parseSentence(text: string): SentenceWord[] {
  const words: SentenceWord[] = [];
  for (const sentence of text.split(/(?<=[.!?])\s+|\n+/)) {
    let position = 0;
    for (const clause of sentence.split(/(?<=[,;:])\s+/)) {
      const tokens = clause.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu) ?? [];
      const introducedAt = nameIntroduction(tokens);
      tokens.forEach((token, i) => {
        const isName = (introducedAt >= 0 && i >= introducedAt) || (position > 0 && isCapitalizedName(token));
        for (const word of spellOut(token)) words.push({ text: word, written: token, isName });
        position++;
      });
    }
  }
  return words;
}

/** Index of the first name token after "I am", "I'm" or "my name is" at the start of a clause, or -1. */
function nameIntroduction(tokens: string[]): number {
  const lower = tokens.map((t) => t.toLowerCase().replace('’', "'"));
  if (lower[0] === 'i' && lower[1] === 'am') return 2;
  if (lower[0] === "i'm") return 1;
  if (lower[0] === 'my' && lower[1] === 'name' && lower[2] === 'is') return 3;
  return -1;
}

function isCapitalizedName(token: string): boolean {
  return /^\p{Lu}/u.test(token) && !/^I(['’]|$)/.test(token);
}

/** Normalizes a token into dictionary words: lowercase, no accents ("José" → "jose"), apostrophe unified, numbers as words. */
function spellOut(token: string): string[] {
  const lower = token.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(/’/g, "'");
  if (/^\d+$/.test(lower)) return numberToWords(Number(lower));
  // Mixed letters and digits ("3rd", "mp3"): the digits are spoken separately.
  return lower.split(/(\d+)/).filter(Boolean).flatMap((part) => (/^\d+$/.test(part) ? numberToWords(Number(part)) : [part]));
}

const ONES = 'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen'.split(' ');
const TENS = ' ten twenty thirty forty fifty sixty seventy eighty ninety'.split(' ');

export function numberToWords(n: number): string[] {
  if (!Number.isSafeInteger(n) || n < 0) return [];
  if (n >= 1e9) return String(n).split('').map((d) => ONES[Number(d)]);
  if (n < 20) return [ONES[n]];
  if (n < 100) return n % 10 ? [TENS[Math.floor(n / 10)], ONES[n % 10]] : [TENS[n / 10]];
  if (n < 1000) return [ONES[Math.floor(n / 100)], 'hundred', ...(n % 100 ? numberToWords(n % 100) : [])];
  if (n < 1e6) return [...numberToWords(Math.floor(n / 1000)), 'thousand', ...(n % 1000 ? numberToWords(n % 1000) : [])];
  return [...numberToWords(Math.floor(n / 1e6)), 'million', ...(n % 1e6 ? numberToWords(n % 1e6) : [])];
}

// ---------------------------------------------------------------------------------------------
// Pronunciations

/** Pronunciations of `words` from a CMU-format dictionary: one scan, nothing kept in memory between checks. */
async function lookupPronunciations(dictPath: string, words: Set<string>): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const line of (await readFile(dictPath, 'utf8')).split('\n')) {
    const match = /^(\S+?)(?:\(\d+\))?\s+([^#]+)/.exec(line);
    if (!match || !words.has(match[1])) continue;
    const prons = found.get(match[1]) ?? [];
    prons.push(match[2].trim());
    found.set(match[1], prons);
  }
  return found;
}

/**
 * Pronunciations for a word missing from the dictionary (names, "guiji"): a pinyin reading when
 * the spelling is valid pinyin — the platform's users and brand are Chinese — and an English
 * letter-to-sound guess. The aligner picks whichever fits the audio.
 */
export function guessPronunciations(word: string): string[] {
  const guesses = [pinyinPronunciation(word), englishPronunciation(word)].filter((p): p is string => !!p);
  return [...new Set(guesses)];
}

const PINYIN_INITIALS: Record<string, string> = {
  zh: 'JH', ch: 'CH', sh: 'SH', b: 'B', p: 'P', m: 'M', f: 'F', d: 'D', t: 'T', n: 'N', l: 'L', g: 'G', k: 'K', h: 'HH',
  j: 'JH', q: 'CH', x: 'SH', r: 'R', z: 'Z', c: 'T S', s: 'S', y: 'Y', w: 'W',
};
const PINYIN_FINALS: Record<string, string> = {
  a: 'AA', o: 'AO', e: 'AH', ai: 'AY', ei: 'EY', ao: 'AW', ou: 'OW', an: 'AA N', en: 'AH N', ang: 'AA NG', eng: 'AH NG',
  ong: 'UH NG', er: 'ER', i: 'IY', ia: 'Y AA', ie: 'Y EH', iao: 'Y AW', iu: 'Y OW', ian: 'Y EH N', in: 'IH N', iang: 'Y AA NG',
  ing: 'IH NG', iong: 'Y UH NG', u: 'UW', ua: 'W AA', uo: 'W AO', uai: 'W AY', ui: 'W EY', uan: 'W AA N', un: 'W AH N',
  uang: 'W AA NG', ue: 'Y EH', v: 'Y UW', ve: 'Y EH',
};

/** The word read as a sequence of pinyin syllables, or null when it is not pinyin. */
function pinyinPronunciation(word: string): string | null {
  const syllables = splitPinyin(word);
  return syllables ? syllables.join(' ') : null;
}

/** Splits into syllables, preferring long syllables and backtracking when the rest does not parse. */
function splitPinyin(rest: string): string[] | null {
  if (rest === '') return [];
  for (const [initial, initialPhones] of [...Object.entries(PINYIN_INITIALS), ['', ''] as const]) {
    if (!rest.startsWith(initial)) continue;
    const afterInitial = rest.slice(initial.length);
    for (let len = Math.min(4, afterInitial.length); len >= 1; len--) {
      const final = afterInitial.slice(0, len);
      if (!(final in PINYIN_FINALS)) continue;
      const tail = splitPinyin(afterInitial.slice(len));
      if (tail) return [[initialPhones, pinyinFinal(initial, final)].filter(Boolean).join(' '), ...tail];
    }
  }
  return null;
}

function pinyinFinal(initial: string, final: string): string {
  // "shi", "zi": the vowel after these initials is not an "ee".
  if (final === 'i' && ['zh', 'ch', 'sh', 'r'].includes(initial)) return 'ER';
  if (final === 'i' && ['z', 'c', 's'].includes(initial)) return 'AH';
  // "ju", "qu", "xu", "yu" are spelled u but sound ü.
  if (final.startsWith('u') && ['j', 'q', 'x', 'y'].includes(initial)) return PINYIN_FINALS[final === 'u' ? 'v' : final === 'un' ? 'in' : final];
  // y/w spell the glide already: "yan" is Y + an, "wu" is just UW.
  if (initial === 'w' && final === 'u') return 'UW';
  return PINYIN_FINALS[final];
}

/** Longest-match English spelling rules; crude, but the alignment only needs a close phone sequence. */
const ENGLISH_RULES: Array<[string, string]> = [
  ['tch', 'CH'], ['igh', 'AY'], ['sch', 'SH'], ['ch', 'CH'], ['sh', 'SH'], ['th', 'TH'], ['ph', 'F'], ['ng', 'NG'], ['ck', 'K'],
  ['qu', 'K W'], ['wh', 'W'], ['kn', 'N'], ['ee', 'IY'], ['ea', 'IY'], ['oo', 'UW'], ['ou', 'AW'], ['ow', 'OW'], ['ai', 'EY'],
  ['ay', 'EY'], ['oi', 'OY'], ['oy', 'OY'], ['au', 'AO'], ['aw', 'AO'], ['ie', 'IY'], ['ei', 'EY'], ['ey', 'EY'], ['oa', 'OW'],
  ['a', 'AE'], ['b', 'B'], ['d', 'D'], ['e', 'EH'], ['f', 'F'], ['g', 'G'], ['h', 'HH'], ['i', 'IH'], ['j', 'JH'], ['k', 'K'],
  ['l', 'L'], ['m', 'M'], ['n', 'N'], ['o', 'AA'], ['p', 'P'], ['q', 'K'], ['r', 'R'], ['s', 'S'], ['t', 'T'], ['u', 'AH'],
  ['v', 'V'], ['w', 'W'], ['x', 'K S'], ['z', 'Z'],
];

function englishPronunciation(word: string): string | null {
  // A final silent "e" ("jane") and doubled consonants ("anna") are not pronounced twice.
  let rest = word.replace(/[^a-z]/g, '').replace(/([^aeiou])\1/g, '$1');
  if (rest.length > 2 && /[^aeiou]e$/.test(rest)) rest = rest.slice(0, -1);
  const phones: string[] = [];
  while (rest) {
    const [letters, phone] = englishRule(rest, phones.length === 0);
    phones.push(phone);
    rest = rest.slice(letters.length);
  }
  return phones.length > 0 ? phones.join(' ') : null;
}

/** The spelling rule for the start of `rest`: [letters consumed, phones]. */
function englishRule(rest: string, atStart: boolean): [string, string] {
  if (rest[0] === 'c') return ['c', /^c[eiy]/.test(rest) ? 'S' : 'K'];
  if (rest[0] === 'y') return ['y', atStart ? 'Y' : 'IY'];
  return ENGLISH_RULES.find(([letters]) => rest.startsWith(letters)) ?? [rest[0], 'AH'];
}

// ---------------------------------------------------------------------------------------------
// Grammars (Sphinx FSG format)

interface Grammar {
  dict: string;
  fsg: string;
}

/** Token naming phone k of pronunciation j of word i, so the alignment maps straight back to words. */
function phoneToken(word: number, pron: number, phone: number): string {
  return `w${word}p${pron}k${phone}`;
}

function parsePhoneToken(token: string): { word: number; phone: number } | null {
  const match = /^w(\d+)p\d+k(\d+)$/.exec(token);
  return match ? { word: Number(match[1]), phone: Number(match[2]) } : null;
}

/** Token for pronunciation j of competing word k (a negation), a whole word in one token. */
function negationToken(k: number, pron: number): string {
  return `n${k}p${pron}`;
}

/**
 * The sentence as a chain of states, each word a branch of phone tokens per pronunciation, and
 * at every position the competing readings the recording might contain instead: each negation
 * in place of the word or inserted before it (and after the last word), and the word left out.
 * Their probabilities are penalties: a competitor wins only where the audio fits it better by
 * more than its penalty.
 */
export function competitorGrammar(words: LexWord[], negations: Map<string, string[]>, tune = COMPETITORS): Grammar {
  // Negation tokens are numbered by their place in NEGATIONS, whatever the map's order.
  const dict: string[] = [];
  const transitions: string[] = [];
  const negs = [...negations.keys()].flatMap((w) => (negations.get(w) ?? []).map((pron, j) => ({ token: negationToken(NEGATIONS.indexOf(w), j), pron })));
  for (const n of negs) dict.push(`${n.token} ${n.pron}`);
  let states = 1;
  let wordStart = 0;
  const competitors = (from: number, to: number | null) => {
    for (const n of negs) {
      transitions.push(`TRANSITION ${from} ${from} ${tune.insertion} ${n.token}`);
      if (to !== null) transitions.push(`TRANSITION ${from} ${to} ${tune.substitution} ${n.token}`);
    }
  };
  words.forEach((word, i) => {
    const wordEnd = states++;
    competitors(wordStart, wordEnd);
    word.prons.forEach((pron, j) => {
      const phones = pron.split(/\s+/);
      let from = wordStart;
      phones.forEach((phone, k) => {
        const token = phoneToken(i, j, k);
        dict.push(`${token} ${phone}`);
        const to = k === phones.length - 1 ? wordEnd : states++;
        transitions.push(`TRANSITION ${from} ${to} ${k === 0 ? 1 / word.prons.length : 1} ${token}`);
        from = to;
      });
    });
    wordStart = wordEnd;
  });
  competitors(wordStart, null);
  return { dict: dict.join('\n') + '\n', fsg: fsgFile('sentence', states, wordStart, transitions) };
}

/** Any sequence of phones or silence: the best any speech could score. */
function phoneLoopGrammar(): Grammar {
  const units = [['sil', 'SIL'], ...PHONES.map((p) => [`ph_${p.toLowerCase()}`, p])];
  const p = 1 / units.length;
  const transitions = units.flatMap(([token]) => [`TRANSITION 0 1 ${p} ${token}`, `TRANSITION 1 1 ${p} ${token}`]);
  return { dict: units.map((u) => u.join(' ')).join('\n') + '\n', fsg: fsgFile('loop', 2, 1, transitions) };
}

function fsgFile(name: string, states: number, finalState: number, transitions: string[]): string {
  return [`FSG_BEGIN ${name}`, `NUM_STATES ${states}`, 'START_STATE 0', `FINAL_STATE ${finalState}`, ...transitions, 'FSG_END', ''].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Scoring

export interface Segment {
  word: string;
  startFrame: number;
  frames: number;
  /** Acoustic score of the segment (pocketsphinx units, ≤ 0 relative to the best senone). */
  score: number;
}

/** Parses a -hypseg line: `id S s T t A a L l  sf ascr lscr word  ...  endFrame`. */
export function parseHypseg(text: string): Segment[] {
  const fields = text.trim().split(/\s+/);
  const segments: Segment[] = [];
  for (let i = 9; i + 4 < fields.length; i += 4) {
    const startFrame = Number(fields[i]);
    const word = fields[i + 3];
    // "(NULL)" marks a null transition; it spans no audio.
    if (word === '(NULL)') continue;
    segments.push({ word, startFrame, frames: Number(fields[i + 4]) - startFrame, score: Number(fields[i + 1]) });
  }
  return segments.filter((s) => s.frames > 0);
}

/** How one word of the sentence was heard. */
export interface HeardWord {
  written: string;
  /** Goodness of pronunciation (see ConsentResult.score); absent when the word was not heard at all. */
  gop: number;
  /** How far the word falls below the recording's typical word (GOP units). */
  shortfall: number;
}

/** A negation the competing decode heard, and how much better the audio fits with it. */
export interface HeardNegation {
  said: string;
  /** The sentence word it came before or replaced; null at the end. */
  before: string | null;
  /** Acoustic score of the competing reading minus the sentence's over the same span (pocketsphinx units). */
  gain: number;
}

/** The recording against the sentence: which words were heard, which were unclear, and which negations competed. */
export function decide(words: LexWord[], forced: Segment[] | null, competing: Segment[] | null, loop: Segment[], tune = THRESHOLDS): ConsentResult {
  if (!forced) return { verdict: 'refused', reason: 'The recording does not contain the consent sentence.' };
  const loopPerFrame = perFrameScores(loop);
  const phoneGops: number[][] = words.map(() => []);
  for (const segment of forced) {
    const phone = parsePhoneToken(segment.word);
    if (!phone) continue;
    let reference = 0;
    for (let f = segment.startFrame; f < segment.startFrame + segment.frames; f++) reference += loopPerFrame[f] ?? 0;
    phoneGops[phone.word].push((segment.score - reference) / segment.frames);
  }
  const wordGops = phoneGops.map(mean);
  const typical = median(wordGops);
  const report: HeardWord[] = words.map((w, i) => ({ written: w.written, gop: round(wordGops[i]), shortfall: round(typical - wordGops[i]) }));
  const negations = competingNegations(words, forced, competing ?? []);
  const score = round(mean(phoneGops.flat()));
  const details = { score, words: report, negations };
  const quote = (ws: string[]) => ws.map((w) => `'${w}'`).join(', ');
  const said = (ns: HeardNegation[]) => ns.map((n) => `'${n.said}'${n.before ? ` before '${n.before}'` : ' at the end'}`).join(', ');

  const clearNegations = negations.filter((n) => n.gain > tune.negationRefuse);
  if (clearNegations.length > 0) {
    return { verdict: 'refused', ...details, reason: `The recording says ${said(clearNegations)}, which the consent sentence does not; record the person saying the consent sentence exactly as written.` };
  }
  if (!(score >= tune.sentenceMinGop)) return { verdict: 'refused', ...details, reason: 'The recording does not contain the consent sentence.' };
  const limit = (w: LexWord, band: 'review' | 'refuse') => tune[band] + (FUNCTION_WORDS.has(w.text) && !w.isName ? tune.functionOffset : 0) + (w.guessed ? tune.guessedOffset : 0);
  const notHeard = words.filter((w, i) => report[i].shortfall > limit(w, 'refuse')).map((w) => w.written);
  if (notHeard.length > 0) {
    return { verdict: 'refused', ...details, notHeard, reason: `${capitalize(quote(notHeard))} ${notHeard.length > 1 ? 'were' : 'was'} not heard in the recording; record the person saying the consent sentence clearly, word for word.` };
  }
  const uncertainNegations = negations.filter((n) => n.gain > tune.negationReview);
  const uncertain = words.filter((w, i) => report[i].shortfall > limit(w, 'review')).map((w) => w.written);
  if (uncertain.length > 0 || uncertainNegations.length > 0) {
    const parts = [
      ...(uncertain.length ? [`${quote(uncertain)} could not be heard clearly`] : []),
      ...(uncertainNegations.length ? [`it may say ${said(uncertainNegations)}`] : []),
    ];
    return { verdict: 'review', ...details, uncertain, reason: `An operator must review the recording: ${parts.join('; ')}.` };
  }
  return { verdict: 'verified', ...details, reason: 'The consent sentence was recognized in the recording, word for word.', transcript: words.map((w) => w.text).join(' ') };
}

/**
 * The negations in the competing decode, each with its gain: the competing path's score minus
 * the sentence path's over the same frames, from the start of the word before the negation to
 * the end of the word after it (the neighbours are re-aligned around it).
 */
function competingNegations(words: LexWord[], forced: Segment[], competing: Segment[]): HeardNegation[] {
  const forcedPerFrame = perFrameScores(forced);
  const wordOf = competing.map((s) => parsePhoneToken(s.word)?.word ?? null);
  const found: HeardNegation[] = [];
  for (let i = 0; i < competing.length; i++) {
    if (wordOf[i] !== null || !/^n\d+p\d+$/.test(competing[i].word)) continue;
    let end = i;
    while (end + 1 < competing.length && wordOf[end + 1] === null) end++;
    const previousWord = [...wordOf.slice(0, i)].reverse().find((w) => w !== null) ?? null;
    const nextWord = wordOf.slice(end + 1).find((w) => w !== null) ?? null;
    const first = previousWord === null ? i : wordOf.indexOf(previousWord);
    const last = nextWord === null ? end : wordOf.lastIndexOf(nextWord);
    const span = competing.slice(first, last + 1);
    const startFrame = span[0].startFrame;
    const endFrame = span[span.length - 1].startFrame + span[span.length - 1].frames;
    let sentenceScore = 0;
    for (let f = startFrame; f < endFrame; f++) sentenceScore += forcedPerFrame[f] ?? 0;
    const gain = span.reduce((sum, s) => sum + s.score, 0) - sentenceScore;
    const saidWords = competing.slice(i, end + 1).map((s) => NEGATIONS[Number(/^n(\d+)/.exec(s.word)![1])]);
    // A negation in place of a word: the word after it in the path is not the next one of the sentence.
    const beforeIndex = nextWord ?? null;
    found.push({ said: saidWords.join(' '), before: beforeIndex === null ? null : words[beforeIndex].written, gain: Math.round(gain) });
    i = end;
  }
  return found;
}

/** Spreads each loop segment's score evenly over its frames. */
function perFrameScores(segments: Segment[]): number[] {
  const perFrame: number[] = [];
  for (const s of segments) for (let f = s.startFrame; f < s.startFrame + s.frames; f++) perFrame[f] = s.score / s.frames;
  return perFrame;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

function capitalize(s: string): string {
  return s.replace(/^'?./, (c) => c.toUpperCase());
}

function mean(values: number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

// ---------------------------------------------------------------------------------------------
// Audio

async function readWav16k(file: string): Promise<Int16Array> {
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
 * when it is well above the recording's noise floor and within 40 dB of its loud parts.
 */
export function keepSpeech(samples: Int16Array): { samples: Int16Array; speechMs: number } {
  const levels = frameLevels(samples);
  const threshold = speechThreshold(levels);
  const isSpeech = levels.map((db) => db > threshold);
  const first = isSpeech.indexOf(true);
  if (first < 0) return { samples: new Int16Array(0), speechMs: 0 };
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
  return { samples: out, speechMs: isSpeech.filter(Boolean).length * 10 };
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

function pcmBytes(samples: Int16Array): Buffer {
  const bytes = Buffer.alloc(samples.length * 2);
  writePcm16(bytes, 0, samples);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Processes and files

/** Runs a command without a shell; rejects with the tail of stderr on failure or timeout. */
function run(binary: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(binary)} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(binary)} failed (${signal ?? `exit code ${code}`}): ${stderr.trim()}`));
    });
  });
}

/** An absolute/relative path as given, or a bare name searched in PATH; null when not executable. */
async function findExecutable(name: string): Promise<string | null> {
  const candidates = name.includes(path.sep) ? [name] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    if (await access(candidate, fsConstants.X_OK).then(() => true, () => false)) return candidate;
  }
  return null;
}

function isReadable(file: string): Promise<boolean> {
  return access(file, fsConstants.R_OK).then(() => true, () => false);
}
