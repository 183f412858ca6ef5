// Scoring the decodes: goodness of pronunciation of each word, gains of competing negations,
// and the verdict.
import { median } from '../../domain/stats.js';
import { NEGATIONS, parsePhoneToken, parseSimilarToken } from './grammar.js';
import type { Segment } from './pocketsphinx.js';
import type { LexWord, SimilarWord } from './pronunciation.js';
import type { ConsentResult, HeardNegation, HeardSubstitution, HeardWord } from './types.js';

// Tuning. GOP units (see ConsentResult.score) for words, acoustic score units for negations;
// measured on the corpus of test/support/consent-corpus.ts (bench/consent.ts). Worst correct → best wrong:
// - whole sentence: -44 → -60 (unrelated sentences of similar length);
// - a content word's shortfall: 47 (espeak en+m3 "Alex") → 45-100 (a different first name or
//   possessive, a word left out); real speech: 23 → 25-62;
// - a negation's gain: about 600 (made up in correct speech) → 1026 (said);
// - a close word's gain (against the whole-word alignment): real speech 301 (correct) → 755-3380
//   (substituted), 291 for "miserable"/"amiable"; espeak 197-1531 (correct) → 579-1969.
// With references (recognizer.ts, step 6) every figure is judged beyond the same reading's or
// word's largest on espeak-ng's renderings of the sentence. Over 13 espeak voices, correct → wrong:
// a close word 481 → 606-2031 for "face", "close", "video", "Martin" (UK voices: 68-320); a
// negation 772 (made up at the end of a British sentence) → 758-3660 said; a content word's
// shortfall 28 (a name in en-us at rate 140). The limits were left where they were: lowering
// any of them sent more correct sentences to review than it caught (bench/RESULTS.md).
// Time (recognizer.ts, step 7), over the same voices and real speech, correct → wrong: a chosen
// negation's extraFrames 0 (real), at most 9 (espeak) → median 21, up to 42 for negations said
// (two of them caught by it alone, at 20 and 31); a word's pace 0.66 (real), 0.77 (espeak) →
// 0.48-0.59 for "Adam" aligned as "Alex", 0.42-0.59 for a word left out. Both at once, for a word
// that carries meaning: correct espeak and real speech under 0.9 of the references' time is at
// most 9 below the typical word beyond its references (at most 20 at any pace), Flite voices 26
// at 0.80 and 42 at 0.84; words left out 28-107 below at 0.41-0.73 of the time (44 at 0.73 the
// only one the pace alone misses).

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
  /**
   * A competing negation whose words around it last this many frames (10 ms) longer than on the
   * references (HeardNegation.extraFrames) is uncertain (review), and heard (refused) when it also
   * fits the audio better than the sentence does.
   */
  negationExtraFrames: number;
  /**
   * A word that carries meaning said in less than this fraction of the time the quickest reference
   * takes (at the recording's pace, HeardWord.pace) is uncertain (review).
   */
  minPace: number;
  /**
   * A word that carries meaning both this far below the typical word (beyond its references) and
   * said in less than `hurriedPace` of the quickest reference's time is uncertain (review): two
   * weaker signs of a word left out that correct speech never shows together.
   */
  faintReview: number;
  hurriedPace: number;
  /** A competing similar-sounding word that fits the audio better by more than this is uncertain (review)... */
  similarReview: number;
  /** ...and by more than this, heard (refused). */
  similarRefuse: number;
}
export const THRESHOLDS: Thresholds = {
  sentenceMinGop: -50, review: 45, refuse: 75, functionOffset: 15, guessedOffset: 15, negationReview: 650, negationRefuse: 1000, negationExtraFrames: 10, minPace: 0.6, faintReview: 30, hurriedPace: 0.78,
  similarReview: 400, similarRefuse: 1500,
};

/**
 * Short function words carry little meaning and score noisily (the "I" after a sentence's pause
 * in espeak speech falls 40-57 below the typical word), so they get looser limits; negations are
 * checked separately.
 */
