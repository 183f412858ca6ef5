// Lip-sync through Duix.Avatar's face2face service (the `duix-avatar-gen-video` container).
//
// Protocol, as the Duix.Avatar client uses it:
//   POST {base}/easy/submit  {audio_url, video_url, code, chaofen, watermark_switch, pn}
//        → {code: 10000, ...} accepted; 10001 busy with another job; 9999/10002/10003 refused
//   GET  {base}/easy/query?code=<code>
//        → {code: 10000, data: {status: 1 running | 2 done | 3 failed, progress, msg, result}}
//          {code: 10004} unknown task; 9999/10002/10003 failure
// `code` is a task id the client chooses. The service answers JSON with a text/html content
// type (Flask returning a string), so replies are parsed regardless of their content type.
//
// The service exchanges media by file path: it reads `audio_url`/`video_url` from its own
// filesystem (or downloads them when they are http(s) URLs) and reports `result` as a path
// in its filesystem (e.g. /code/data/temp/<code>-r.mp4). Two ways to bridge that:
//   - shared folder: dhp copies the inputs into a folder the container mounts (localDir on
//     dhp's side, remoteDir inside the container) and reads the result back from it;
//   - URLs: dhp copies the inputs into a folder it serves at publicBaseUrl, the service
//     downloads them, and dhp fetches the result with GET {base}/download?path=<result>.
//     ASSUMPTION: the stock service (app_local.py) exposes only /easy/submit and /easy/query,
//     so /download must be provided by whatever fronts it (e.g. a reverse proxy that serves
//     the container's data folder under /download?path=). Use the shared-folder mode with a
//     stock deployment.

import { randomUUID } from 'node:crypto';
import { constants as fsConstants, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatBytes } from '../../domain/text.js';
import { HttpFetchError, type SafeHttp, type SafeResponse, type SafeStreamResponse } from '../../net/http.js';
import { LipsyncError, type LipsyncEngine, type LipsyncJob, type LipsyncProgress } from './engine.js';

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/** The service container mounts a folder dhp can also write to. */
export interface DuixSharedFolder {
  /** The folder as dhp sees it. */
  localDir: string;
  /** The same folder as the service sees it, e.g. /code/data. */
  remoteDir: string;
}

/** dhp serves its inputs over HTTP and the service downloads them (see ASSUMPTION above). */
export interface DuixPublicFolder {
  /** The URL at which dhp serves `localDir`, reachable from the service. */
  publicBaseUrl: string;
  localDir: string;
}

export interface DuixOptions {
  /** Root of the service, e.g. http://gpu-host:8383 (without /easy). */
  baseUrl: string;
  shared: DuixSharedFolder | DuixPublicFolder;
  /** Interval between status queries; default 1000. */
  pollMs?: number;
  /** Whole-job limit, including waiting for a busy engine; default 30 minutes. */
  timeoutMs?: number;
  /** URL mode only: refuse results larger than this; default 2 GiB. */
  maxResultBytes?: number;
  http: SafeHttp;
}

const DEFAULT_POLL_MS = 1000;
const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_MAX_RESULT_BYTES = 2 * 1024 ** 3;
/** submit/query answer at once on a healthy service; a stuck call must not eat the whole job budget. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Even past the job deadline, the last call gets a fair chance to answer. */
const MIN_REQUEST_TIMEOUT_MS = 1000;
/** Consecutive failed status queries tolerated before giving up (the job keeps running meanwhile). */
const MAX_QUERY_FAILURES = 5;
/** Engine messages are shown to users; keep them to a readable length. */
const MAX_ENGINE_MESSAGE_CHARS = 300;

const CODE_OK = 10000;
const CODE_BUSY = 10001;
const CODE_UNKNOWN_TASK = 10004;
/** system error, bad parameters, lock failure: the engine says it will not do this job. */
const FAILURE_CODES = new Set([9999, 10002, 10003]);

const STATUS_DONE = 2;
const STATUS_FAILED = 3;

// ---------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------

/** One render in progress. */
interface Run {
  job: LipsyncJob;
  /** The task id dhp chose for the service. */
  code: string;
  /** Epoch ms after which the job has timed out. */
  deadline: number;
  report(p: LipsyncProgress): void;
}

/** The inputs as the service must name them (paths in its filesystem, or URLs). */
interface EngineInputs {
  audio: string;
  video: string;
}

export class DuixFace2FaceEngine implements LipsyncEngine {
  readonly name = 'duix-face2face';
  private readonly baseUrl: string;
  private readonly storage: DuixSharedFolder | DuixPublicFolder;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly maxResultBytes: number;
  private readonly http: SafeHttp;

