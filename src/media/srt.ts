// Subtitle cues from word timings, and SRT formatting/parsing.

/** Where a word of the input was spoken: what speech engines report and subtitles are cut from. */
export interface WordTiming {
  /** The word as it appears in the input, i.e. `input.slice(charStart, charEnd)`. */
  text: string;
  startMs: number;
  endMs: number;
  /** JS string (UTF-16) indexes into the input text; end exclusive. */
  charStart: number;
  charEnd: number;
}

export interface Cue {
  /** 1-based, as in SRT. */
  index: number;
  startMs: number;
  endMs: number;
  text: string;
}

export interface CueOptions {
  /** Maximum characters per cue; defaults to 42 for alphabetic text and 20 for CJK text. */
  maxChars?: number;
  /** Maximum cue duration; a single word longer than this still gets its own cue. Default 5000. */
  maxDurationMs?: number;
  /** Audio duration: the last cue is extended to it so the subtitles cover the whole audio. */
  durationMs?: number;
}

const DEFAULT_MAX_CHARS = 42;
const DEFAULT_MAX_CHARS_CJK = 20;
const DEFAULT_MAX_DURATION_MS = 5000;

const SENTENCE_END = /[.!?。！？…‼⁇⁈⁉]/u;
const CLAUSE_END = /[,，;；:：、]/u;
const PARAGRAPH = /\n/;
const OPENING = /[\p{Ps}\p{Pi}"'¿¡]/u;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const LETTER = /\p{L}/u;

export function buildCues(text: string, words: WordTiming[], opts: CueOptions = {}): Cue[] {
  if (words.length === 0) return [];
  const layout: Layout = {
    text,
    words,
    bounds: wordBounds(text, words),
    maxChars: opts.maxChars ?? (isMostlyCjk(text) ? DEFAULT_MAX_CHARS_CJK : DEFAULT_MAX_CHARS),
    maxDurationMs: opts.maxDurationMs ?? DEFAULT_MAX_DURATION_MS,
  };
  const cues: Cue[] = [];
  for (let first = 0; first < words.length; ) {
    const last = lastWordOfCue(layout, first);
    cues.push(makeCue(layout, first, last, cues));
    first = last + 1;
  }
  extendLastCue(cues, opts.durationMs);
  return cues;
}

interface Layout {
  text: string;
  words: WordTiming[];
  bounds: Bounds;
  maxChars: number;
  maxDurationMs: number;
}

/**
 * Grows a cue word by word. It ends at a sentence end or paragraph, at a clause mark once it is half
 * full, or when the next word would overflow it; in that last case it goes back to the last clause
 * mark if there was one, so lines split at commas rather than mid-phrase.
 */
function lastWordOfCue(layout: Layout, first: number): number {
  const { text, words } = layout;
  let clauseBreak = -1;
  for (let i = first; i + 1 < words.length; i++) {
    const gap = text.slice(words[i].charEnd, words[i + 1].charStart);
    if (SENTENCE_END.test(gap) || PARAGRAPH.test(gap)) return i;
    if (CLAUSE_END.test(gap)) {
      if (cueLength(layout, first, i) >= layout.maxChars / 2) return i;
      clauseBreak = i;
    }
    const overflows =
      cueLength(layout, first, i + 1) > layout.maxChars || words[i + 1].endMs - words[first].startMs > layout.maxDurationMs;
    if (overflows) return clauseBreak >= 0 ? clauseBreak : i;
  }
  return words.length - 1;
}

function cueLength(layout: Layout, first: number, last: number): number {
  return displayLength(cueText(layout.text, layout.bounds.start[first], layout.bounds.end[last]));
}

/** Display text of a cue: the original text, trimmed, whitespace collapsed. */
function cueText(text: string, start: number, end: number): string {
  return text.slice(start, end).replace(/\s+/g, ' ').trim();
}

function displayLength(s: string): number {
  return [...s].length;
}

function isMostlyCjk(text: string): boolean {
  let cjk = 0;
  let letters = 0;
  for (const ch of text) {
    if (!LETTER.test(ch)) continue;
    letters++;
    if (CJK.test(ch)) cjk++;
  }
  // Latin words are several letters long while a CJK character is a word on its own, so a
  // minority of CJK characters already means most of the reading is CJK.
  return letters > 0 && cjk * 3 >= letters;
}

interface Bounds {
  /** Where a cue starting at word i begins in the text. */
  start: number[];
  /** Where a cue ending at word i ends in the text. */
  end: number[];
}

/**
 * Divides the whole text among the words, so that cues never lose text, even text the engine did
 * not report as words. The gap after a word (punctuation, closing quotes, unreported words) goes
 * to the cue ending there, except opening quotes/brackets, which go to the cue starting next.
 */
function wordBounds(text: string, words: WordTiming[]): Bounds {
  const n = words.length;
  const start: number[] = new Array<number>(n).fill(0);
  const end: number[] = new Array<number>(n).fill(text.length);
  for (let i = 0; i + 1 < n; i++) {
    const gapStart = Math.min(Math.max(words[i].charEnd, start[i]), text.length);
    const gapEnd = Math.max(gapStart, Math.min(words[i + 1].charStart, text.length));
    let split = gapEnd;
    while (split > gapStart && OPENING.test(text[split - 1])) split--;
    end[i] = split;
    start[i + 1] = split;
  }
  return { start, end };
}

function makeCue({ text, words, bounds }: Layout, first: number, last: number, cues: Cue[]): Cue {
  const prevEnd = cues.length > 0 ? cues[cues.length - 1].endMs : 0;
  // Clamping keeps cues monotonic and non-empty even for sloppy timings from other engines.
  const startMs = Math.max(words[first].startMs, prevEnd);
  const endMs = Math.max(words[last].endMs, startMs + 1);
  return { index: cues.length + 1, startMs, endMs, text: cueText(text, bounds.start[first], bounds.end[last]) };
}

function extendLastCue(cues: Cue[], durationMs: number | undefined): void {
  const lastCue = cues[cues.length - 1];
  if (!lastCue || durationMs === undefined || durationMs <= lastCue.startMs) return;
  lastCue.endMs = durationMs;
}

// ---------------------------------------------------------------------------------------------
// SRT text format

export function formatSrt(cues: Cue[]): string {
  return cues.map((c) => `${c.index}\n${formatTimestamp(c.startMs)} --> ${formatTimestamp(c.endMs)}\n${c.text}\n`).join('\n');
}

function formatTimestamp(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor(total / 60_000) % 60;
  const seconds = Math.floor(total / 1000) % 60;
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)},${pad(total % 1000, 3)}`;
}

const TIMING_LINE = /^\s*(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*-->\s*(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})/;

/** Parses SRT leniently (CRLF, BOM, missing index lines, '.' as millisecond separator). */
export function parseSrt(s: string): Cue[] {
  const blocks = s.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split(/\n\s*\n/);
  const cues: Cue[] = [];
  for (const block of blocks) {
    const lines = block.split('\n').filter((line, i, all) => line.trim() !== '' || (i > 0 && i < all.length - 1));
    const timingAt = lines.findIndex((line) => TIMING_LINE.test(line));
    if (timingAt < 0) continue;
    const m = TIMING_LINE.exec(lines[timingAt])!;
    const indexLine = timingAt > 0 ? Number.parseInt(lines[timingAt - 1], 10) : Number.NaN;
    cues.push({
      index: Number.isFinite(indexLine) ? indexLine : cues.length + 1,
      startMs: toMs(m[1], m[2], m[3], m[4]),
      endMs: toMs(m[5], m[6], m[7], m[8]),
      text: lines.slice(timingAt + 1).join('\n').trim(),
    });
  }
  return cues;
}

function toMs(h: string, m: string, s: string, frac: string): number {
  return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(frac.padEnd(3, '0'));
}
