// SPDX-License-Identifier: MIT
/**
 * dhp SDK: a typed client for the Digital Human Platform API (dhp and the
 * wire-compatible cloud platform). Runtime needs only `fetch` (and Web Crypto
 * for verifyCallback); its wire types (types.ts) and its status table (statuses.ts) are
 * generated from the server's schemas and task descriptions.
 */
import type {
  AccountData, AuthorizeSceneBody, AuthorizeSpeakerBody, Avatar, AvatarQuery as AvatarQueryWire, ClonedVoice, CloneBody,
  CloneListQuery as CloneListQueryWire, TokenData, TrainingCreateBody, TrainingCreated, Training, TtsCreated, TtsCreateBody, Tts,
  UploadResult, VideoCreateBody, VideoCreated, Video, Voice, VoiceQuery as VoiceQueryWire,
} from './types.js';
import { md5Hex, toHex } from './md5.js';
import { statuses, statusOf, type TaskKind } from './statuses.js';

export type {
  AccountData, AuthorizeSceneBody, AuthorizeSpeakerBody, Avatar, ClonedVoice, CloneBody, TokenData, TrainingCreateBody, TrainingCreated,
  Training, TtsCreated, TtsCreateBody, Tts, UploadResult, VideoCreateBody, VideoCreated, Video, Voice,
};

/** Page parameters are optional in the SDK: page defaults to 1, size to 20. */
type Paged<Q> = Omit<Q, 'page' | 'size'> & { page?: number; size?: number };
export type PageParams = { page?: number; size?: number };
export type AvatarQuery = Paged<AvatarQueryWire>;
export type VoiceQuery = Paged<VoiceQueryWire>;
export type CloneListQuery = Paged<CloneListQueryWire>;

export interface RequestOptions {
  /**
   * Sent as the Idempotency-Key header. Create calls get a random one unless given, so that
   * retrying them cannot create twice (dhp honours the header; pass your own to retry across
   * process restarts). Other POSTs are retried only on 429.
   */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** 32 random hex digits (getRandomValues works in insecure browser contexts too, unlike randomUUID). */
const randomHex = () => toHex(globalThis.crypto.getRandomValues(new Uint8Array(16)));

/** Options with an Idempotency-Key: the caller's, or a random one. */
function keyed(o: RequestOptions): RequestOptions {
  return o.idempotencyKey ? o : { ...o, idempotencyKey: randomHex() };
}

export interface DhpClientOptions {
  baseUrl: string;
  appId: string;
  secret: string;
  fetch?: typeof fetch;
  /** Retries on 429, 5xx and network errors; default 3. */
  maxRetries?: number;
  /** Backoff base and cap for retries, ms; defaults 500 and 8000. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** Thrown whenever the API answers with code !== "0" (or the request cannot complete). */
export class DhpError extends Error {
  override name = 'DhpError';
  constructor(
    message: string,
    /**
     * The error's symbolic name (dhp's `error` field, e.g. "UNAUTHORIZED"); the numeric `code`
     * where a server sends no name (the cloud platform); NETWORK_ERROR, INVALID_RESPONSE or
     * HTTP_<status> when there was no envelope.
     */
    readonly code: string,
    /** HTTP status; 0 when no response was received. */
    readonly status: number,
    readonly requestId?: string,
    readonly body?: unknown,
    /** The envelope's own `code` (numeric, e.g. "40101"), when there was an envelope. */
    readonly apiCode?: string,
  ) {
    super(message);
  }
}

const RETRYABLE_NETWORK = 'NETWORK_ERROR';
const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal?.aborted) return reject(signal.reason);
  const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
  const onAbort = () => { clearTimeout(t); reject(signal!.reason); };
  signal?.addEventListener('abort', onAbort, { once: true });
});

/** Seconds (or an HTTP date) from Retry-After, as ms; undefined when absent or unparsable. */
function retryAfterMs(h: string | null): number | undefined {
  if (h == null || h.trim() === '') return undefined;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const d = Date.parse(h);
  return Number.isNaN(d) ? undefined : Math.max(0, d - Date.now());
}

// ---------------------------------------------------------------- pagination

export interface PageData<T> { records: T[]; totalRecord: number; pageNo: number; pageSize: number }