  constructor(opts: DuixOptions) {
    this.baseUrl = trimSlash(opts.baseUrl);
    this.storage = opts.shared;
    this.pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResultBytes = opts.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
    this.http = opts.http;
  }

  async render(job: LipsyncJob): Promise<void> {
    throwIfAborted(job.signal);
    const run: Run = {
      job,
      code: randomUUID(),
      deadline: Date.now() + this.timeoutMs,
      report: progressReporter(job.onProgress),
    };
    // One folder per job so cleanup is a single rm, whatever got copied before a failure.
    const folder = `dhp-${run.code}`;
    const stagingDir = path.join(this.storage.localDir, folder);
    try {
      const inputs = await this.stageInputs(job, stagingDir, folder);
      await this.submit(run, inputs);
      const result = await this.waitForResult(run);
      await this.collectResult(run, result);
    } finally {
      // The service only needs the inputs until it has read them. On abort or timeout this
      // may pull them from under a job still preprocessing; that job then fails, which is fine
      // since nobody waits for it (the service has no cancel endpoint).
      await rm(stagingDir, { recursive: true, force: true });
    }
  }

  // -- inputs ----------------------------------------------------------------

  private async stageInputs(job: LipsyncJob, dir: string, folder: string): Promise<EngineInputs> {
    await mkdir(dir, { recursive: true });
    const videoName = `video${extensionOf(job.video, '.mp4')}`;
    const audioName = `audio${extensionOf(job.audio, '.wav')}`;
    // FICLONE: a cheap reflink where the filesystem supports it, a plain copy elsewhere.
    await copyFile(job.video, path.join(dir, videoName), fsConstants.COPYFILE_FICLONE);
    await copyFile(job.audio, path.join(dir, audioName), fsConstants.COPYFILE_FICLONE);
    return { video: this.engineRef(folder, videoName), audio: this.engineRef(folder, audioName) };
  }

  /** How the service must name a staged file. */
  private engineRef(folder: string, file: string): string {
    const s = this.storage;
    if ('remoteDir' in s) return path.posix.join(s.remoteDir, folder, file); // the container is Linux
    return `${trimSlash(s.publicBaseUrl)}/${encodeURIComponent(folder)}/${encodeURIComponent(file)}`;
  }

  // -- submit ----------------------------------------------------------------

  private async submit(run: Run, inputs: EngineInputs): Promise<void> {
    const body = {
      audio_url: inputs.audio,
      video_url: inputs.video,
      code: run.code,
      chaofen: 0, // super-resolution off: the stock image is not guaranteed to ship it
      watermark_switch: 0,
      pn: run.job.pn,
    };
    for (;;) {
      // Not retried on transport errors: if the first attempt did reach the service, a second
      // one would be answered "busy" by our own job and we would wait on ourselves.
      const reply = await this.call(run, 'POST', '/easy/submit', body);
      if (reply.code === CODE_OK) return;
      if (reply.code !== CODE_BUSY) throw engineFailure('refused the job', reply.msg, reply.code);
      // The service renders one job at a time and turns others away instead of queueing
      // them, so dhp does the queueing: wait, then offer the job again.
      run.report({ state: 'queued' });
      await this.pause(run, 'busy');
    }
  }

  // -- polling ---------------------------------------------------------------

  /** Poll until the service reports the job done; resolves with its result path. */
  private async waitForResult(run: Run): Promise<string> {
    const query = `/easy/query?code=${encodeURIComponent(run.code)}`;
    let failures = 0;
    for (;;) {
      await this.pause(run, 'running');
      let reply: DuixReply;
      try {
        reply = await this.call(run, 'GET', query);
        failures = 0;
      } catch (err) {
        // The job keeps running on the service while a status query fails in transit, so
        // ride out short outages (restarting proxy, 502s) instead of throwing the work away.
        if (!(err instanceof LipsyncError) || err.permanent || ++failures >= MAX_QUERY_FAILURES) throw err;
        continue;
      }
      const result = interpretStatus(run, reply);
      if (result !== null) return result;
    }
  }

  /** Sleep one poll interval, or fail if the job is out of time. */
  private async pause(run: Run, phase: 'busy' | 'running'): Promise<void> {
    const left = run.deadline - Date.now();
    if (left <= 0) throw this.timeoutError(phase);
    await sleep(Math.min(this.pollMs, left), undefined, { signal: run.job.signal }); // Node's: rejects with an AbortError
  }

  private timeoutError(phase: 'busy' | 'running'): LipsyncError {
    const limit = formatDuration(this.timeoutMs);
    return phase === 'busy'
      ? new LipsyncError(`the lip-sync engine stayed busy with other jobs for ${limit}`, false)
      : new LipsyncError(`the lip-sync engine did not finish within ${limit}`, false);
  }

  // -- result ----------------------------------------------------------------

