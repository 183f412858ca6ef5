// Worker-thread side of the espeak pool (see espeak.ts). espeak-ng compiled to WASM synthesizes
// synchronously, so each instance lives in its own thread to keep the main event loop free.
// The main thread sends at most one request at a time per worker; requests are still chained so
// the stateful espeak instance (current voice/rate/pitch) can never see interleaved calls.

import { parentPort } from 'node:worker_threads';
import { WAV_HEADER_BYTES, writePcm16, writeWavHeader } from '../../media/wav.js';

export interface SynthRequest {
  id: number;
  text: string;
  voice: string;
  rate: number;
  pitch: number;
  range: number;
  /** Stop and fail once the speech is longer than this. */
  maxSeconds: number;
}

/** The subset of espeak events the main thread needs to build timings. Positions are raw espeak values. */
export interface RawEvent {
  type: 'word' | 'phoneme' | 'end' | 'sentence';
  /** Audio position in ms. */
  ms: number;
  /** 1-based text position as reported by espeak (counts code points, not UTF-16 units). */
  pos: number;
  /** Word length in code points ('word' events only). */
  len: number;
  /** Phoneme string ('phoneme' events only; may be empty at pauses). */
  id: string;
}

export type SynthResponse =
  | { id: number; ok: true; wav: ArrayBuffer; sampleRate: number; sampleCount: number; events: RawEvent[] }
  | { id: number; ok: false; message: string };

interface EspeakEvent {
  type: string;
  audio_position: number;
  text_position: number;
  word_length: number;
  id?: string | number;
}

interface EspeakInstance {
  readonly samplerate: number;
  set_voice(voice: string): number;
  set_rate(rate: number): void;
  set_pitch(pitch: number): void;
  set_range(range: number): void;
  /** The callback must return a falsy value: a truthy return asks espeak to abort synthesis. */
  synthesize(text: string, callback: (samples: Int16Array | null, events: EspeakEvent[]) => unknown): void;
}

const KEPT_EVENT_TYPES = new Set(['word', 'phoneme', 'end', 'sentence']);

async function createEspeak(): Promise<EspeakInstance> {
  // The package ships no type declarations; importing through a variable keeps the compiler from
  // demanding them, and EspeakInstance above documents the part of the API we rely on.
  const specifier = '@echogarden/espeak-ng-emscripten';
  const { default: init } = (await import(specifier)) as { default: () => Promise<{ eSpeakNGWorker: new () => EspeakInstance }> };
  const module = await init();
  return new module.eSpeakNGWorker();
}

function synthesize(espeak: EspeakInstance, req: SynthRequest): SynthResponse {
  if (espeak.set_voice(req.voice) !== 0) {
    return { id: req.id, ok: false, message: `unknown espeak voice '${req.voice}'` };
  }
  // Set every parameter on every request: the instance remembers values from the previous caller.
  espeak.set_rate(req.rate);
  espeak.set_pitch(req.pitch);
  espeak.set_range(req.range);

  const chunks: Int16Array[] = [];
  let sampleCount = 0;
  const events: RawEvent[] = [];
  const maxSamples = req.maxSeconds * espeak.samplerate;
  let overLimit = false;
  espeak.synthesize(req.text, (samples, chunkEvents) => {
    if (samples && samples.length > 0) {
      chunks.push(samples);
      sampleCount += samples.length;
    }
    if (sampleCount > maxSamples) {
      overLimit = true;
      return true; // asks espeak to stop
    }
    for (const e of chunkEvents) {
      if (!KEPT_EVENT_TYPES.has(e.type)) continue;
      events.push({
        type: e.type as RawEvent['type'],
        ms: e.audio_position,
        pos: e.text_position,
        len: e.word_length,
        id: e.type === 'phoneme' && typeof e.id === 'string' ? e.id : '',
      });
    }
    return false;
  });
  if (overLimit) {
    return {
      id: req.id, ok: false,
      message: `The text makes more speech than a text of its length can (over ${Math.round(req.maxSeconds)} s); shorten long runs of line breaks, symbols or pauses.`,
    };
  }
  const wav = toWav(chunks, sampleCount, espeak.samplerate);
  return { id: req.id, ok: true, wav, sampleRate: espeak.samplerate, sampleCount, events };
}

/** Writes the chunks straight into one WAV-sized buffer, so long texts are copied exactly once. */
function toWav(chunks: Int16Array[], sampleCount: number, sampleRate: number): ArrayBuffer {
  const arrayBuffer = new ArrayBuffer(WAV_HEADER_BYTES + sampleCount * 2);
  const out = Buffer.from(arrayBuffer);
  writeWavHeader(out, sampleCount * 2, sampleRate, 1);
  let offset = WAV_HEADER_BYTES;
  for (const chunk of chunks) {
    writePcm16(out, offset, chunk);
    offset += chunk.length * 2;
  }
  return arrayBuffer;
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('espeak-worker must be started as a worker thread');
  const ready = createEspeak();
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (req: SynthRequest) => {
    // Anything thrown here is an internal failure (e.g. a WASM abort) that may leave espeak in a bad
    // state; it is left unhandled on purpose so the thread dies and the pool replaces it.
    chain = chain.then(async () => {
      const response = synthesize(await ready, req);
      port.postMessage(response, response.ok ? [response.wav] : []);
    });
  });
}

main();
