import { invalid } from '../domain/errors.js';
import { classifyAddress, parseSafeUrl, UnsafeUrlError } from '../net/address.js';
import type { OwnFiles } from './own-files.js';

/**
 * Checks a callbackUrl when a task is accepted, so an obviously unusable URL is a
 * 400 now rather than a silent failure later. The full check (DNS, every
 * redirect) happens at delivery, in SafeHttp.
 */
export function checkCallbackUrl(raw: string | null | undefined, allowPrivate: boolean, field = 'callbackUrl'): string | null {
  return checkUrl(raw, field, allowPrivate, () => false);
}

/** Parses `raw` and refuses a private address, unless allowed or `isOwn` (this server's own files, which the caller checks further). */
function checkUrl(raw: string | null | undefined, field: string, allowPrivate: boolean, isOwn: (url: URL) => boolean): string | null {
  if (raw === undefined || raw === null || raw.trim() === '') return null;
  if (raw.length > 2048) throw invalid(`${field} is longer than 2048 characters.`);
  let url: URL;
  try {
    url = parseSafeUrl(raw.trim(), field);
  } catch (err) {
    if (err instanceof UnsafeUrlError) throw invalid(`${err.message}.`);
    throw err;
  }
  if (!allowPrivate && !isOwn(url)) {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const kind = host === 'localhost' || host.endsWith('.localhost') ? 'loopback' : isIpLiteral(host) ? classifyAddress(host) : null;
    if (kind) throw invalid(`${field} points to a ${kind} address (${host}); dhp only reaches public addresses.`);
  }
  return url.toString();
}

function isIpLiteral(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

/**
 * Checks a media URL (videoUrl, audioUrl, authorizeUrl) at accept time, like
 * checkCallbackUrl; dhp's own upload URLs pass (they are read from storage).
 */
export function checkMediaUrl(raw: string, field: string, allowPrivate: boolean, isOwn: (url: URL) => boolean = () => false): string {
  const checked = checkUrl(raw, field, allowPrivate, isOwn);
  if (!checked) throw invalid(`${field} is required.`);
  return checked;
}

/**
 * The accept-time media URL check as services use it: the field's URL, checked, or a 400.
 * A file URL of this server passes only when it is one of the app's own uploads.
 */
export type MediaUrlCheck = (appPk: number, raw: string, field: string) => Promise<string>;

/** The media URL check of a server: its own file URLs pass only when they are the app's own uploads. */
export function mediaUrlCheck(ownFiles: Pick<OwnFiles, 'isFilesUrl' | 'assertOwnFile'>, allowPrivate: boolean): MediaUrlCheck {
  return async (appPk, raw, field) => {
    const checked = checkMediaUrl(raw, field, allowPrivate, (u) => ownFiles.isFilesUrl(u));
    await ownFiles.assertOwnFile(appPk, new URL(checked), field);
    return checked;
  };
}