  /** Put the result at job.output, via a .part file so a half-copied video never appears there. */
  private async collectResult(run: Run, result: string): Promise<void> {
    const { output } = run.job;
    const part = `${output}.part`;
    await mkdir(path.dirname(output), { recursive: true });
    try {
      if ('remoteDir' in this.storage) await this.copySharedResult(this.storage, result, part);
      else await this.downloadResult(run, result, part);
      throwIfAborted(run.job.signal);
      await rename(part, output);
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
  }

  private async copySharedResult(storage: DuixSharedFolder, result: string, part: string): Promise<void> {
    const local = engineToLocal(result, storage.remoteDir, storage.localDir);
    if (!local) {
      // Deterministic (a path mapping that does not fit): rendering again would be wasted GPU time.
      throw new LipsyncError('the lip-sync engine put its result outside the shared folder', true);
    }
    try {
      await copyFile(local, part);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new LipsyncError('the lip-sync engine reported a result file that is not in the shared folder', false, { cause: err });
    }
    // The file is named after our task code, so nobody else will collect it; left alone,
    // results would pile up in the shared folder.
    await rm(local, { force: true });
  }

  private async downloadResult(run: Run, result: string, part: string): Promise<void> {
    const { signal } = run.job;
    const url = `${this.baseUrl}/download?path=${encodeURIComponent(result)}`;
    let res: SafeStreamResponse;
    try {
      res = await abortable(
        this.http.stream(url, { timeoutMs: this.requestBudget(run, Infinity), maxBytes: this.maxResultBytes }),
        signal,
        (late) => late.body.destroy(),
      );
    } catch (err) {
      throw transportError(err);
    }
    if (res.status !== 200) {
      res.body.destroy();
      throw new LipsyncError(`the lip-sync result could not be downloaded (HTTP ${res.status})`, false);
    }
    try {
      await pipeline(res.body, createWriteStream(part), signal ? { signal } : {});
    } catch (err) {
      throwIfAborted(signal);
      if (err instanceof HttpFetchError && err.code === 'TOO_LARGE') {
        throw new LipsyncError(`the lip-sync result is larger than the ${formatBytes(this.maxResultBytes)} dhp accepts`, true, { cause: err });
      }
      if (err instanceof HttpFetchError) {
        throw new LipsyncError('the download of the lip-sync result broke off', false, { cause: err });
      }
      throw err;
    }
  }

  // -- HTTP ------------------------------------------------------------------

  /** One submit/query call; failures become non-permanent LipsyncErrors. */
  private async call(run: Run, method: 'GET' | 'POST', pathAndQuery: string, body?: object): Promise<DuixReply> {
    let res: SafeResponse;
    try {
      res = await abortable(
        this.http.request(`${this.baseUrl}${pathAndQuery}`, {
          method,
          headers: body ? { 'content-type': 'application/json' } : {},
          body: body ? JSON.stringify(body) : undefined,
          timeoutMs: this.requestBudget(run, REQUEST_TIMEOUT_MS),
        }),
        run.job.signal,
      );
    } catch (err) {
      throwIfAborted(run.job.signal);
      throw transportError(err);
    }
    return readReply(res);
  }

  /** Time one HTTP call may take: what is left of the job, within [MIN, cap]. */
  private requestBudget(run: Run, cap: number): number {
    return Math.min(cap, Math.max(MIN_REQUEST_TIMEOUT_MS, run.deadline - Date.now()));
  }
}

// ---------------------------------------------------------------------------
// Health probe
// ---------------------------------------------------------------------------

const PROBE_CODE = 'dhp-health-probe';
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Boot-time check that `baseUrl` is a reachable face2face service. A status query for a
 * task that does not exist is harmless and a live service answers it with Duix JSON
 * (code 10004). The messages are for operators, so they name the URL.
 */
export async function checkDuix(baseUrl: string, http: SafeHttp): Promise<void> {
  const where = `the Duix face2face service at ${baseUrl}`;
  let res: SafeResponse;
  try {
    res = await http.request(`${trimSlash(baseUrl)}/easy/query?code=${PROBE_CODE}`, { timeoutMs: PROBE_TIMEOUT_MS });
  } catch (err) {
    throw new Error(`${where} is unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (res.status !== 200) {
    throw new Error(`${where} answered a status query with HTTP ${res.status}; check the URL (the service listens on port 8383, without /easy)`);
  }
  if (!parseReply(res.body)) {
    throw new Error(`${where} did not answer a status query with Duix JSON; is this the face2face service?`);
  }
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

interface DuixReply {
  code: number;
  msg: string;
  data: unknown;
}

function parseReply(body: Buffer): DuixReply | null {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(json) || typeof json.code !== 'number') return null;
  return { code: json.code, msg: engineText(json.msg), data: json.data };
}

/** Turn an HTTP answer into a reply, or a retryable LipsyncError. */
function readReply(res: SafeResponse): DuixReply {
  if (res.status >= 500) {
    throw new LipsyncError(`the lip-sync engine had an internal error (HTTP ${res.status})`, false);
  }
  // Other statuses point at a proxy or a wrong URL rather than at the job itself.
  if (res.status !== 200) throw new LipsyncError(`the lip-sync engine answered with HTTP ${res.status}`, false);
  const reply = parseReply(res.body);
  if (!reply) throw new LipsyncError('the lip-sync engine sent an answer dhp could not read', false);
  return reply;
}

/** The result path once the job is done, null while it runs; throws when it failed. */
function interpretStatus(run: Run, reply: DuixReply): string | null {
  if (reply.code === CODE_UNKNOWN_TASK) {
    // The service forgets tasks when it restarts (and after reporting them finished once).
    throw new LipsyncError('the lip-sync engine lost track of the job (it may have restarted)', false);
  }
  if (reply.code !== CODE_OK) throw engineFailure('failed', reply.msg, reply.code);

  const task = isRecord(reply.data) ? reply.data : {};
  const progress = typeof task.progress === 'number' && Number.isFinite(task.progress)
    ? Math.min(100, Math.max(0, task.progress))
    : undefined;
  if (task.status === STATUS_FAILED) throw engineFailure('failed', engineText(task.msg));
  if (task.status === STATUS_DONE) {
    if (typeof task.result !== 'string' || task.result === '') {
      throw new LipsyncError('the lip-sync engine reported success but named no result file', false);
    }
    run.report({ state: 'running', progress: 100 });
    return task.result;
  }
  // 1 (running), or anything newer builds may add: keep waiting.
  run.report({ state: 'running', progress });
  return null;
}

/** The engine itself declared the job failed: permanent, with its reason. */
function engineFailure(what: 'failed' | 'refused the job', msg: string, code?: number): LipsyncError {
  const reason = msg !== '' ? `: ${msg}` : code === undefined ? ' without giving a reason' : ` (error code ${code})`;
  return new LipsyncError(`the lip-sync engine ${what}${reason}`, true);
}

/** Network-level failures; the user message leaves out hosts, the cause keeps them for logs. */
function transportError(err: unknown): Error {
  if (err instanceof LipsyncError || isAbortError(err)) return err as Error;
  if (err instanceof HttpFetchError && err.code === 'TIMEOUT') {
    return new LipsyncError('the lip-sync engine did not answer in time', false, { cause: err });
  }
  return new LipsyncError('the lip-sync engine could not be reached', false, { cause: err });
}

/** Engine messages as displayable text (the stock service sometimes sends numbers). */
function engineText(value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
  return text.length > MAX_ENGINE_MESSAGE_CHARS ? `${text.slice(0, MAX_ENGINE_MESSAGE_CHARS)}…` : text;
}

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/**
 * Map a path the service reported into localDir, or null when it lies outside the shared
 * folder. Relative paths are taken as relative to remoteDir. The result comes from another
 * program, so `..` tricks must not let it name arbitrary local files.
 */
function engineToLocal(result: string, remoteDir: string, localDir: string): string | null {
  const posix = path.posix;
  const normalized = posix.normalize(result);
  const rel = posix.isAbsolute(normalized) ? posix.relative(posix.normalize(remoteDir), normalized) : normalized;
  if (rel === '' || rel === '.' || rel === '..' || rel.startsWith('../') || posix.isAbsolute(rel)) return null;
  return path.join(localDir, ...rel.split('/'));
}

function extensionOf(file: string, fallback: string): string {
  const ext = path.extname(file).toLowerCase();
  return /^\.[a-z0-9]{1,8}$/.test(ext) ? ext : fallback;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/** Forward progress to the job's callback, skipping repeats of the last report. */
function progressReporter(onProgress: LipsyncJob['onProgress']): (p: LipsyncProgress) => void {
  let last = '';
  return (p) => {
    const key = `${p.state}:${p.progress ?? ''}`;
    if (key === last) return;
    last = key;
    onProgress?.(p);
  };
}

function abortError(): Error {
  const err = new Error('the lip-sync job was aborted');
  err.name = 'AbortError';
  return err;
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError();
}

/**
 * Settle with `promise`, or reject with an AbortError as soon as `signal` fires. SafeHttp
 * calls cannot be cancelled, so a call that loses the race runs on until its own timeout;
 * `dispose` releases whatever it eventually resolves with.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, dispose?: (late: T) => void): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.then(dispose, () => {});
      reject(abortError());
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatDuration(ms: number): string {
  if (ms >= 60_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 1000).toFixed(1))} s`;
}

