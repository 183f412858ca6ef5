// The embedded espeak-ng engine: a small pool of worker threads (one WASM espeak instance each),
// plus the conversion of espeak's raw events into word and phoneme timings.

import { Worker } from 'node:worker_threads';
import type { PhonemeTiming, SynthesisResult, TtsEngine, VoiceProfile } from './engine.js';
import { TtsInputError } from './engine.js';
import type { RawEvent, SynthRequest, SynthResponse } from './espeak-worker.js';
import { escapeMarkup } from './plain-text.js';
import { type WordTiming } from '../../media/srt.js';

const DEFAULTS = { rate: 175, pitch: 50, range: 50 } as const;
const LIMITS = { rate: [80, 450], pitch: [0, 100], range: [0, 100] } as const;

type JobParams = Omit<SynthRequest, 'id'>;

/**
 * The most speech a text may make: BASE_SECONDS plus SECONDS_PER_CHAR per code point at the
 * default rate, scaled for slower voices. Measured at rate 175 (per code point): English 0.07 s,
 * CJK read by an English voice 0.35 s, paragraph breaks ("a\n\n") 0.27 s; at rate 80 the worst
 * was 0.74 s, under the 1.09 s this allows. Past the cap espeak is stopped.
 */
const BASE_SECONDS = 10;
const SECONDS_PER_CHAR = 0.5;

interface RawSynthesis {
  wav: Buffer;
  sampleRate: number;
  sampleCount: number;
  events: RawEvent[];
}

interface Job {
  id: number;
  params: JobParams;
  resolve(result: RawSynthesis): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

export class EspeakEngine implements TtsEngine {
  private readonly threads: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;
  private nextId = 1;

  private readonly secondsPerChar: number;

  /** `secondsPerChar` overrides the speech cap (SECONDS_PER_CHAR), for tests of the cap. */
  constructor(opts: { threads?: number; secondsPerChar?: number } = {}) {
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`invalid espeak thread count ${threads}`);
    this.threads = threads;
    this.secondsPerChar = opts.secondsPerChar ?? SECONDS_PER_CHAR;
  }

  async synthesize(text: string, voice: VoiceProfile): Promise<SynthesisResult> {
    if (this.closed) throw new Error('the espeak engine is closed');
    const escaped = escapeMarkup(text);
    const params = toJobParams(escaped.text, voice);
    const chars = [...text].length;
    params.maxSeconds = BASE_SECONDS + (chars * this.secondsPerChar * DEFAULTS.rate) / params.rate;
    const raw = await this.enqueue(params);
    const durationMs = (raw.sampleCount * 1000) / raw.sampleRate;
    const events = raw.events.map((e) => (e.type === 'word' ? { ...e, ...escaped.toOriginal(e.pos, e.len) } : e));
    const { words, phonemes } = buildTimings(text, events, durationMs);
    if (raw.sampleCount === 0 || words.length === 0) {
      throw new TtsInputError('The text contains nothing that can be spoken.');
    }
    return { wav: raw.wav, sampleRate: raw.sampleRate, durationMs, words, phonemes };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the espeak engine was closed'));
    // Terminating fires 'exit', which rejects any in-flight job.
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private enqueue(params: JobParams): Promise<RawSynthesis> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, params, resolve, reject });
      this.pump();
    });
  }

  /** Hands queued jobs (FIFO) to idle workers, spawning workers lazily up to the thread limit. */
  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      const slot = this.slots.find((s) => s.job === null) ?? (this.slots.length < this.threads ? this.spawn() : null);
      if (!slot) return;
      this.dispatch(slot, this.queue.shift()!);
    }
  }

  private dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    // Only a busy worker should keep the process alive; idle ones are unref'd in settle().
    slot.worker.ref();
    const request: SynthRequest = { id: job.id, ...job.params };
    slot.worker.postMessage(request);
  }

  private spawn(): Slot {
    const worker = startWorker();
    const slot: Slot = { worker, job: null };
    worker.on('message', (msg: SynthResponse) => this.settle(slot, msg));
    worker.on('error', (err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      this.retire(slot, new Error(`espeak worker crashed: ${reason}`));
    });
    worker.on('exit', (code) => {
      const reason = this.closed ? 'the espeak engine was closed' : `espeak worker exited unexpectedly (code ${code})`;
      this.retire(slot, new Error(reason));
    });
    this.slots.push(slot);
    return slot;
  }

  /** Takes a dead worker out of the pool at once, so no new job is sent to it, and fails its job. */
  private retire(slot: Slot, err: Error): void {
    const job = slot.job;
    slot.job = null;
    job?.reject(err);
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    // Queued work gets a fresh worker.
    this.pump();
  }

  private settle(slot: Slot, msg: SynthResponse): void {
    const job = slot.job;
    if (!job || job.id !== msg.id) return;
    slot.job = null;
    slot.worker.unref();
    if (msg.ok) {
      job.resolve({ wav: Buffer.from(msg.wav), sampleRate: msg.sampleRate, sampleCount: msg.sampleCount, events: msg.events });
    } else {
      job.reject(new TtsInputError(msg.message));
    }
    this.pump();
  }
}

