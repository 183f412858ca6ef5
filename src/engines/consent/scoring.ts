// Scoring the decodes: goodness of pronunciation of each word, gains of competing negations,
// and the verdict.
import { median } from '../../domain/stats.js';
import { NEGATIONS, parsePhoneToken } from './grammar.js';
import type { Segment } from './pocketsphinx.js';
import type { LexWord } from './pronunciation.js';
import type { ConsentResult, HeardNegation, HeardWord } from './types.js';

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
