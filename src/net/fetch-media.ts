/**
 * Downloads a user's media URL to disk through SafeHttp (SSRF guard, size cap,
 * deadline). Failures the user can fix become MediaFetchError sentences that
 * name the request field; anything else (a full disk) is the operator's and
 * propagates unchanged.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { formatBytes } from '../domain/text.js';
import { UnsafeUrlError } from './address.js';
import { HttpFetchError, type MinRate, type SafeHttp } from './http.js';

/** A download failed for a reason the user can act on; the message is for them. */
export class MediaFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaFetchError';
  }
}

export interface DownloadOptions {
  /** The API field the URL came from (videoUrl, audioUrl...), named in error messages. */
  field: string;
  maxBytes: number;
  timeoutMs: number;
  /** Below this transfer rate the download fails early instead of at the timeout. */
  minRate?: MinRate;
}

/**
 * Stream `url` into `dest`. The body goes to `dest.part` and is renamed on
 * success, so `dest` never holds half a file; the partial file is removed on
 * any failure. The content is not checked here: probing is the real test of
 * what was downloaded (servers mislabel media all the time).
 */
export async function downloadToFile(
  http: SafeHttp,
  url: string,
  dest: string,
  opts: DownloadOptions,
): Promise<{ bytes: number; contentType: string | null }> {
  const part = `${dest}.part`;
  await mkdir(path.dirname(dest), { recursive: true });
  try {
    const res = await http.stream(url, { maxBytes: opts.maxBytes, timeoutMs: opts.timeoutMs, minRate: opts.minRate });
    if (res.status < 200 || res.status > 299) {
      res.body.destroy();
      throw new MediaFetchError(`${opts.field} answered HTTP ${res.status}; make sure the URL is reachable`);
    }
    await pipeline(res.body, createWriteStream(part));
    await rename(part, dest);
    const { size } = await stat(dest);
    return { bytes: size, contentType: headerValue(res.headers['content-type']) };
  } catch (err) {
    await rm(part, { force: true });
    throw toUserError(err, opts);
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value;
  return v ? v : null;
}

/** Map SafeHttp's errors to sentences naming the field; leave other errors alone. */
function toUserError(err: unknown, opts: DownloadOptions): unknown {
  const { field } = opts;
  if (err instanceof MediaFetchError) return err;
  if (err instanceof UnsafeUrlError) return new MediaFetchError(refusal(err, field));
  if (!(err instanceof HttpFetchError)) return err;
  switch (err.code) {
    case 'TIMEOUT':
      return new MediaFetchError(`${field} did not finish downloading within ${formatSeconds(opts.timeoutMs)} s; use a faster host or a smaller file`);
    case 'TOO_LARGE':
      return new MediaFetchError(`${field} is larger than the ${formatBytes(opts.maxBytes)} limit`);
    case 'TOO_SLOW':
      return new MediaFetchError(`${field} arrived more slowly than ${formatBytes(opts.minRate?.bytesPerSec ?? 0)} per second over ${formatSeconds(opts.minRate?.windowMs ?? 0)} s; use a faster host`);
    case 'TOO_MANY_REDIRECTS':
      return new MediaFetchError(`${field} redirects too many times; use the file's direct URL`);
    case 'NETWORK':
      return new MediaFetchError(`${field} could not be downloaded (${err.message}); make sure the URL is reachable`);
  }
  return err;
}

/**
 * SafeHttp words refusals as "URL ..." or "redirect target ..."; users need
 * the field name instead. Address refusals get one plain sentence whatever
 * the exact range (loopback, link-local...): to a user they are all private.
 */
function refusal(err: UnsafeUrlError, field: string): string {
  const viaRedirect = err.message.startsWith('redirect target');
  if (err.address) {
    const verb = viaRedirect ? 'redirects to' : 'points to';
    return `${field} ${verb} a private address (${err.address}); dhp only downloads from public addresses`;
  }
  if (viaRedirect) return `${field} redirects to a URL dhp will not follow: ${err.message.replace(/^redirect target /, 'it ')}`;
  if (err.message.startsWith('URL ')) return err.message.replace(/^URL/, field);
  return `${field} could not be downloaded: ${err.message}`;
}

function formatSeconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(1)));
}