export const FUNCTION_WORDS = new Set('a an the i am is are was be been of to for and or in on at by with my your his her he she it we they me us them had have has than then there how much might more still do'.split(' '));

/** Words checked against close words and for their pace: a name's, and any other than a function word. */
export function carriesMeaning(w: { text: string; isName: boolean }): boolean {
  return w.isName || !FUNCTION_WORDS.has(w.text);
}

/** The recording against the sentence: which words were heard, which were unclear, and which negations competed. */
/** The decodes of one recording (recognizer.ts): null where the search found no path. */
export interface Decodes {
  /** The sentence, one phone per token: GOP, and the reference for negations. */
  forced: Segment[] | null;
  /** The sentence, one word per token: the reference for close words. */
  forcedWords: Segment[] | null;
  /** The sentence (one phone per token) with negations competing. */
  negating: Segment[] | null;
  /** The sentence (one word per token) with close words competing. */
  substituting: Segment[] | null;
  /** The free phone loop. */
  loop: Segment[];
  /** Which 10 ms frames of the recording are speech rather than what is left of a pause (audio.ts, keepSpeech); all, when absent. */
  audible?: boolean[];
  /**
   * Renderings of the written sentence by espeak-ng voices, aligned with the sentence and with the
   * competing readings chosen above (recognizer.ts): how far those readings fit speech that says
   * the sentence right. Empty when nothing competed clearly enough to need them.
   */
  references?: ReferenceDecodes[];
}

/** One reference rendering of the written sentence (Decodes.references). */
export interface ReferenceDecodes {
  forced: Segment[] | null;
  forcedWords: Segment[] | null;
  /** The recording's negating reading (Decodes.negating), forced on the rendering; null when none was needed or no path was found. */
  negating: Segment[] | null;
  /** The recording's substituting reading, forced likewise. */
  substituting: Segment[] | null;
  /** The free phone loop on the rendering (its words' GOP). */
  loop: Segment[] | null;
}

/** A negation reading and where it lies: the sentence words before and after it (null at an end) and its frames [start, end). */
interface NegationReading extends HeardNegation {
  place: { previous: number | null; next: number | null; start: number; end: number };
}

/** The competing readings of a recording's decodes (or of a reference's forced ones), with their raw gains. */
function readingsOf(words: LexWord[], similar: SimilarWord[][], decodes: Pick<Decodes, 'forced' | 'forcedWords' | 'negating' | 'substituting'>, opts: { wholeWordsOnly?: boolean } = {}): { negations: NegationReading[]; substitutions: HeardSubstitution[] } {
  const { negations } = decodes.forced ? competingReadings(words, [], decodes.forced, decodes.negating ?? []) : { negations: [] };
  // The one-phone alignment scores about 10% worse than the whole-word one: a fallback for the recording only.
  const reference = opts.wholeWordsOnly ? decodes.forcedWords : decodes.forcedWords ?? decodes.forced;
  const { substitutions } = reference ? competingReadings(words, similar, reference, decodes.substituting ?? []) : { substitutions: [] };
  return { negations, substitutions };
}

/**
 * A reading's gain beyond what the same reading gains on the reference renderings (the largest of
 * them, and never below 0): what the recording says differently, rather than what the acoustic
 * model hears in any synthetic voice saying the sentence right. At most `cap` is taken away: for
 * shortfalls, and negations that take time the sentence does not account for, the refusal limit
 * of its kind, so a clear enough negation or a word clearly not heard is never explained away
 * entirely.
 */
export function excess(r: { gain: number; reference?: number } | { shortfall: number; reference?: number }, cap = Infinity): number {
  return ('gain' in r ? r.gain : r.shortfall) - Math.min(cap, Math.max(0, r.reference ?? 0));
}

