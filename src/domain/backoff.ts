/**
 * Capped exponential backoff with full jitter on the upper half: attempt 1 waits
 * about base, attempt 2 about 2*base, ... never more than max.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
