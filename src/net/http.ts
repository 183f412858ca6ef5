/**
 * The one HTTP client for every URL dhp fetches or calls on a user's behalf
 * (task callbacks, media downloads). Those URLs come from API callers, so every
 * request is a potential SSRF: this module refuses non-http(s) schemes,
 * credentials in URLs and any target that is not a public unicast address,
 * re-checks every redirect hop, and pins the connection to the exact address it
 * vetted so DNS cannot change its answer between check and connect.
 *
 * Error messages are written for end users (they surface as task failure
 * reasons): short sentences, never stack traces.
 */
import { type LookupAddress, type LookupOptions, promises as dnsPromises } from 'node:dns';
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { formatBytes } from '../domain/text.js';
import { bareHostname, forbiddenAddressError, isForbiddenAddress, parseSafeUrl, UnsafeUrlError } from './address.js';


// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export interface SafeHttpOptions {
  /** Operator setting: allow loopback/private targets (local dev + tests). */
  allowPrivate: boolean;
  /** Whole-request timeout (DNS + connect + headers + body), across redirects. */
  timeoutMs: number;
  /** Cap on response body bytes kept in memory by request(). */
  maxResponseBytes: number;
  maxRedirects: number;
  userAgent: string;
  /**
   * Dependency-injection hooks, meant for tests. Production code leaves these
   * unset. `resolve` replaces the DNS lookup; `isForbidden` replaces the
   * address policy (only consulted when allowPrivate is false).
   */
  hooks?: SafeHttpHooks;
}

export interface SafeHttpHooks {
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
  isForbidden?: (ip: string) => boolean;
}

export interface SafeRequest {
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Per-call override of SafeHttpOptions.timeoutMs. */
  timeoutMs?: number;
  /** Per-call override of SafeHttpOptions.maxResponseBytes. */
  maxResponseBytes?: number;
}

/**
 * The slowest a body may arrive: every `windowMs` must bring at least
 * `bytesPerSec` per second of it, so a server that drips a byte at a time
 * cannot hold a worker for the whole timeout.
 */
export interface MinRate {
  bytesPerSec: number;
  windowMs: number;
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface SafeResponse {
  status: number;
  headers: ResponseHeaders;
  body: Buffer;
  /** Final URL after redirects. */
  url: string;
}

export interface SafeStreamResponse {
  status: number;
  headers: ResponseHeaders;
  /** Final URL after redirects. */
  url: string;
  /**
   * The response body. Errors with HttpFetchError TOO_LARGE once maxBytes is
   * exceeded, TIMEOUT when the call's deadline passes, NETWORK when the
   * connection breaks. Destroying it aborts the download.
   */
  body: Readable;
}


export type HttpFetchErrorCode = 'TIMEOUT' | 'TOO_LARGE' | 'NETWORK' | 'TOO_MANY_REDIRECTS' | 'TOO_SLOW';

export class HttpFetchError extends Error {
  readonly code: HttpFetchErrorCode;

  constructor(code: HttpFetchErrorCode, message: string) {
    super(message);
    this.name = 'HttpFetchError';
    this.code = code;
  }
}

// ---------------------------------------------------------------------------
// Deadline: one timer for the whole call
// ---------------------------------------------------------------------------

class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  /** Updated per hop so the timeout message names the host we were talking to. */
  host: string;

  constructor(private readonly ms: number, host: string) {
    this.host = host;
    this.timer = setTimeout(() => this.controller.abort(), ms);
  }

  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  error(): HttpFetchError {
    const seconds = Number((this.ms / 1000).toFixed(3));
    return new HttpFetchError(
      'TIMEOUT',
      `request to ${this.host} did not complete within the ${seconds} s time limit`,
    );
  }

  /** Run `fn` when the deadline passes (immediately if it already has). Returns an unsubscribe. */
  onExpire(fn: () => void): () => void {
    if (this.expired) {
      fn();
      return () => {};
    }
    const signal = this.controller.signal;
    signal.addEventListener('abort', fn, { once: true });
    return () => signal.removeEventListener('abort', fn);
  }

  /** Settle with `promise`, or reject with TIMEOUT if the deadline comes first. */
  race<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const off = this.onExpire(() => reject(this.error()));
      promise.then(
        (value) => { off(); resolve(value); },
        (err: unknown) => { off(); reject(err); },
      );
    });
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Headers that identify the caller; they must not leak to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof message === 'string' && message !== '') return message;
  }
  return 'unknown error';
}