export class Page<T> implements PageData<T>, AsyncIterable<T> {
  readonly records: T[];
  readonly totalRecord: number;
  readonly pageNo: number;
  readonly pageSize: number;
  constructor(data: PageData<T>, private readonly fetchPage: (page: number) => Promise<Page<T>>) {
    this.records = data.records;
    this.totalRecord = data.totalRecord;
    this.pageNo = data.pageNo;
    this.pageSize = data.pageSize;
  }
  hasNextPage(): boolean {
    return this.records.length > 0 && this.pageNo * this.pageSize < this.totalRecord;
  }
  async getNextPage(): Promise<Page<T>> {
    if (!this.hasNextPage()) throw new Error('No next page: check hasNextPage() first.');
    return this.fetchPage(this.pageNo + 1);
  }
  /** Every record from this page on. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page: Page<T> = this;
    for (;;) {
      yield* page.records;
      if (!page.hasNextPage()) return;
      page = await page.getNextPage();
    }
  }
}

/** Both a Promise of the first page and an async iterable over every record. */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  private started?: Promise<Page<T>>;
  constructor(private readonly first: () => Promise<Page<T>>) {}
  private get promise(): Promise<Page<T>> { return (this.started ??= this.first()); }
  then<A = Page<T>, B = never>(
    onfulfilled?: ((value: Page<T>) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.promise.then(onfulfilled, onrejected);
  }
  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Page<T> | B> {
    return this.promise.catch(onrejected);
  }
  finally(onfinally?: (() => void) | null): Promise<Page<T>> { return this.promise.finally(onfinally); }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    yield* await this.promise;
  }
}

// ---------------------------------------------------------------- waitFor

export type WaitKind = TaskKind;
type WaitRecord<K extends WaitKind> = K extends 'tts' ? Tts : K extends 'training' ? Training : K extends 'voice' ? ClonedVoice : Video;
type WaitId<K extends WaitKind> = K extends 'voice' ? string : number | string;
export interface WaitOptions<R> {
  intervalMs?: number;
  timeoutMs?: number;
  /** Called with the record whenever its status (or, for a video, its progress) changes. */
  onProgress?: (record: R, status: number) => void;
  signal?: AbortSignal;
}

// ---------------------------------------------------------------- client

interface CallOptions extends RequestOptions {
  body?: unknown;
  form?: FormData;
  /** A body that can be sent once only (a stream): never retried. */
  stream?: { body: ReadableStream<Uint8Array>; contentType: string };
  auth?: boolean;
  query?: Record<string, string>;
  /** Overrides maxRetries for this call. */
  retries?: number;
}