/** Sets each reading's `reference`: the largest gain of the same reading on a reference rendering. */
function withReferences(words: LexWord[], similar: SimilarWord[][], decodes: Decodes): { negations: NegationReading[]; substitutions: HeardSubstitution[] } {
  const own = readingsOf(words, similar, decodes);
  for (const ref of decodes.references ?? []) {
    const theirs = readingsOf(words, similar, ref, { wholeWordsOnly: true });
    const pair = <T extends { said: string; gain: number; reference?: number }>(mine: T[], other: T[], forced: Segment[] | null) => {
      // The reference was forced along the same reading: same runs, same order (else it is not used).
      if (!forced || other.length !== mine.length || other.some((o, k) => o.said !== mine[k].said)) return;
      mine.forEach((m, k) => { m.reference = Math.max(m.reference ?? -Infinity, other[k].gain); });
    };
    pair(own.negations, theirs.negations, ref.negating);
    pair(own.substitutions, theirs.substitutions, ref.substituting);
  }
  return own;
}

/**
 * Whether references (recognizer.ts, step 6) are worth making for a verdict reached without them:
 * for any recording that holds the sentence. They explain away readings and shortfalls that any
 * synthetic voice saying the sentence right shows, and they measure what only a comparison
 * shows: the time a chosen negation takes (extraFrames) and each word's pace. A recording that
 * does not hold the sentence at all is refused without them.
 */
export function needsReferences(first: ConsentResult): boolean {
  return first.words !== undefined && (first.score ?? -Infinity) >= THRESHOLDS.sentenceMinGop;
}