function tooLarge(host: string, max: number): HttpFetchError {
  return new HttpFetchError('TOO_LARGE', `response from ${host} is larger than the ${formatBytes(max)} limit`);
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/**
 * A `lookup` for http.request that always answers with the address we already
 * vetted, so the socket cannot connect anywhere else.
 */
function pinnedLookup(address: string, family: number) {
  return (
    _hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    // Node >= 20 asks for `all` when autoSelectFamily (happy eyeballs) is on.
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/** Counts body bytes and fails the stream once the cap is passed. */
class ByteLimit extends Transform {
  private seen = 0;

  /** Bytes received so far. */
  get bytes(): number {
    return this.seen;
  }

  constructor(private readonly max: number, private readonly host: string) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) callback(tooLarge(this.host, this.max));
    else callback(null, chunk);
  }
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

interface Vetted {
  url: URL;
  address: string;
  family: number;
}

interface Hop {
  method: 'GET' | 'POST' | 'HEAD';
  headers: Record<string, string>;
  body: Buffer | undefined;
}

interface Opened {
  res: IncomingMessage;
  url: URL;
  deadline: Deadline;
}

export class SafeHttp {
  private readonly opts: SafeHttpOptions;

  constructor(opts: SafeHttpOptions) {
    this.opts = opts;
  }

  /** Fetch a URL and buffer its body (up to maxResponseBytes). */
  async request(url: string, req: SafeRequest = {}): Promise<SafeResponse> {
    const maxBytes = req.maxResponseBytes ?? this.opts.maxResponseBytes;
    const res = await this.stream(url, { ...req, maxBytes });
    return { status: res.status, headers: res.headers, url: res.url, body: await readAll(res.body) };
  }

  /**
   * Fetch a URL and hand back the body as a stream, for downloads too big to
   * buffer. Resolves once headers arrive; the call's deadline keeps running
   * until the body is fully read.
   */
  async stream(url: string, req: SafeRequest & { maxBytes: number; minRate?: MinRate }): Promise<SafeStreamResponse> {
    const { res, url: finalUrl, deadline } = await this.open(url, req);
    const host = finalUrl.host;
    const declared = Number(res.headers['content-length']);
    if (req.method !== 'HEAD' && Number.isFinite(declared) && declared > req.maxBytes) {
      res.destroy();
      deadline.clear();
      throw tooLarge(host, req.maxBytes);
    }
    return {
      status: res.statusCode ?? 0,
      headers: res.headers,
      url: finalUrl.toString(),
      body: limitBody(res, req.maxBytes, host, deadline, req.minRate),
    };
  }

  /** Follow the redirect chain; returns the final response with its body unread. */
  private async open(rawUrl: string, req: SafeRequest): Promise<Opened> {
    let url = parseSafeUrl(rawUrl);
    const deadline = new Deadline(req.timeoutMs ?? this.opts.timeoutMs, url.host);
    let hop: Hop = {
      method: req.method ?? 'GET',
      headers: lowerCaseKeys(req.headers),
      body: typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body,
    };
    try {
      for (let redirects = 0; ; redirects++) {
        deadline.host = url.host;
        const subject = redirects === 0 ? 'URL' : 'redirect target';
        const target = await deadline.race(this.vet(url, subject));
        const res = await this.send(target, hop, deadline);
        const next = this.nextHop(url, res, hop);
        if (!next) return { res, url, deadline };
        res.destroy(); // redirect bodies are never interesting
        if (redirects >= this.opts.maxRedirects) {
          throw new HttpFetchError(
            'TOO_MANY_REDIRECTS',
            `gave up on ${url.host} after ${this.opts.maxRedirects} redirects`,
          );
        }
        url = next.url;
        hop = next.hop;
      }
    } catch (err) {
      deadline.clear();
      throw err;
    }
  }

  /** Resolve the host and make sure every address it maps to is allowed. */
  private async vet(url: URL, subject: string): Promise<Vetted> {
    const host = bareHostname(url);
    const literalFamily = isIP(host);
    if (literalFamily !== 0) {
      this.checkAddress(host, `${subject} points to`);
      return { url, address: host, family: literalFamily };
    }
    const addresses = await this.resolve(host);
    // Every answer is checked, not just the one we use: a host that resolves to
    // both a public and a private address is suspicious enough to refuse.
    for (const { address } of addresses) this.checkAddress(address, `${subject} host ${host} resolves to`);
    const [first] = addresses;
    return { url, address: first.address, family: first.family };
  }

  private async resolve(host: string): Promise<LookupAddress[]> {
    let addresses: LookupAddress[];
    try {
      addresses = this.opts.hooks?.resolve
        ? await this.opts.hooks.resolve(host)
        : await dnsPromises.lookup(host, { all: true });
    } catch (err) {
      throw new HttpFetchError('NETWORK', `could not resolve ${host}: ${errorCode(err)}`);
    }
    if (addresses.length === 0) throw new HttpFetchError('NETWORK', `could not resolve ${host}: no addresses`);
    return addresses;
  }

  private checkAddress(address: string, what: string): void {
    if (this.opts.allowPrivate) return;
    const isForbidden = this.opts.hooks?.isForbidden ?? isForbiddenAddress;
    if (!isForbidden(address)) return;
    throw forbiddenAddressError(address, what);
  }

  /** Issue one request to the vetted address; resolves when headers arrive. */
  private send(target: Vetted, hop: Hop, deadline: Deadline): Promise<IncomingMessage> {
    const { url } = target;
    const client = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { ...hop.headers, 'user-agent': this.opts.userAgent };
    if (hop.body) headers['content-length'] = String(hop.body.length);
    else delete headers['content-length'];
    const hostname = bareHostname(url);

    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = client.request({
        protocol: url.protocol,
        host: hostname,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: hop.method,
        headers,
        lookup: pinnedLookup(target.address, target.family),
        // SNI and certificate checks must use the name, not the pinned IP
        // (and SNI may not carry an IP literal at all).
        ...(url.protocol === 'https:' && isIP(hostname) === 0 ? { servername: hostname } : {}),
        // A fresh connection per request: a pooled socket could have been
        // vetted under another SafeHttp's policy or an older DNS answer.
        agent: false,
      });
      const off = deadline.onExpire(() => {
        req.destroy();
        reject(deadline.error());
      });
      req.on('response', (res) => {
        off();
        // Keep an early socket error from crashing the process before the body
        // consumer attaches; limitBody() inspects res.errored.
        res.on('error', () => {});
        resolve(res);
      });
      req.on('error', (err) => {
        off();
        reject(new HttpFetchError('NETWORK', `could not connect to ${url.host}: ${errorCode(err)}`));
      });
      req.end(hop.body);
    });
  }

  /** The request to make next if `res` is a redirect we should follow, else null. */
  private nextHop(from: URL, res: IncomingMessage, hop: Hop): { url: URL; hop: Hop } | null {
    const location = res.headers.location;
    if (!REDIRECT_STATUSES.has(res.statusCode ?? 0) || !location) return null;

    let url: URL;
    try {
      url = new URL(location, from);
    } catch {
      throw new UnsafeUrlError(`${from.host} redirected to an invalid URL`);
    }
    url = parseSafeUrl(url.toString(), 'redirect target');

    const status = res.statusCode;
    const becomesGet = status === 303 || ((status === 301 || status === 302) && hop.method === 'POST');
    const method = becomesGet && hop.method !== 'HEAD' ? 'GET' : hop.method;
    const body = becomesGet ? undefined : hop.body;

    // 307/308 would re-send the body. Sending our payload to a host the caller
    // never named is worse than not following, so hand back the redirect.
    if (body && url.hostname !== from.hostname) return null;

    const headers = { ...hop.headers };
    if (!body) {
      delete headers['content-type'];
      delete headers['content-length'];
    }
    if (url.origin !== from.origin) for (const name of CREDENTIAL_HEADERS) delete headers[name];
    delete headers.host;
    return { url, hop: { method, headers, body } };
  }
}