/** What files.upload takes: bytes, a Blob or File, or a stream of bytes (Node.js, Deno, Bun). */
export type UploadSource = Blob | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** A multipart/form-data body with one file field, streamed from `source` without buffering it. */
function multipartStream(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, filename: string): { body: ReadableStream<Uint8Array>; contentType: string } {
  const boundary = `----dhp${randomHex()}`;
  const enc = new TextEncoder();
  const safeName = filename.replace(/["\\\r\n]/g, '_');
  const head = enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = enc.encode(`\r\n--${boundary}--\r\n`);
  const chunks = (async function* () {
    yield head;
    yield* (source as AsyncIterable<Uint8Array>);
    yield tail;
  })();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel(reason) { await chunks.return?.(reason); },
  });
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

export class DhpClient {
  readonly baseUrl: string;
  private readonly appId: string;
  private readonly secret: string;
  private readonly fetchImpl: typeof fetch;
  private readonly maxRetries: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  /** @internal token state; see _setTokenStateForTesting. */
  _token?: string;
  /** @internal epoch ms after which the token is treated as expired. */
  _tokenExpiresAt = 0;
  private tokenInFlight?: Promise<string>;

  constructor(opts: DhpClientOptions) {
    if (!opts.baseUrl || !opts.appId || !opts.secret) throw new TypeError('DhpClient needs baseUrl, appId and secret.');
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.appId = opts.appId;
    this.secret = opts.secret;
    const f = opts.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TypeError('No fetch available: pass opts.fetch.');
    this.fetchImpl = (input, init) => f(input, init);
    this.maxRetries = opts.maxRetries ?? 3;
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.retryMaxMs = opts.retryMaxMs ?? 8000;
  }

  // ---- auth

  /** A valid access token, signing for a new one when there is none or it has < 60 s left. */
  async getToken(force = false): Promise<string> {
    if (!force && this._token && this._tokenExpiresAt - Date.now() > 60_000) return this._token;
    this.tokenInFlight ??= this.fetchToken().finally(() => { this.tokenInFlight = undefined; });
    return this.tokenInFlight;
  }

  private async fetchToken(): Promise<string> {
    // dhp takes each signature once (a replayed token URL is refused), so every attempt signs
    // anew: a retry of the same URL after a lost answer would be refused.
    let data: TokenData;
    for (let attempt = 0; ; attempt++) {
      const timestamp = String(Date.now());
      const sign = md5Hex(`${this.appId}${timestamp}${this.secret}`);
      try {
        data = await this.send<TokenData>('GET', '/openapi/oauth/token', {
          auth: false, retries: 0, query: { grant_type: 'sign', appId: this.appId, timestamp, sign },
        });
        break;
      } catch (e) {
        const retryable = e instanceof DhpError && (e.status === 0 || e.status === 429 || e.status >= 500);
        if (!retryable || attempt >= this.maxRetries) throw e;
        await sleep(this.backoff(attempt));
      }
    }
    this._token = data.access_token;
    this._tokenExpiresAt = Date.now() + data.expires_in * 1000;
    return data.access_token;
  }

  // ---- transport

  /** Calls one endpoint and returns its `data`, or throws DhpError. */
  async request<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    if (opts.auth === false) return this.send<T>(method, path, opts);
    let token = await this.getToken();
    try {
      return await this.send<T>(method, path, opts, token);
    } catch (e) {
      // Only the token can be refused here (signing has its own endpoint), whatever code the server names it by.
      if (!(e instanceof DhpError) || e.status !== 401 || opts.stream) throw e;
      if (this._token === token) { this._token = undefined; this._tokenExpiresAt = 0; }
      token = await this.getToken(true);
      return this.send<T>(method, path, opts, token);
    }
  }

  private async send<T>(method: string, path: string, opts: CallOptions, token?: string): Promise<T> {
    const params = new URLSearchParams(opts.query);
    if (token) params.set('access_token', token);
    const qs = params.toString();
    const url = `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | FormData | ReadableStream<Uint8Array> | undefined;
    if (opts.stream) { headers['content-type'] = opts.stream.contentType; body = opts.stream.body; }
    else if (opts.form) body = opts.form;
    else if (opts.body !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(opts.body); }
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;

    // Only what cannot take effect twice is retried on network errors and 5xx: reads, and
    // writes with an Idempotency-Key. A 429 was refused before anything happened.
    const safe = !opts.stream && (method === 'GET' || Boolean(opts.idempotencyKey));
    const maxRetries = opts.stream ? 0 : opts.retries ?? this.maxRetries;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        // duplex: 'half' is what fetch needs to send a stream (Node.js, Deno; not in the DOM typings yet).
        const init: RequestInit & { duplex?: 'half' } = { method, headers, body, signal: opts.signal, ...(opts.stream ? { duplex: 'half' } : {}) };
        res = await this.fetchImpl(url, init);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (attempt >= maxRetries || !safe) {
          throw new DhpError(`Request failed: ${(err as Error)?.message ?? String(err)}`, RETRYABLE_NETWORK, 0);
        }
        await sleep(this.backoff(attempt), opts.signal);
        continue;
      }
      if ((res.status === 429 || (res.status >= 500 && safe)) && attempt < maxRetries) {
        const ra = retryAfterMs(res.headers.get('retry-after'));
        await res.body?.cancel().catch(() => {});
        await sleep(ra !== undefined ? Math.min(ra, this.retryMaxMs * 4) : this.backoff(attempt), opts.signal);
        continue;
      }
      return this.parse<T>(res);
    }
  }

  /** Capped exponential backoff with full jitter (at least half the step). */
  private backoff(attempt: number): number {
    const step = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** attempt);
    return step / 2 + Math.random() * (step / 2);
  }

  private async parse<T>(res: Response): Promise<T> {
    const requestId = res.headers.get('x-request-id') ?? undefined;
    const text = await res.text();
    let env: { code?: unknown; error?: unknown; message?: unknown; data?: unknown };
    try { env = JSON.parse(text); } catch {
      throw new DhpError(`Non-JSON response (HTTP ${res.status}): ${text.slice(0, 200)}`, res.ok ? 'INVALID_RESPONSE' : `HTTP_${res.status}`, res.status, requestId, text);
    }
    if (!env || typeof env !== 'object' || String(env.code) !== '0') {
      const apiCode = env && typeof env === 'object' && env.code != null ? String(env.code) : undefined;
      const name = env && typeof env === 'object' && typeof env.error === 'string' && env.error ? env.error : undefined;
      const message = env && typeof env.message === 'string' ? env.message : `HTTP ${res.status}`;
      throw new DhpError(message, name ?? apiCode ?? `HTTP_${res.status}`, res.status, requestId, env, apiCode);
    }
    return env.data as T;
  }

  private list<T>(path: string, q: PageParams & Record<string, unknown> = {}): PagePromise<T> {
    const size = q.size ?? 20;
    const fetchPage = async (page: number): Promise<Page<T>> =>
      new Page<T>(await this.request<PageData<T>>('POST', path, { body: { ...q, page, size } }), fetchPage);
    return new PagePromise<T>(() => fetchPage(q.page ?? 1));
  }

  // ---- resources

  readonly account = {
    get: (): Promise<AccountData> => this.request('GET', '/openapi/user/v2/get'),
  };

  readonly avatars = {
    listPublic: (q: AvatarQuery = {}): PagePromise<Avatar> => this.list('/openapi/robot/v2/fastPublicPageList', q),
  };

  readonly voices = {
    listPublic: (q: VoiceQuery = {}): PagePromise<Voice> => this.list('/openapi/speaker/v2/fastPublicPageList', q),
    clone: (body: CloneBody, o: RequestOptions = {}): Promise<ClonedVoice> => this.request('POST', '/openapi/speaker/v3/clone', { ...keyed(o), body }),
    getClone: (speakerId: string, o: RequestOptions = {}): Promise<ClonedVoice> => this.request('GET', `/openapi/speaker/v2/clone/${encodeURIComponent(speakerId)}`, o),
    listClones: (q: CloneListQuery = {}): PagePromise<ClonedVoice> => this.list('/openapi/speaker/v2/clonePageList', q),
  };

  readonly tts = {
    create: (body: TtsCreateBody, o: RequestOptions = {}): Promise<TtsCreated> => this.request('POST', '/openapi/speaker/v3/fastTts', { ...keyed(o), body }),
    get: (id: number | string, o: RequestOptions = {}): Promise<Tts> => this.request('GET', `/openapi/speaker/v2/tts/${encodeURIComponent(String(id))}`, o),
    list: (q: PageParams = {}): PagePromise<Tts> => this.list('/openapi/speaker/v2/tts/pageList', q),
  };

  readonly trainings = {
    create: (body: TrainingCreateBody, o: RequestOptions = {}): Promise<TrainingCreated> => this.request('POST', '/openapi/video/v3/create/training', { ...keyed(o), body }),
    get: (id: number | string, o: RequestOptions = {}): Promise<Training> => this.request('GET', `/openapi/video/v2/training/get/${encodeURIComponent(String(id))}`, o),
    list: (q: PageParams = {}): PagePromise<Training> => this.list('/openapi/video/v2/training/pageList', q),
  };

  readonly videos = {
    create: (body: VideoCreateBody, o: RequestOptions = {}): Promise<VideoCreated> => this.request('POST', '/openapi/video/v3/simpleCreate', { ...keyed(o), body }),
    get: (id: number | string, o: RequestOptions = {}): Promise<Video> => this.request('GET', `/openapi/video/v2/get/${encodeURIComponent(String(id))}`, o),
    list: (q: PageParams = {}): PagePromise<Video> => this.list('/openapi/video/v2/pageList', q),
    cancel: (id: number | string, o: RequestOptions = {}): Promise<Video> => this.request('POST', `/openapi/video/v2/cancel/${encodeURIComponent(String(id))}`, o),
  };

  readonly consent = {
    authorizeScene: (body: AuthorizeSceneBody): Promise<boolean> => this.request('POST', '/openapi/video/v3/authorize', { body }),
    authorizeVoice: (body: AuthorizeSpeakerBody): Promise<boolean> => this.request('POST', '/openapi/speaker/v3/authorize', { body }),
  };

  readonly files = {
    /** Uploads a local file (dhp extension); use the returned url as videoUrl, audioUrl or authorizeUrl. */
    upload: (data: UploadSource, filename: string, o: RequestOptions = {}): Promise<UploadResult> => {
      if (data instanceof Blob || data instanceof Uint8Array) {
        const form = new FormData();
        form.append('file', data instanceof Blob ? data : new Blob([data as Uint8Array<ArrayBuffer>]), filename);
        return this.request('POST', '/openapi/file/upload', { ...o, form });
      }
      // A stream is sent as it is read, once: no retry can replay it.
      return this.request('POST', '/openapi/file/upload', { ...o, stream: multipartStream(data, filename) });
    },
  };

  /** Polls until the task reaches a final status (statuses[kind].final) and resolves with its record (whatever that status is). */
  async waitFor<K extends WaitKind>(kind: K, id: WaitId<K>, opts: WaitOptions<WaitRecord<K>> = {}): Promise<WaitRecord<K>> {
    const interval = opts.intervalMs ?? 1000;
    const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
    const { final } = statuses[kind];
    let last: string | undefined;
    for (;;) {
      const rec = await this.fetchForWait(kind, id, { signal: opts.signal });
      const status = statusOf(kind, rec);
      // A video's progress (a dhp addition) moves within one status.
      const seen = `${status}:${(rec as { progress?: number }).progress ?? ''}`;
      if (seen !== last) { last = seen; opts.onProgress?.(rec as WaitRecord<K>, status); }
      if (final.includes(status)) return rec as WaitRecord<K>;
      if (Date.now() + interval > deadline) {
        throw new DhpError(`Timed out waiting for ${kind} ${id} (last status ${status}).`, 'WAIT_TIMEOUT', 0);
      }
      await sleep(interval, opts.signal);
    }
  }

  private fetchForWait(kind: WaitKind, id: number | string, o: RequestOptions): Promise<Tts | Training | ClonedVoice | Video> {
    switch (kind) {
      case 'tts': return this.tts.get(id, o);
      case 'training': return this.trainings.get(id, o);
      case 'voice': return this.voices.getClone(String(id), o);
      case 'video': return this.videos.get(id, o);
    }
  }
}

/** Test hook: overwrite a client's cached token and its expiry (epoch ms). */
export function _setTokenStateForTesting(client: DhpClient, state: { token?: string; expiresAt?: number }): void {
  if ('token' in state) client._token = state.token;
  if (state.expiresAt !== undefined) client._tokenExpiresAt = state.expiresAt;
}

// ---------------------------------------------------------------- callbacks

function header(headers: Record<string, string | string[] | undefined> | Headers, name: string): string {
  if (typeof (headers as Headers).get === 'function' && typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? '';
  const rec = headers as Record<string, string | string[] | undefined>;
  let v = rec[name];
  if (v === undefined) {
    const key = Object.keys(rec).find((k) => k.toLowerCase() === name);
    v = key === undefined ? undefined : rec[key];
  }
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/**
 * Checks a dhp callback: X-Dhp-Signature must be v1=<hex HMAC-SHA256(secret, timestamp + "." + rawBody)>
 * and X-Dhp-Timestamp (epoch ms) within toleranceMs of now. Pass the exact raw body.
 */
export async function verifyCallback(
  headers: Record<string, string | string[] | undefined> | Headers, rawBody: string, secret: string, toleranceMs = 300_000,
): Promise<boolean> {
  const ts = header(headers, 'x-dhp-timestamp').trim();
  const sig = header(headers, 'x-dhp-signature').trim();
  if (!/^\d+$/.test(ts) || !sig.startsWith('v1=')) return false;
  if (Math.abs(Date.now() - Number(ts)) > toleranceMs) return false;
  const enc = new TextEncoder();
  const key = await globalThis.crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, enc.encode(`${ts}.${rawBody}`)));
  const expected = `v1=${toHex(mac)}`;
  const given = sig.toLowerCase();
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}

export { md5Hex } from './md5.js';
export {
  AuthorizeStatus, authorizeStatuses, CallbackStatus, describeStatus, statuses, statusOf, SynthesisStatus, TrainingStatus, TtsStatus, VoiceStatus,
  type TaskKind, type TaskStatuses,
} from './statuses.js';
