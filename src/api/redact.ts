/**
 * Query parameters that carry credentials. Anything that echoes or logs a URL
 * goes through `redactUrl`, so no answer or log line ever shows one.
 */
const SECRET_PARAMS = /([?&;](?:access_token|sign|secret)=)[^&#\s'"]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

/** The path of a request target, without its query and cut short: enough to say which endpoint was meant. */
export function pathOf(url: string): string {
  const p = redactUrl(url.split('?')[0]);
  return p.length > 200 ? `${p.slice(0, 200)}…` : p;
}
