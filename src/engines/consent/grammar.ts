// Grammars (Sphinx FSG format) for the three decodes: the sentence with competing readings
// (negations inserted or in place of each word), and the free phone loop.
import type { LexWord, SimilarWord } from './pronunciation.js';

/** Competing readings' probabilities in the sentence grammar (competitorGrammar). */
export const COMPETITORS = { insertion: 1e-10, substitution: 1e-10, similar: 1e-10 };

/** Words that turn consent into its refusal, offered before and in place of every word. */
export const NEGATIONS = ['not', 'no', 'never', "don't", 'refuse', 'without', 'withdraw', "won't", 'cannot', "can't", 'deny', 'reject', 'do not', 'does not', 'did not', 'will not'];

/** The en-us acoustic model's phones, minus silence and noise. */
const PHONES = 'AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH'.split(' ');

export interface Grammar {
  dict: string;
  fsg: string;
}

/** Token naming phone k of pronunciation j of word i, so the alignment maps straight back to words. */
function phoneToken(word: number, pron: number, phone: number): string {
  return `w${word}p${pron}k${phone}`;
}

export function parsePhoneToken(token: string): { word: number; phone: number } | null {
  const match = /^w(\d+)p\d+k(\d+)$/.exec(token);
  return match ? { word: Number(match[1]), phone: Number(match[2]) } : null;
}

/** Token for pronunciation j of competing word k (a negation), a whole word in one token. */
function negationToken(k: number, pron: number): string {
  return `n${k}p${pron}`;
}

/** Token for the k-th word that sounds like word i of the sentence (similarWords), in one token. */
function similarToken(word: number, k: number): string {
  return `s${word}x${k}`;
}

export function parseSimilarToken(token: string): { word: number; k: number } | null {
  const match = /^s(\d+)x(\d+)$/.exec(token);
  return match ? { word: Number(match[1]), k: Number(match[2]) } : null;
}

/**
 * The sentence as a chain of states, each word a branch of phone tokens per pronunciation, and
 * at every position the competing readings the recording might contain instead: each negation
 * in place of the word or inserted before it (and after the last word), and each of the words
 * that sound like it (`similar[i]`, from similarWords) in its place.
 * Their probabilities are penalties: a competitor wins only where the audio fits it better by
 * more than its penalty.
 *
 * With `wholeWords`, each sentence word is one token (phone k = 0 stands for the whole word)
 * instead of one token per phone. Scores of the two forms differ: pocketsphinx models the phones
 * of a one-phone token without the triphone context a multi-phone word gets, so a sentence of
 * one-phone tokens scores about 10% worse than the same sentence as words (measured: -33001
 * against -29950 on one espeak recording). Competitors are whole words, so their gains must be
 * measured against whole sentence words.
 */
export function competitorGrammar(words: LexWord[], negations: Map<string, string[]>, similar: SimilarWord[][] = [], opts: { wholeWords?: boolean } = {}, tune = COMPETITORS): Grammar {
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
    (similar[i] ?? []).forEach((s, k) => {
      dict.push(`${similarToken(i, k)} ${s.pron}`);
      transitions.push(`TRANSITION ${wordStart} ${wordEnd} ${tune.similar} ${similarToken(i, k)}`);
    });
    states = wordBranches(word, i, wordStart, wordEnd, states, !!opts.wholeWords, dict, transitions);
    wordStart = wordEnd;
  });
  competitors(wordStart, null);
  return { dict: dict.join('\n') + '\n', fsg: fsgFile('sentence', states, wordStart, transitions) };
}

/**
 * The transitions of sentence word `i`, each pronunciation a branch from state `from` to `to`:
 * one token for the whole word, or (not `wholeWords`) a chain of one-phone tokens through new
 * states numbered from `states`. Returns the next free state number.
 */
function wordBranches(word: LexWord, i: number, from: number, to: number, states: number, wholeWords: boolean, dict: string[], transitions: string[]): number {
  word.prons.forEach((pron, j) => {
    if (wholeWords) {
      dict.push(`${phoneToken(i, j, 0)} ${pron}`);
      transitions.push(`TRANSITION ${from} ${to} ${1 / word.prons.length} ${phoneToken(i, j, 0)}`);
      return;
    }
    const phones = pron.split(/\s+/);
    let at = from;
    phones.forEach((phone, k) => {
      const token = phoneToken(i, j, k);
      dict.push(`${token} ${phone}`);
      const next = k === phones.length - 1 ? to : states++;
      transitions.push(`TRANSITION ${at} ${next} ${k === 0 ? 1 / word.prons.length : 1} ${token}`);
      at = next;
    });
  });
  return states;
}

/**
 * Exactly the reading a competing decode chose (`tokens`, its segments' words in order): the
 * sentence words it kept (any of their pronunciations) and the negations and close words it put
 * among or in place of them. Aligning another recording of the sentence with it measures how much
 * that recording, too, fits the competing reading (recognizer.ts: the reference renderings).
 */
export function pathGrammar(words: LexWord[], tokens: string[], negations: Map<string, string[]>, similar: SimilarWord[][], opts: { wholeWords?: boolean } = {}): Grammar {
  const dict: string[] = [];
  const transitions: string[] = [];
  const seen = new Set<string>();
  let states = 1;
  let at = 0;
  let previousWord = -1;
  for (const token of tokens) {
    const phone = parsePhoneToken(token);
    if (phone) {
      // The phones of one sentence word are one step of the chain.
      if (phone.word === previousWord) continue;
      previousWord = phone.word;
      const to = states++;
      states = wordBranches(words[phone.word], phone.word, at, to, states, !!opts.wholeWords, dict, transitions);
      at = to;
      continue;
    }
    previousWord = -1;
    const pron = competitorPron(token, negations, similar);
    if (pron === null) throw new Error(`unknown token ${token} in a competing reading`);
    if (!seen.has(token)) dict.push(`${token} ${pron}`);
    seen.add(token);
    const to = states++;
    transitions.push(`TRANSITION ${at} ${to} 1 ${token}`);
    at = to;
  }
  return { dict: dict.join('\n') + '\n', fsg: fsgFile('path', states, at, transitions) };
}

function competitorPron(token: string, negations: Map<string, string[]>, similar: SimilarWord[][]): string | null {
  const s = parseSimilarToken(token);
  if (s) return similar[s.word]?.[s.k]?.pron ?? null;
  const n = /^n(\d+)p(\d+)$/.exec(token);
  return n ? negations.get(NEGATIONS[Number(n[1])])?.[Number(n[2])] ?? null : null;
}

/** Any sequence of phones or silence: the best any speech could score. */
export function phoneLoopGrammar(): Grammar {
  const units = [['sil', 'SIL'], ...PHONES.map((p) => [`ph_${p.toLowerCase()}`, p])];
  const p = 1 / units.length;
  const transitions = units.flatMap(([token]) => [`TRANSITION 0 1 ${p} ${token}`, `TRANSITION 1 1 ${p} ${token}`]);
  return { dict: units.map((u) => u.join(' ')).join('\n') + '\n', fsg: fsgFile('loop', 2, 1, transitions) };
}

function fsgFile(name: string, states: number, finalState: number, transitions: string[]): string {
  return [`FSG_BEGIN ${name}`, `NUM_STATES ${states}`, 'START_STATE 0', `FINAL_STATE ${finalState}`, ...transitions, 'FSG_END', ''].join('\n');
}
