// Subtitle cues from word timings, and SRT formatting/parsing.

import type { WordTiming } from '../engines/tts/engine.js';

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
const OPENING = /[\p{Ps}\p{Pi}]/u;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const LETTER = /\p{L}/u;

export function buildCues(text: string, words: WordTiming[], opts: CueOptions = {}): Cue[] {
  if (words.length === 0) return [];
  const maxChars = opts.maxChars ?? (isMostlyCjk(text) ? DEFAULT_MAX_CHARS_CJK : DEFAULT_MAX_CHARS);
  const maxDurationMs = opts.maxDurationMs ?? DEFAULT_MAX_DURATION_MS;
  const bounds = wordBounds(text, words);

  const cues: Cue[] = [];
  let first = 0;
  for (let i = 0; i < words.length; i++) {
    const last = i === words.length - 1;
    const breakHere = last || shouldBreakAfter(text, bounds, words, first, i, maxChars, maxDurationMs);
    if (!breakHere) continue;
    cues.push(makeCue(text, bounds, words, first, i, cues));
    first = i + 1;
  }
  extendLastCue(cues, opts.durationMs);
  return cues;
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
  /** Where a cue starting at word i begins in the text (includes opening quotes/brackets). */
  start: number[];
  /** Where a cue ending at word i ends in the text (includes closing punctuation). */
  end: number[];
}

/**
 * Splits the gap between consecutive words: punctuation attached to the end of a word (",", "。",
 * closing quotes) belongs to the cue ending there; opening quotes/brackets to the cue starting next.
 */
function wordBounds(text: string, words: WordTiming[]): Bounds {
  const start: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const prevEnd = i > 0 ? Math.max(words[i - 1].charEnd, end[i - 1]) : 0;
    let s = Math.min(words[i].charStart, text.length);
    while (s > prevEnd && !/\s/.test(text[s - 1])) s--;
    start.push(s);

    const limit = i + 1 < words.length ? words[i + 1].charStart : text.length;
    let e = Math.max(words[i].charEnd, s);
    while (e < limit && !/\s/.test(text[e]) && !OPENING.test(text[e])) e++;
    end.push(e);
  }
  // An opening mark claimed by both sides (no whitespace in between, as in CJK) goes to the next cue.
  for (let i = 0; i + 1 < words.length; i++) end[i] = Math.min(end[i], Math.max(start[i + 1], words[i].charEnd));
  return { start, end };
}

function shouldBreakAfter(
  text: string,
  bounds: Bounds,
  words: WordTiming[],
  first: number,
  i: number,
  maxChars: number,
  maxDurationMs: number,
): boolean {
  const gap = text.slice(words[i].charEnd, words[i + 1].charStart);
  if (SENTENCE_END.test(gap) || PARAGRAPH.test(gap)) return true;
  const length = displayLength(cueText(text, bounds.start[first], bounds.end[i]));
  if (CLAUSE_END.test(gap) && length >= maxChars / 2) return true;
  // Break before the next word if adding it would overflow the cue.
  const nextLength = displayLength(cueText(text, bounds.start[first], bounds.end[i + 1]));
  const nextDuration = words[i + 1].endMs - words[first].startMs;
  return nextLength > maxChars || nextDuration > maxDurationMs;
}

function makeCue(text: string, bounds: Bounds, words: WordTiming[], first: number, last: number, cues: Cue[]): Cue {
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