export function decide(words: LexWord[], decodes: Decodes, similar: SimilarWord[][] = [], tune = THRESHOLDS): ConsentResult {
  const { forced, loop } = decodes;
  if (!forced) return { verdict: 'refused', reason: 'The recording does not contain the consent sentence.' };
  const phoneGops = phoneGopsOf(words, forced, loop);
  const wordGops = phoneGops.map(mean);
  const shortfalls = shortfallsOf(wordGops);
  const report: HeardWord[] = words.map((w, i) => ({ written: w.written, gop: round(wordGops[i]), shortfall: round(shortfalls[i]) }));
  // A rendering that does not itself fit the sentence (the engine read something else) explains nothing.
  const fitting = (decodes.references ?? [])
    .map((ref) => ({ ref, gops: ref.forced && ref.loop ? phoneGopsOf(words, ref.forced, ref.loop) : null }))
    .filter(({ gops }) => gops && mean(gops.flat()) >= tune.sentenceMinGop);
  const references = fitting.map(({ ref }) => ref);
  for (const { gops } of fitting) {
    const theirs = shortfallsOf(gops!.map(mean));
    report.forEach((r, i) => { if (Number.isFinite(theirs[i])) r.reference = round(Math.max(r.reference ?? -Infinity, theirs[i])); });
  }
  const readings = withReferences(words, similar, decodes.references === undefined ? decodes : { ...decodes, references });
  const lengths = references.length > 0 ? wordLengths(words, forced, references) : null;
  const negations: HeardNegation[] = readings.negations.map(({ place, ...n }) => (lengths ? { ...n, extraFrames: extraFrames(lengths, decodes.audible, place) } : n));
  // A word that carries meaning said in far less time than any reference says it was squeezed in by the alignment: something shorter was said.
  if (lengths) report.forEach((r, i) => { if (carriesMeaning(words[i])) r.pace = Math.round((lengths.own[i] / Math.min(...lengths.theirs.map((t) => t[i]))) * 100) / 100; });
  const { substitutions } = readings;
  const score = round(mean(phoneGops.flat()));
  const details = { score, words: report, negations, substitutions };
  const quote = (ws: string[]) => ws.map((w) => `'${w}'`).join(', ');
  const heard = (ss: HeardSubstitution[]) => ss.map((s) => `'${s.said}' where the sentence says '${s.instead}'`).join(', ');

  // A negation also counts when the time it takes is time the sentence does not account for (extraFrames).
  const lengthened = (n: HeardNegation) => (n.extraFrames ?? 0) >= tune.negationExtraFrames;
  // The references explain a negation at most up to the refusal limit, unless it takes no time at
  // all that the sentence does not account for: then it is the written words, heard the way the
  // references show them (British "audio" at the end heard as 'don't won't no', 1526 on the
  // references). A negation said takes time: the strongest one of 133 negation checks took none in
  // one check only, refused by a gain no reference showed (bench/RESULTS.md).
  const beyond = (n: HeardNegation) => excess(n, n.extraFrames === 0 ? Infinity : tune.negationRefuse);
  const clearNegations = negations.filter((n) => beyond(n) > tune.negationRefuse);
  const extraSpeech = negations.filter((n) => !clearNegations.includes(n) && lengthened(n) && beyond(n) > 0);
  if (clearNegations.length > 0 || extraSpeech.length > 0) {
    const parts = [
      ...(clearNegations.length ? [`says ${said(clearNegations)}, which the consent sentence does not`] : []),
      ...extraSpeech.map((n) => `has speech ${n.before ? `before '${n.before}'` : 'at the end'} that the consent sentence does not have (it sounds like '${n.said}')`),
    ];
    return { verdict: 'refused', ...details, reason: `The recording ${parts.join('; it ')}; record the person saying the consent sentence exactly as written.` };
  }
  if (!(score >= tune.sentenceMinGop)) return { verdict: 'refused', ...details, reason: 'The recording does not contain the consent sentence.' };
  // A close word is never capped: one that gains as much on every correct rendering (over 1500 for
  // 'afmed' at espeak's "Ahmed") says the written word sounds like it, not that it was said.
  const clearSubstitutions = substitutions.filter((s) => excess(s) > tune.similarRefuse);
  if (clearSubstitutions.length > 0) {
    const notHeard = [...new Set(clearSubstitutions.map((s) => s.instead))];
    return { verdict: 'refused', ...details, notHeard, reason: `${capitalize(quote(notHeard))} ${notHeard.length > 1 ? 'were' : 'was'} not heard in the recording: it says ${heard(clearSubstitutions)}; record the person saying the consent sentence clearly, word for word.` };
  }
  const limit = (w: LexWord, band: 'review' | 'refuse') => tune[band] + (FUNCTION_WORDS.has(w.text) && !w.isName ? tune.functionOffset : 0) + (w.guessed ? tune.guessedOffset : 0);
  const notHeard = words.filter((w, i) => excess(report[i], tune.refuse) > limit(w, 'refuse')).map((w) => w.written);
  if (notHeard.length > 0) {
    return { verdict: 'refused', ...details, notHeard, reason: `${capitalize(quote(notHeard))} ${notHeard.length > 1 ? 'were' : 'was'} not heard in the recording; record the person saying the consent sentence clearly, word for word.` };
  }
  const uncertainNegations = negations.filter((n) => beyond(n) > tune.negationReview || lengthened(n));
  const uncertainSubstitutions = substitutions.filter((s) => excess(s) > tune.similarReview);
  const unclear = words.filter((w, i) => excess(report[i], tune.refuse) > limit(w, 'review')).map((w) => w.written);
  const pace = (i: number) => report[i].pace ?? Infinity;
  const hurried = words.filter((w, i) => !unclear.includes(w.written) && pace(i) < tune.minPace).map((w) => w.written);
  // Faint and quick at once: a word left out, the alignment giving it a sliver of a neighbour (correct speech shows one or the other).
  const faint = words.filter((w, i) => !unclear.includes(w.written) && !hurried.includes(w.written) && pace(i) < tune.hurriedPace && excess(report[i], tune.refuse) > tune.faintReview).map((w) => w.written);
  const uncertain = [...new Set([...unclear, ...hurried, ...faint, ...uncertainSubstitutions.map((s) => s.instead)])];
  if (uncertain.length > 0 || uncertainNegations.length > 0) {
    const parts = [
      ...(unclear.length ? [`${quote(unclear)} could not be heard clearly`] : []),
      ...(hurried.length ? [`${quote(hurried)} took far less time than ${hurried.length > 1 ? 'they take' : 'it takes'} to say (another word may have been said)`] : []),
      ...(faint.length ? [`${quote(faint)} ${faint.length > 1 ? 'were' : 'was'} heard only faintly and in less time than ${faint.length > 1 ? 'they take' : 'it takes'} to say (${faint.length > 1 ? 'they' : 'it'} may have been left out)`] : []),
      ...(uncertainSubstitutions.length ? [`it may say ${heard(uncertainSubstitutions)}`] : []),
      ...(uncertainNegations.length ? [`it may say ${said(uncertainNegations)}`] : []),
    ];
    return { verdict: 'review', ...details, uncertain, reason: `An operator must review the recording: ${parts.join('; ')}.` };
  }
  return { verdict: 'verified', ...details, reason: 'The consent sentence was recognized in the recording, word for word.', transcript: words.map((w) => w.text).join(' ') };
}