/**
 * Wrap the response in a stream that enforces the byte cap and the deadline,
 * maps socket failures to NETWORK errors, and tears the response down when the
 * consumer stops early.
 */
function limitBody(res: IncomingMessage, maxBytes: number, host: string, deadline: Deadline, minRate?: MinRate): Readable {
  const body = new ByteLimit(maxBytes, host);
  const stopWatch = minRate && minRate.bytesPerSec > 0 ? watchRate(body, minRate, host) : () => {};
  // A late timeout must not crash the process just because the caller has not
  // attached its own handlers yet; real listeners still receive the error.
  body.on('error', () => {});

  const broken = (err: unknown) =>
    new HttpFetchError('NETWORK', `connection to ${host} broke while reading the response: ${errorCode(err)}`);
  if (res.errored) {
    body.destroy(broken(res.errored));
  } else {
    res.on('error', (err) => body.destroy(broken(err)));
    res.pipe(body);
  }

  const off = deadline.onExpire(() => body.destroy(deadline.error()));
  body.on('close', () => {
    off();
    stopWatch();
    deadline.clear();
    if (!res.complete) res.destroy();
  });
  return body;
}

/** Fails `body` with TOO_SLOW when a window passes with fewer bytes than the minimum rate asks. */
function watchRate(body: ByteLimit, rate: MinRate, host: string): () => void {
  const needed = (rate.bytesPerSec * rate.windowMs) / 1000;
  let atWindowStart = 0;
  const timer = setInterval(() => {
    if (body.bytes - atWindowStart < needed) {
      const got = body.bytes - atWindowStart;
      body.destroy(new HttpFetchError('TOO_SLOW',
        `response from ${host} arrived at ${formatBytes(Math.round((got * 1000) / rate.windowMs))}/s, under the ${formatBytes(rate.bytesPerSec)}/s minimum`));
      return;
    }
    atWindowStart = body.bytes;
  }, rate.windowMs);
  timer.unref();
  return () => clearInterval(timer);
}