/**
 * Starts a worker thread running espeak-worker. From compiled JS (dist/) that is the sibling .js
 * file. When the TypeScript sources run through tsx (tests, dev), the sibling .ts file has to be
 * loaded through tsx's API: on Node 20 loader hooks registered by `--import tsx` do not reach
 * worker threads, so the worker would fail with "Unknown file extension .ts".
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./espeak-worker.js', import.meta.url));
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./espeak-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}));`;
  return new Worker(bootstrap, { eval: true });
}

function toJobParams(text: string, voice: VoiceProfile): JobParams {
  if (voice.engine !== 'espeak') throw new TtsInputError(`The voice is for engine '${voice.engine}', not espeak.`);
  if (typeof voice.voice !== 'string' || !/^[\w\-/+]+$/.test(voice.voice)) {
    throw new TtsInputError(`unknown espeak voice '${String(voice.voice)}'`);
  }
  if (text.trim() === '') throw new TtsInputError('The text is empty.');
  return {
    text,
    voice: voice.voice,
    maxSeconds: Infinity,
    rate: checkedParam('rate', voice.rate),
    pitch: checkedParam('pitch', voice.pitch),
    range: checkedParam('range', voice.range),
  };
}

function checkedParam(name: keyof typeof LIMITS, value: number | undefined): number {
  if (value === undefined) return DEFAULTS[name];
  const [min, max] = LIMITS[name];
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new TtsInputError(`The voice ${name} must be between ${min} and ${max}.`);
  }
  return Math.round(value);
}

// ---------------------------------------------------------------------------------------------
// Timings

/**
 * Turns raw espeak events into word and phoneme timings. Exported for unit tests.
 *
 * espeak's raw word events are messy in ways subtitles and lip-sync care about: positions count
 * code points, CJK multi-character words are reported with length 1, and expansions (numbers like
 * "3.5", emoji names) produce several events pointing into the same or whitespace-only text.
 * The result has non-empty, non-overlapping text spans in order, strictly increasing start times
 * and endMs > startMs, with words never overlapping each other in time.
 */
export function buildTimings(
  text: string,
  events: RawEvent[],
  durationMs: number,
): { words: WordTiming[]; phonemes: PhonemeTiming[] } {
  const toIndex = codePointToIndex(text);
  const phonemes = buildPhonemes(events, durationMs);
  const words = buildWords(text, events, durationMs, toIndex, phonemes);
  return { words, phonemes };
}

/** Maps a code-point offset into a UTF-16 string index; identity when the text has no surrogates. */
function codePointToIndex(text: string): (cp: number) => number {
  if (!/[\uD800-\uDFFF]/.test(text)) return (cp) => Math.max(0, Math.min(cp, text.length));
  const offsets: number[] = [];
  for (let i = 0; i < text.length; i += (text.codePointAt(i)! > 0xffff ? 2 : 1)) offsets.push(i);
  offsets.push(text.length);
  return (cp) => offsets[Math.max(0, Math.min(cp, offsets.length - 1))];
}