/**
 * The readings of the competing decode that differ from the sentence, each with its gain: the
 * competing path's score minus the sentence path's over the same frames, from the start of the
 * sentence word before it to the end of the sentence word after it (the neighbours are
 * re-aligned around it). A run of competing words with a negation in it is a negation; a
 * similar-sounding word alone in place of a sentence word is a substitution.
 */
function competingReadings(words: LexWord[], similar: SimilarWord[][], forced: Segment[], competing: Segment[]): { negations: NegationReading[]; substitutions: HeardSubstitution[] } {
  const forcedPerFrame = perFrameScores(forced);
  const wordOf = competing.map((s) => parsePhoneToken(s.word)?.word ?? null);
  const negations: NegationReading[] = [];
  const substitutions: HeardSubstitution[] = [];
  const spoken = (token: string) => {
    const similarWord = parseSimilarToken(token);
    if (similarWord) return { negation: false, text: similar[similarWord.word]?.[similarWord.k]?.word ?? token, instead: similarWord.word };
    const negation = /^n(\d+)p\d+$/.exec(token);
    return { negation: true, text: negation ? NEGATIONS[Number(negation[1])] : token, instead: null };
  };
  for (let i = 0; i < competing.length; i++) {
    if (wordOf[i] !== null) continue;
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
    const gain = Math.round(span.reduce((sum, s) => sum + s.score, 0) - sentenceScore);
    const run = competing.slice(i, end + 1).map((s) => spoken(s.word));
    if (run.some((r) => r.negation)) {
      // A negation in place of a word: the word after it in the path is not the next one of the sentence.
      const place = { previous: previousWord, next: nextWord, start: competing[i].startFrame, end: competing[end].startFrame + competing[end].frames };
      const replaced = words.slice(previousWord === null ? 0 : previousWord + 1, nextWord === null ? words.length : nextWord).map((w) => w.written);
      negations.push({ said: run.map((r) => r.text).join(' '), before: nextWord === null ? null : words[nextWord].written, ...(replaced.length ? { instead: replaced } : {}), gain, place });
    } else {
      for (const r of run) substitutions.push({ said: r.text, instead: words[r.instead!].written, gain, frames: endFrame - startFrame });
    }
    i = end;
  }
  return { negations, substitutions };
}

/** Each word's frames in the recording's alignment, and on each reference rendering scaled to the recording's total. */
interface WordLengths {
  spans: Array<{ start: number; end: number }>;
  own: number[];
  theirs: number[][];
}

function wordLengths(words: LexWord[], forced: Segment[], references: ReferenceDecodes[]): WordLengths {
  const spans = wordSpans(words, forced);
  const own = spans.map((span) => span.end - span.start);
  const total = own.reduce((a, b) => a + b, 0);
  const theirs = references.map((ref) => {
    const lengths = wordSpans(words, ref.forced!).map((span) => span.end - span.start);
    const scale = total / lengths.reduce((a, b) => a + b, 0);
    return lengths.map((length) => length * scale);
  });
  return { spans, own, theirs };
}

