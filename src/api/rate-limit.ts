import { ApiError } from '../domain/errors.js';
import type { Clock } from '../clock.js';

/**
 * A token bucket per key (an app, or a client address): `perMinute` requests a minute,
 * bursting up to the same number. In memory: each API process limits what it serves.
 */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  /** `who` names what is limited in the refusal, e.g. "this app". */
  constructor(private readonly perMinute: number, private readonly clock: Clock, private readonly who = 'this app') {}

  take(key: string): void {
    const now = this.clock.now();
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    if (b.tokens < 1) {
      const retryAfter = Math.ceil((1 - b.tokens) / rate / 1000);
      this.buckets.set(key, b);
      throw new ApiError('RATE_LIMITED', `Too many requests for ${this.who} (limit ${this.perMinute} per minute); retry in ${retryAfter} s.`,
        { 'retry-after': String(retryAfter) });
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
    if (this.buckets.size > 50_000) this.sweep(now);
  }

  private sweep(now: number) {
    for (const [k, b] of this.buckets) if (now - b.at > 60_000) this.buckets.delete(k);
  }
}