function buildPhonemes(events: RawEvent[], durationMs: number): PhonemeTiming[] {
  const out: PhonemeTiming[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    // Empty-id phoneme events mark pauses: they only serve as the end of the previous phoneme.
    if (e.type !== 'phoneme' || e.id === '') continue;
    let j = i + 1;
    while (j < events.length && events[j].type === 'word') j++;
    const endMs = Math.min(j < events.length ? events[j].ms : durationMs, durationMs);
    // Zero-length phonemes (several events at one position) carry no timing; drop them.
    if (endMs > e.ms) out.push({ phoneme: e.id, startMs: e.ms, endMs });
  }
  return out;
}

interface Span {
  startMs: number;
  endMs: number;
  charStart: number;
  charEnd: number;
}

function buildWords(
  text: string,
  events: RawEvent[],
  durationMs: number,
  toIndex: (cp: number) => number,
  phonemes: PhonemeTiming[],
): WordTiming[] {
  const raw: Span[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.type !== 'word') continue;
    const cpStart = Math.max(0, e.pos - 1);
    const endMs = nextBoundaryMs(events, i, durationMs, (n) => n.type !== 'phoneme');
    // Some CJK words are reported with length 0; they still cover at least their first character.
    raw.push({ startMs: e.ms, endMs, charStart: toIndex(cpStart), charEnd: toIndex(cpStart + Math.max(1, e.len)) });
  }
  const spans = mergeSpans(raw.map((span, i) => fixTextSpan(text, span, raw[i + 1]?.charStart ?? text.length)));
  trimTrailingPauses(spans, phonemes);
  return addUnreportedWords(text, spans, phonemes).map((s) => ({ text: text.slice(s.charStart, s.charEnd), ...s }));
}