/**
 * The time a negation reading takes that the sentence does not account for: how many frames
 * longer than on each reference rendering (at the recording's pace) the sentence words around it
 * last — the words the forced alignment puts in the negation's frames, the words before and after
 * it, and one more on either side — at least 0 and at most the negation's own audible frames
 * (what is left of a pause is no time for a negation); the least over the renderings (any voice
 * that says those words that slowly explains them). Measured over 13 espeak voices and real
 * speech in bench/RESULTS.md. Real speech varies more than synthetic speech (a word up to 36
 * frames longer than on every rendering), which is why only time where the competing decode heard
 * a negation counts.
 */
function extraFrames(lengths: WordLengths, audible: boolean[] | undefined, place: NegationReading['place']): number {
  const around = lengths.spans.flatMap((span, i) => (span.start < place.end && span.end > place.start ? [i] : []));
  if (place.previous !== null) around.push(place.previous);
  if (place.next !== null) around.push(place.next);
  // And one word more on either side: across a pause the alignment may shift time from one word to the next.
  const first = Math.max(0, Math.min(...around) - 1);
  const last = Math.min(lengths.own.length - 1, Math.max(...around) + 1);
  const longer = lengths.theirs.map((theirs) => { let sum = 0; for (let i = first; i <= last; i++) sum += lengths.own[i] - theirs[i]; return sum; });
  // What is left of a pause is no time for a negation: only audible frames count.
  let spoken = 0;
  for (let f = place.start; f < place.end; f++) if (audible?.[f] ?? true) spoken++;
  return Math.round(Math.max(0, Math.min(spoken, ...longer)));
}

/** The frames [start, end) of each word in a one-phone alignment. */
function wordSpans(words: LexWord[], forced: Segment[]): Array<{ start: number; end: number }> {
  const spans = words.map(() => ({ start: Infinity, end: -Infinity }));
  for (const segment of forced) {
    const phone = parsePhoneToken(segment.word);
    if (!phone) continue;
    spans[phone.word].start = Math.min(spans[phone.word].start, segment.startFrame);
    spans[phone.word].end = Math.max(spans[phone.word].end, segment.startFrame + segment.frames);
  }
  return spans;
}

/** Goodness of pronunciation of each phone of each word: (forced − loop score) per frame. */
function phoneGopsOf(words: LexWord[], forced: Segment[], loop: Segment[]): number[][] {
  const loopPerFrame = perFrameScores(loop);
  const phoneGops: number[][] = words.map(() => []);
  for (const segment of forced) {
    const phone = parsePhoneToken(segment.word);
    if (!phone) continue;
    let reference = 0;
    for (let f = segment.startFrame; f < segment.startFrame + segment.frames; f++) reference += loopPerFrame[f] ?? 0;
    phoneGops[phone.word].push((segment.score - reference) / segment.frames);
  }
  return phoneGops;
}

/** How far each word's GOP falls below the recording's typical (median) word. */
function shortfallsOf(wordGops: number[]): number[] {
  const typical = median(wordGops);
  return wordGops.map((g) => typical - g);
}

/** Spreads each loop segment's score evenly over its frames. */
function perFrameScores(segments: Segment[]): number[] {
  const perFrame: number[] = [];
  for (const s of segments) for (let f = s.startFrame; f < s.startFrame + s.frames; f++) perFrame[f] = s.score / s.frames;
  return perFrame;
}

/**
 * Each negation and where it was heard: in place of the words it replaced, else before a word or
 * at the end ("'won't' in place of 'avatar', 'do not' before 'consent', 'no' at the end").
 */
function said(negations: HeardNegation[]): string {
  const where = (n: HeardNegation) => (n.instead ? ` in place of '${n.instead.join(' ')}'` : n.before ? ` before '${n.before}'` : ' at the end');
  return negations.map((n) => `'${n.said}'${where(n)}`).join(', ');
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
