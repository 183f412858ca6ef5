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