/** The first later event (accepted by `isBoundary`) strictly after event i; else the audio end. */
function nextBoundaryMs(events: RawEvent[], i: number, durationMs: number, isBoundary: (e: RawEvent) => boolean): number {
  const startMs = events[i].ms;
  for (let j = i + 1; j < events.length; j++) {
    if (isBoundary(events[j]) && events[j].ms > startMs) return Math.min(events[j].ms, durationMs);
  }
  return durationMs;
}

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
/** Joins letters inside one written word: don't, e-mail, U.S.A */
const CONNECTOR = /['’\-‐.]/u;
const SPACE = /\s/;

/**
 * Trims whitespace off the span, then extends it over the rest of the written word, up to the next
 * word's start: espeak reports CJK words such as 你好 with a length of one character, and stops
 * English words at apostrophes and hyphens ("don" for "don't").
 */
function fixTextSpan(text: string, span: Span, limit: number): Span {
  let { charStart, charEnd } = span;
  while (charStart < charEnd && SPACE.test(text[charStart])) charStart++;
  while (charEnd > charStart && SPACE.test(text[charEnd - 1])) charEnd--;
  if (charEnd > charStart) {
    while (charEnd < limit) {
      const step = wordCharLength(text, charEnd) || (CONNECTOR.test(text[charEnd]) ? wordCharLength(text, charEnd + 1) && 1 : 0);
      if (step === 0) break;
      charEnd += step;
    }
  }
  return { ...span, charStart, charEnd };
}

/** UTF-16 length of the character at `index` if it is a letter, digit or mark; else 0. */
function wordCharLength(text: string, index: number): number {
  if (index >= text.length) return 0;
  const ch = String.fromCodePoint(text.codePointAt(index)!);
  return WORD_CHAR.test(ch) ? ch.length : 0;
}

/**
 * Folds spans that add no new text (empty, or starting inside the previous word, as with "3.5" read
 * as three spoken words) or no new time into the previous word, so one written word is one timing.
 */
function mergeSpans(spans: Span[]): Span[] {
  const out: Span[] = [];
  for (const span of spans) {
    const prev = out[out.length - 1];
    const empty = span.charEnd <= span.charStart;
    if (prev && (empty || span.charStart < prev.charEnd || span.startMs <= prev.startMs || span.endMs <= span.startMs)) {
      prev.endMs = Math.max(prev.endMs, span.endMs);
      if (!empty) prev.charEnd = Math.max(prev.charEnd, span.charEnd);
    } else if (!empty && span.endMs > span.startMs) {
      out.push({ ...span });
    }
  }
  // A merged word may now reach into the next one's time; words must not overlap.
  for (let i = 0; i + 1 < out.length; i++) out[i].endMs = Math.min(out[i].endMs, out[i + 1].startMs);
  return out;
}

/**
 * espeak attributes the pause after a clause to the word before it. Ending each word where its
 * last phoneme ends gives tighter timings for highlighting and lip-sync.
 */
function trimTrailingPauses(spans: Span[], phonemes: PhonemeTiming[]): void {
  let p = 0;
  for (const span of spans) {
    while (p < phonemes.length && phonemes[p].startMs < span.startMs) p++;
    let lastEnd = -1;
    for (let q = p; q < phonemes.length && phonemes[q].startMs < span.endMs; q++) lastEnd = phonemes[q].endMs;
    if (lastEnd > span.startMs && lastEnd < span.endMs) span.endMs = lastEnd;
  }
}

const WRITTEN_WORD = /[\p{L}\p{N}\p{M}]+(?:['’\-‐.][\p{L}\p{N}\p{M}]+)*/gu;

/**
 * espeak speaks some word pairs as one dictionary entry ("this one") and reports only the first
 * word. Words written between two reported words share the reported word's time, split in
 * proportion to their length and snapped to the nearest phoneme start.
 */
function addUnreportedWords(text: string, spans: Span[], phonemes: PhonemeTiming[]): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    const gapEnd = spans[i + 1]?.charStart ?? text.length;
    const hidden = [...text.slice(span.charEnd, gapEnd).matchAll(WRITTEN_WORD)].map((m) => ({
      charStart: span.charEnd + m.index!,
      charEnd: span.charEnd + m.index! + m[0].length,
    }));
    const parts = [{ charStart: span.charStart, charEnd: span.charEnd }, ...hidden];
    if (hidden.length === 0 || span.endMs - span.startMs < parts.length * 2) {
      out.push(span);
      continue;
    }
    out.push(...splitTime(span, parts, phonemes));
  }
  return out;
}

function splitTime(span: Span, parts: { charStart: number; charEnd: number }[], phonemes: PhonemeTiming[]): Span[] {
  const totalChars = parts.reduce((sum, p) => sum + (p.charEnd - p.charStart), 0);
  const out: Span[] = [];
  let startMs = span.startMs;
  let chars = 0;
  for (const [k, part] of parts.entries()) {
    chars += part.charEnd - part.charStart;
    const remaining = parts.length - 1 - k;
    // Leave at least 1 ms for each remaining part.
    const latest = span.endMs - remaining;
    const proportional = Math.round(span.startMs + ((span.endMs - span.startMs) * chars) / totalChars);
    const endMs = remaining === 0 ? span.endMs : Math.min(latest, Math.max(startMs + 1, nearestPhonemeStart(phonemes, proportional, startMs, latest)));
    out.push({ ...part, startMs, endMs });
    startMs = endMs;
  }
  return out;
}

/** The phoneme start closest to `ms` within (after, upTo]; `ms` itself when there is none. */
function nearestPhonemeStart(phonemes: PhonemeTiming[], ms: number, after: number, upTo: number): number {
  let best = ms;
  let bestDistance = Infinity;
  for (let i = firstPhonemeAfter(phonemes, after); i < phonemes.length; i++) {
    const p = phonemes[i];
    if (p.startMs > upTo) break;
    const distance = Math.abs(p.startMs - ms);
    if (distance < bestDistance) {
      best = p.startMs;
      bestDistance = distance;
    }
  }
  return best;
}

/** Index of the first phoneme starting after `ms` (binary search; phonemes are in time order). */
function firstPhonemeAfter(phonemes: PhonemeTiming[], ms: number): number {
  let lo = 0;
  let hi = phonemes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (phonemes[mid].startMs <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
