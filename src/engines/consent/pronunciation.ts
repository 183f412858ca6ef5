// Text → words → pronunciations: the consent sentence parsed into words (names marked, numbers
// spelled out), each word's pronunciations from the CMU dictionary, else guessed from its
// spelling (pinyin reading and English letter-to-sound rules).
import { readFile } from 'node:fs/promises';

export interface SentenceWord {
  /** Lowercase dictionary form. */
  text: string;
  /** The token as written in the sentence ("Smith", "3rd"), for messages. */
  written: string;
  /** Part of the name the person states; these must each be heard clearly. */
  isName: boolean;
}

export interface LexWord extends SentenceWord {
  /** ARPAbet phone strings, e.g. 'S M IH TH'. */
  prons: string[];
  guessed: boolean;
}

/**
 * Lowercase words with digits spelled out. Name words:
 * - those after "I am" / "I'm" / "my name is", up to the end of that clause or to an "and", "I"
 *   or "consent" that starts the rest of the sentence ("I am John Smith and I consent ...");
 * - capitalized words inside a sentence (other than "I"), except the party the sentence
 *   authorizes: "Guiji" in "I consent Guiji clone my avatar" is the company, a variable of the
 *   API document's sentence like the name, but not the person's name (authorizedParty).
 */
export function parseSentence(text: string): SentenceWord[] {
  const words: SentenceWord[] = [];
  for (const sentence of text.split(/(?<=[.!?])\s+|\n+/)) {
    let position = 0;
    for (const clause of sentence.split(/(?<=[,;:])\s+/)) {
      const tokens = clause.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu) ?? [];
      const lower = tokens.map(normalizeToken);
      const [nameStart, nameEnd] = statedName(lower);
      const [partyStart, partyEnd] = authorizedParty(lower);
      tokens.forEach((token, i) => {
        const isName = (i >= nameStart && i < nameEnd)
          || (position > 0 && isCapitalizedName(token) && !(i >= partyStart && i < partyEnd));
        for (const word of spellOut(lower[i])) words.push({ text: word, written: token, isName });
        position++;
      });
    }
  }
  return words;
}

/**
 * The sentence as the recognizer hears it, for a speech engine to read: the words of
 * parseSentence (numbers spelled out the same way, symbols dropped; other words as written, so
 * names keep their capitals), with its sentence and clause breaks kept as punctuation so the
 * engine pauses where a person would.
 */
export function spokenForm(text: string): string {
  return text.split(/(?<=[.!?])\s+|\n+/).map((sentence) => sentence.split(/(?<=[,;:])\s+/)
    .map((clause) => parseSentence(clause).map((w) => (w.text === normalizeToken(w.written) ? w.written : w.text)).join(' '))
    .filter(Boolean).join(', ')).filter(Boolean).join('. ') + '.';
}

/** Words that end a stated name: what follows is the rest of the sentence, not the name. */
const NAME_ENDS = new Set(['and', 'i', 'consent', 'hereby']);

/**
 * The name a clause states, as [start, end) indexes into its tokens (`lower`, normalizeToken's
 * forms): after "I am", "I'm" or "my name is" at the start of the clause, up to its end or to the
 * first of NAME_ENDS; [0, 0) when it states none.
 */
function statedName(lower: string[]): [number, number] {
  const start = lower[0] === 'i' && lower[1] === 'am' ? 2
    : lower[0] === "i'm" ? 1
      : lower[0] === 'my' && lower[1] === 'name' && lower[2] === 'is' ? 3
        : -1;
  if (start < 0) return [0, 0];
  const end = lower.findIndex((t, i) => i >= start && NAME_ENDS.has(t));
  return [start, end < 0 ? lower.length : end];
}

/** Verbs that grant consent to a party named after them ("I consent Guiji ...", "I authorize Acme to ..."). */
const GRANTING = new Set(['consent', 'authorize', 'authorise', 'allow', 'permit']);
/** Words that end the party: the act it is granted ("... clone my avatar", "... to clone"). */
const GRANTED_ACT = new Set(['to', 'clone', 'clones', 'cloning']);

