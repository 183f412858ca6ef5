import { createWriteStream, existsSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { describeStatus, statusOf, type ClonedVoice, type DhpClient, type TaskKind, type Training, type Tts, type Video } from '../client/index.js';
import { CliError, EXIT, UsageError } from './args.js';
import { progress } from './progress.js';

/** The long-running tasks the CLI creates and waits for, by the name `dhp wait` uses (the SDK's, the API's). */
export type Kind = TaskKind;
/** Words `dhp wait` also takes for a kind: "avatar" is what earlier versions called a training. */
const ALIASES: Readonly<Record<string, Kind>> = { avatar: 'training' };
type TaskRecord = Tts | Training | ClonedVoice | Video;
/** Where finished results go: -o FILE and --srt FILE. */
export interface Outputs { output?: string; srt?: string }
type Urls = { [K in keyof Outputs]?: string | null };

/** What the CLI shows of a kind; its statuses are the SDK's table (statuses, describeStatus). */
interface KindInfo<R extends TaskRecord> {
  /** The task's short name in messages ("video 12 created"). */
  noun: string;
  failure(r: R): string | null;
  /** What a finished task produced, for people. */
  summary(r: R): string;
  /** The results -o (output) and --srt can download, and where they are. */
  outputs: (keyof Outputs)[];
  urls(r: R): Urls;
}

const tts: KindInfo<Tts> = {
  noun: 'TTS', failure: (r) => r.reason ?? null,
  summary: (r) => `TTS ${r.id}: ${((r.duration ?? 0) / 1000).toFixed(1)} s of speech by ${r.speakerId}`,
  outputs: ['output', 'srt'], urls: (r) => ({ output: r.ttsUrl, srt: r.srtUrl }),
};
const voice: KindInfo<ClonedVoice> = {
  noun: 'voice clone', failure: (r) => r.reason,
  summary: (r) => `voice ${r.speakerId} ("${r.ttsName}") is ready: dhp tts "..." --voice ${r.speakerId}`,
  outputs: [], urls: () => ({}),
};
const training: KindInfo<Training> = {
  noun: 'avatar training', failure: (r) => r.comment || null,
  summary: (r) => `avatar training ${r.id} ("${r.title}") is ready as scene ${r.sceneId}: dhp video create --avatar ${r.sceneId} ...`,
  outputs: [], urls: () => ({}),
};
const video: KindInfo<Video> = {
  noun: 'video', failure: (r) => r.failReason,
  summary: (r) => `video ${r.id}${r.videoName ? ` ("${r.videoName}")` : ''}: ${r.duration ?? '?'} s`,
  outputs: ['output'], urls: (r) => ({ output: r.videoUrl }),
};
export const KINDS: Record<Kind, KindInfo<any>> = { tts, voice, training, video };

/** The kind a word typed after `dhp wait` names (an alias included), or undefined. */
export function kindOf(s: string | undefined): Kind | undefined {
  if (s === undefined) return undefined;
  return Object.hasOwn(KINDS, s) ? (s as Kind) : Object.hasOwn(ALIASES, s) ? ALIASES[s] : undefined;
}

export function statusName(kind: Kind, status: number): string {
  return describeStatus(kind, status).label;
}

/** A task id as typed: digits for everything but a voice (its speakerId). */
export function taskId(kind: Kind, id: string | undefined): string {
  if (!id) throw new UsageError(`wait ${kind} needs the ${kind === 'voice' ? 'speakerId' : 'task id'}`);
  if (kind !== 'voice' && !/^\d{1,15}$/.test(id)) throw new UsageError(`${kind} ids are numbers, got "${id}"`);
  return id;
}

/** Refuses, before anything is created, outputs the task cannot produce or whose folder does not exist. */
export function checkOutputs(kind: Kind, out: Outputs): void {
  for (const flag of ['output', 'srt'] as const) {
    const file = out[flag];
    if (file === undefined) continue;
    const name = flag === 'output' ? '-o/--output' : '--srt';
    if (!KINDS[kind].outputs.includes(flag)) throw new UsageError(`${name} does not apply to a ${KINDS[kind].noun}`);
    const dir = path.dirname(path.resolve(file));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${name}: folder ${dir} does not exist`);
  }
}

const shellWord = (s: string) => (/^[\w./:@=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command that resumes waiting for a task (and downloads what was asked for). */
export function resumeCommand(kind: Kind, id: string, opts: Outputs): string {
  return ['dhp', 'wait', kind, id, ...(opts.output ? ['-o', opts.output] : []), ...(opts.srt ? ['--srt', opts.srt] : [])].map(shellWord).join(' ');
}

/** Ctrl-C while a task is being created (uploads, the create request): see holdInterrupts. */
export interface Hold { interrupted(): boolean; release(): void }

/**
 * Holds Ctrl-C while a task is being created: the request in flight finishes, so that its task
 * can be named and resumed rather than left running unnamed; a second Ctrl-C quits at once.
 */
export function holdInterrupts(): Hold {
  let hit = false;
  const onSigint = () => {
    if (hit) process.exit(EXIT.interrupted);
    hit = true;
    process.stderr.write('Interrupted: letting the request in flight finish so that its task can be named (Ctrl-C again quits at once).\n');
  };
  process.on('SIGINT', onSigint);
  return { interrupted: () => hit, release: () => { process.off('SIGINT', onSigint); } };
}

export interface FinishOptions extends Outputs {
  json: boolean;
  /** Printed (stderr) once Ctrl-C is handled, so that whoever reads it may already interrupt. */
  announce?: string;
}

/**
 * Waits for a task with a progress display on stderr, downloads its results, then prints the
 * final record (stdout). Ctrl-C stops waiting (the task keeps running) and returns 130.
 * Returns 0 when the task succeeded, 1 when it ended otherwise.
 */
export async function finish(client: DhpClient, kind: Kind, id: string, opts: FinishOptions): Promise<number> {
  const info = KINDS[kind];
  const stop = new AbortController();
  // The first Ctrl-C aborts the wait (and a poll or download in flight); a second one exits at once, whatever is left.
  const onSigint = () => { if (stop.signal.aborted) process.exit(EXIT.interrupted); stop.abort(); };
  process.on('SIGINT', onSigint);
  if (opts.announce) process.stderr.write(opts.announce);
  const shown = progress(`${kind} ${id}`);
  try {
    const rec = await client.waitFor(kind, id, {
      intervalMs: 1000, timeoutMs: Infinity, signal: stop.signal,
      onProgress: (r, s) => shown.status(statusName(kind, s), (r as { progress?: number }).progress),
    });
    shown.done();
    const ended = describeStatus(kind, statusOf(kind, rec));
    const files: Outputs = ended.ok ? await downloadAll(info.urls(rec), opts, `${info.noun} ${id}`, stop.signal) : {};
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...rec, files })}\n`);
    if (!ended.ok) {
      const why = info.failure(rec);
      process.stderr.write(`dhp: ${info.noun} ${id} ended ${ended.label}${why ? `: ${why}` : ''}\n`);
      return EXIT.failed;
    }
    if (!opts.json) {
      const lines = [info.summary(rec)];
      const urls = info.urls(rec);
      for (const k of info.outputs) {
        if (files[k]) lines.push(`wrote ${files[k]}`);
        else if (urls[k]) lines.push(`${k === 'srt' ? 'subtitles' : kind === 'tts' ? 'audio' : 'video'}: ${urls[k]}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return EXIT.ok;
  } catch (err) {
    if (!stop.signal.aborted) throw err;
    shown.done();
    process.stderr.write(`Stopped waiting for ${info.noun} ${id}; the task is not canceled. Resume with: ${resumeCommand(kind, id, opts)}\n`);
    return EXIT.interrupted;
  } finally {
    shown.done();
    process.off('SIGINT', onSigint);
  }
}

async function downloadAll(urls: Urls, want: Outputs, what: string, signal: AbortSignal): Promise<Outputs> {
  const files: Outputs = {};
  for (const k of Object.keys(urls) as (keyof Outputs)[]) {
    const file = want[k];
    if (!file) continue;
    const url = urls[k];
    if (!url) throw new CliError(`${what} succeeded but the API gave no ${k === 'srt' ? 'subtitles' : 'file'} URL to download`, EXIT.failed);
    files[k] = await download(url, file, signal);
  }
  return files;
}

/** Streams a URL to a file: written to a temporary file beside it, renamed when complete. */
export async function download(url: string, file: string, signal: AbortSignal): Promise<string> {
  const target = path.resolve(file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.part`);
  const res = await fetch(url, { signal });
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new CliError(`downloading ${url} failed: HTTP ${res.status}`, EXIT.failed);
  }
  try {
    await pipeline(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), createWriteStream(tmp), { signal });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return target;
}