/**
 * The party a clause grants consent to, as [start, end) indexes into its tokens (`lower`,
 * normalizeToken's forms): the words between a granting verb (and a "to" after it) and the act it
 * grants, "Guiji" in the API document's "I consent guiji clone my avatar" and in "I consent to
 * Guiji cloning my voice"; [0, 0) when the clause has none.
 */
function authorizedParty(lower: string[]): [number, number] {
  const verb = lower.findIndex((t) => GRANTING.has(t));
  if (verb < 0) return [0, 0];
  const start = lower[verb + 1] === 'to' ? verb + 2 : verb + 1;
  const act = lower.findIndex((t, i) => i >= start && GRANTED_ACT.has(t));
  return act < 0 ? [0, 0] : [start, act];
}

function isCapitalizedName(token: string): boolean {
  return /^\p{Lu}/u.test(token) && !/^I(['’]|$)/.test(token);
}

/** A token in dictionary form, before numbers are spelled out. */
function normalizeToken(token: string): string {
  return token.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(/’/g, "'");
}

/** A token in dictionary form (normalizeToken: "José" → "jose") as dictionary words: numbers as words. */
function spellOut(lower: string): string[] {
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
export async function lookupPronunciations(dictPath: string, words: Set<string>): Promise<Map<string, string[]>> {
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
 * the spelling is valid pinyin — the platform's users and brand are Chinese — and English
 * letter-to-sound readings (englishPronunciations). The aligner picks whichever fits the audio.
 */
export function guessPronunciations(word: string): string[] {
  const pinyin = pinyinPronunciation(word);
  return [...new Set([...(pinyin ? [pinyin] : []), ...englishPronunciations(word)])];
}

/**
 * The pronunciations a word missing from the dictionary competes with: espeak-ng's readings
 * (`espeak`, American and British) and the spelling's (guessPronunciations).
 * - A name gets every reading: it is the person's own, and they say it their way.
 * - Any other word (a company, such as the API document's "guiji" or "Guiji": parseSentence
 *   tells the party a sentence authorizes from a name) is read from the operator's text:
 *   espeak-ng's readings and the spelling's first, the pinyin one when the word is pinyin.
 *   Every further reading is one more way for another word to fit: with all eight of "guiji"'s,
 *   Acme, Google, Baidu or Tencent said in its place was verified in 13 of 60 recordings over 15
 *   voices, 3 with these two, since one guess or another ('G AH AY JH IH', "guy-jih") fits them
 *   nearly as well as the recording fits the sentence; correct sentences fared the same with
 *   both (bench/RESULTS.md).
 */
export function outOfDictionaryPronunciations(word: SentenceWord, espeak: string[]): string[] {
  const spelled = guessPronunciations(word.text);
  return [...new Set([...espeak, ...(word.isName ? spelled : spelled.slice(0, 1))])];
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

/** Other readings of ambiguous vowel spellings ("a" in "Jane", "Dana", "Adam"), tried one at a time. */
const VOWEL_ALTERNATIVES: Record<string, string[]> = {
  a: ['EY', 'AA', 'AH'], e: ['IY', 'AH'], i: ['AY', 'IY'], o: ['OW', 'AH'], u: ['UW', 'Y UW'], y: ['AY', 'IH'],
  oo: ['UH'], ow: ['AW'], ou: ['UW', 'OW'], ea: ['EH', 'EY'], ie: ['AY'], ei: ['AY', 'IY'], ai: ['AY'],
};
/** At most this many English readings of one word. */
const MAX_ENGLISH_READINGS = 6;

/**
 * English readings of a spelling: the rules' reading, then readings where one vowel spelling
 * takes another of its usual values (first vowels first), at most MAX_ENGLISH_READINGS.
 */
export function englishPronunciations(word: string): string[] {
  // A final silent "e" ("jane") and doubled consonants ("anna") are not pronounced twice.
  let rest = word.replace(/[^a-z]/g, '').replace(/([^aeiou])\1/g, '$1');
  if (rest.length > 2 && /[^aeiou]e$/.test(rest)) rest = rest.slice(0, -1);
  const parts: Array<[string, string]> = [];
  while (rest) {
    const part = englishRule(rest, parts.length === 0);
    parts.push(part);
    rest = rest.slice(part[0].length);
  }
  if (parts.length === 0) return [];
  const readings = [parts.map(([, phone]) => phone).join(' ')];
  parts.forEach(([letters], i) => {
    for (const other of VOWEL_ALTERNATIVES[letters] ?? []) {
      if (letters === 'y' && i === 0) continue;
      readings.push(parts.map(([, phone], j) => (j === i ? other : phone)).join(' '));
    }
  });
  return [...new Set(readings)].slice(0, MAX_ENGLISH_READINGS);
}

/** The spelling rule for the start of `rest`: [letters consumed, phones]. */
function englishRule(rest: string, atStart: boolean): [string, string] {
  if (rest[0] === 'c') return ['c', /^c[eiy]/.test(rest) ? 'S' : 'K'];
  if (rest[0] === 'y') return ['y', atStart ? 'Y' : 'IY'];
  return ENGLISH_RULES.find(([letters]) => rest.startsWith(letters)) ?? [rest[0], 'AH'];
}

// ---------------------------------------------------------------------------------------------
// Words that sound like a word of the sentence (the competitors of grammar.ts)

/** A dictionary word that sounds close to a word of the sentence. */
export interface SimilarWord {
  word: string;
  /** Its pronunciation closest to the sentence word's. */
  pron: string;
  /** Weighted phone edit distance to the sentence word (phoneDistance). */
  distance: number;
}

const VOWELS = new Set('AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW'.split(' '));
const VOICING_PAIRS = [['P', 'B'], ['T', 'D'], ['K', 'G'], ['F', 'V'], ['TH', 'DH'], ['S', 'Z'], ['SH', 'ZH'], ['CH', 'JH']];
const PHONE_CLASS: Record<string, string> = {
  P: 'stop', B: 'stop', T: 'stop', D: 'stop', K: 'stop', G: 'stop',
  F: 'fric', V: 'fric', TH: 'fric', DH: 'fric', S: 'fric', Z: 'fric', SH: 'fric', ZH: 'fric', HH: 'fric', CH: 'fric', JH: 'fric',
  M: 'nasal', N: 'nasal', NG: 'nasal', L: 'liquid', R: 'liquid', W: 'glide', Y: 'glide',
};
const PAIRED = new Set(VOICING_PAIRS.flatMap(([a, b]) => [`${a} ${b}`, `${b} ${a}`]));

/**
 * Cost of hearing phone `b` where `a` is written: vowel for vowel and a voiced/unvoiced pair
 * 0.5, the same kind of consonant (stop, fricative, nasal, liquid, glide) 0.75, else 1.
 */
export function phoneCost(a: string, b: string): number {
  if (a === b) return 0;
  if (VOWELS.has(a) && VOWELS.has(b)) return 0.5;
  if (PAIRED.has(`${a} ${b}`)) return 0.5;
  if (PHONE_CLASS[a] && PHONE_CLASS[a] === PHONE_CLASS[b]) return 0.75;
  return 1;
}

/** Weighted edit distance between two phone sequences (insertion and deletion cost 1). */
export function phoneDistance(a: string[], b: string[], limit = Infinity): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + phoneCost(a[i - 1], b[j - 1]));
      best = Math.min(best, row[j]);
    }
    // Every later row is at least this row's minimum: stop early when it is past the limit.
    if (best > limit) return Infinity;
    previous = row;
  }
  return previous[b.length];
}

/** Strips the stress digits a CMU-format dictionary may carry (the en-us model's has none). */
function phonesOf(pron: string): string[] {
  return pron.trim().split(/\s+/).map((p) => p.replace(/\d$/, ''));
}

const PHONE_IDS = new Map('AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH'.split(' ').map((p, i) => [p, i]));
/** phoneCost as a table over phone ids (unknown phones cost 1 against anything else). */
const COST_TABLE = (() => {
  const phones = [...PHONE_IDS.keys()];
  const table = new Float64Array(phones.length * phones.length);
  phones.forEach((a, i) => phones.forEach((b, j) => { table[i * phones.length + j] = phoneCost(a, b); }));
  return table;
})();

function phoneIds(phones: string[]): number[] {
  return phones.map((p) => PHONE_IDS.get(p) ?? -1);
}

/** phoneDistance over phone ids, with a bound: Infinity as soon as it must exceed `limit`. */
function idDistance(a: number[], b: number[], limit: number, row0: Float64Array, row1: Float64Array): number {
  const n = PHONE_IDS.size;
  let previous = row0;
  let row = row1;
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const x = a[i - 1];
      const y = b[j - 1];
      const sub = x === y ? 0 : x < 0 || y < 0 ? 1 : COST_TABLE[x * n + y];
      const v = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + sub);
      row[j] = v;
      if (v < best) best = v;
    }
    if (best > limit) return Infinity;
    [previous, row] = [row, previous];
  }
  return previous[b.length];
}

/**
 * For each target (a word of the sentence with its pronunciations), the dictionary words that
 * sound closest to it: weighted phone distance at most `maxDistance`, nearest first, at most
 * `cap`. One word per pronunciation (words that sound the same compete the same way); among
 * words of equal distance, plain words (no apostrophe or dot) before others, then the shorter
 * spelling, then alphabetical order, so the choice is deterministic. Left out: the word itself
 * and words with a pronunciation identical to the target's (hearing them is hearing the
 * sentence), and words that differ from it only in vowels: vowels vary with accent and voice
 * (measured: on correct espeak speech, 'audia' for 'audio' fitted better by 1190-1320, 'syntheses'
 * for 'synthesis' by 650-1090, 'gin' for 'Jane' by 770, as much as a true substitution).
 */
export async function similarWords(dictPath: string, targets: Array<{ text: string; prons: string[] }>, opts: { maxDistance: number; cap: number }): Promise<SimilarWord[][]> {
  const targetIds = targets.map((t) => t.prons.map((p) => phoneIds(phonesOf(p))));
  const homophones = new Set(targets.flatMap((t) => t.prons.map((p) => phonesOf(p).join(' '))));
  const texts = new Set(targets.map((t) => t.text));
  const skeletons = targets.map((t) => new Set(t.prons.map((p) => consonants(phonesOf(p)))));
  const found = targets.map(() => new Map<string, SimilarWord>());
  const soundsLikeTarget = new Set<string>();
  const row0 = new Float64Array(64);
  const row1 = new Float64Array(64);
  const better = (a: SimilarWord, b: SimilarWord) => a.distance - b.distance || rank(a.word) - rank(b.word) || a.word.length - b.word.length || (a.word < b.word ? -1 : a.word > b.word ? 1 : 0);
  for (const line of (await readFile(dictPath, 'utf8')).split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const word = line.slice(0, space).replace(/\(\d+\)$/, '');
    const pron = line.slice(space + 1).replace(/#.*/, '').trim();
    if (texts.has(word)) continue;
    const phones = pron.split(' ');
    if (phones.length > 60) continue;
    let ids: number[] | null = null;
    targets.forEach((target, t) => {
      for (const written of targetIds[t]) {
        if (Math.abs(written.length - phones.length) > opts.maxDistance) continue;
        ids ??= phoneIds(phonesOf(pron));
        const distance = idDistance(written, ids, opts.maxDistance, row0, row1);
        if (distance > opts.maxDistance) continue;
        const joined = phones.join(' ');
        // Sounding like a word of the sentence is not a different reading of it.
        if (homophones.has(joined)) {
          soundsLikeTarget.add(word);
          continue;
        }
        if (skeletons[t].has(consonants(phonesOf(pron)))) continue;
        const candidate = { word, pron: joined, distance };
        const known = found[t].get(joined);
        if (!known || better(candidate, known) < 0) found[t].set(joined, candidate);
      }
    });
  }
  // The same word may stand for two pronunciations: keep its nearest.
  return found.map((m) => {
    const byWord = new Map<string, SimilarWord>();
    for (const s of [...m.values()].sort(better)) if (!byWord.has(s.word) && !soundsLikeTarget.has(s.word)) byWord.set(s.word, s);
    return [...byWord.values()].slice(0, opts.cap);
  });
}

/** The consonants of a pronunciation, in order. */
function consonants(phones: string[]): string {
  return phones.filter((p) => !VOWELS.has(p)).join(' ');
}

/** Plain words before abbreviations ("a.d.") and possessives ("morgan's"). */
function rank(word: string): number {
  return /^[a-z]+$/.test(word) ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// espeak-ng's reading of words missing from the dictionary

/** espeak-ng's IPA phonemes (American and British English voices) → ARPAbet; longest match first. */
const IPA_TO_ARPABET: Array<[string, string]> = [
  ['eɪ', 'EY'], ['aɪ', 'AY'], ['aʊ', 'AW'], ['ɔɪ', 'OY'], ['oʊ', 'OW'], ['əʊ', 'OW'], ['ɪə', 'IH AH'], ['eə', 'EH'],
  ['ʊə', 'UH AH'], ['tʃ', 'CH'], ['dʒ', 'JH'], ['ɜː', 'ER'], ['ɚ', 'ER'], ['ɝ', 'ER'], ['əl', 'AH L'],
  ['æ', 'AE'], ['ɑ', 'AA'], ['ɒ', 'AA'], ['a', 'AA'], ['ɔ', 'AO'], ['o', 'OW'], ['ə', 'AH'], ['ʌ', 'AH'], ['ɐ', 'AH'],
  ['ɛ', 'EH'], ['e', 'EH'], ['ɪ', 'IH'], ['ᵻ', 'IH'], ['i', 'IY'], ['ʊ', 'UH'], ['u', 'UW'], ['ɜ', 'ER'],
  ['p', 'P'], ['b', 'B'], ['t', 'T'], ['d', 'D'], ['k', 'K'], ['ɡ', 'G'], ['g', 'G'], ['f', 'F'], ['v', 'V'], ['θ', 'TH'],
  ['ð', 'DH'], ['s', 'S'], ['z', 'Z'], ['ʃ', 'SH'], ['ʒ', 'ZH'], ['h', 'HH'], ['m', 'M'], ['n', 'N'], ['ŋ', 'NG'],
  ['l', 'L'], ['ɫ', 'L'], ['ɹ', 'R'], ['r', 'R'], ['w', 'W'], ['j', 'Y'], ['ɾ', 'T'], ['x', 'K'], ['ç', 'HH'],
];

/**
 * espeak-ng phonemes (as its phoneme events name them: 'ˈɔːɹ', 'dʒ') as an ARPAbet string; stress
 * and length marks are dropped, a glottal stop is dropped, anything unknown makes it null.
 */
export function ipaToArpabet(phonemes: string[]): string | null {
  const out: string[] = [];
  for (const phoneme of phonemes) {
    let rest = phoneme.replace(/[ˈˌːˑ̩̯ʔ]/g, '');
    while (rest) {
      const rule = IPA_TO_ARPABET.find(([ipa]) => rest.startsWith(ipa));
      if (!rule) return null;
      out.push(rule[1]);
      rest = rest.slice(rule[0].length);
    }
  }
  return out.length > 0 ? out.join(' ') : null;
}

/** Something that reads a word aloud and reports its phonemes (the espeak-ng engine). */
export interface PhonemeReader {
  synthesize(text: string, voice: { engine: 'espeak'; voice: string }): Promise<{ phonemes: Array<{ phoneme: string }> }>;
}

/**
 * How espeak-ng's American and British voices read each word: its letter-to-sound rules know far
 * more spellings (and names: 'Siobhan' → SH IH V AO N) than englishPronunciation's.
 */
export async function espeakPronunciations(reader: PhonemeReader, words: string[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const word of words) {
    const prons = new Set<string>();
    for (const voice of ['en-us', 'en']) {
      const { phonemes } = await reader.synthesize(word, { engine: 'espeak', voice });
      const pron = ipaToArpabet(phonemes.map((p) => p.phoneme));
      if (pron) prons.add(pron);
    }
    found.set(word, [...prons]);
  }
  return found;
}
