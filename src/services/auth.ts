import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../domain/errors.js';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import type { App } from '../store/schema.js';
import { normalizeApp } from './apps.js';

export interface TokenRequest { grant_type: string; appId: string; timestamp: string; sign: string }

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/** The cloud platform's signature: lowercase hex md5(appId + timestamp + secret). */
export function signature(appId: string, timestamp: string | number, secret: string): string {
  return md5(`${appId}${timestamp}${secret}`);
}

/**
 * Access tokens: random and opaque, stored only as a SHA-256 hash, each with its
 * own expiry, several valid at once. A small in-memory cache keeps the hot path
 * (every API call) off the database; it only ever holds hashes.
 */
export class AuthService {
  /** Keyed by the token itself (memory only; the database keeps hashes), so a hit costs no hashing. */
  private cache = new Map<string, { app: App; expiresAt: number; hash: string }>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly opts: { tokenTtlSeconds: number; signatureWindowSeconds: number },
  ) {}

  async issueToken(q: TokenRequest): Promise<{ access_token: string; expires_in: number }> {
    if (q.grant_type !== 'sign') throw new ApiError('INVALID_PARAMETER', `grant_type must be "sign"; got "${q.grant_type}".`);
    const ts = Number(q.timestamp);
    if (!/^\d{10,16}$/.test(q.timestamp)) {
      throw new ApiError('INVALID_PARAMETER', 'timestamp must be the current time in epoch milliseconds (digits only).');
    }
    const skewMs = Math.abs(this.clock.now() - ts);
    if (skewMs > this.opts.signatureWindowSeconds * 1000) {
      throw new ApiError('TIMESTAMP_OUT_OF_WINDOW',
        `timestamp is ${Math.round(skewMs / 1000)} s away from the server's clock; it must be within ${this.opts.signatureWindowSeconds} s. Sign with the current time in epoch milliseconds.`);
    }
    const app = await this.db.selectFrom('apps').selectAll().where('app_id', '=', q.appId).executeTakeFirst();
    const expected = app ? signature(app.app_id, q.timestamp, app.secret) : md5(`${q.appId}${q.timestamp}`);
    const given = q.sign.toLowerCase();
    const ok = app !== undefined && given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    if (!ok) throw new ApiError('SIGNATURE_INVALID', 'sign does not match: compute lowercase hex md5(appId + timestamp + secret) with this appId and its secret.');

    const token = randomUUID();
    const now = this.clock.now();
    await this.db.insertInto('tokens').values({
      token_hash: sha256(token), app_pk: app.id, expires_at: now + this.opts.tokenTtlSeconds * 1000, created_at: now,
    }).execute();
    // Opportunistic cleanup keeps the table from growing without a cron.
    await this.db.deleteFrom('tokens').where('expires_at', '<', now - 86_400_000).execute();
    return { access_token: token, expires_in: this.opts.tokenTtlSeconds };
  }

  /** The app a token belongs to, or an UNAUTHORIZED / TOKEN_EXPIRED error. */
  async authenticate(token: string | undefined): Promise<{ app: App; tokenHash: string }> {
    if (!token) throw new ApiError('UNAUTHORIZED', 'access_token is missing: get one from /openapi/oauth/token and pass it as ?access_token=.');
    const now = this.clock.now();
    const cached = this.cache.get(token);
    if (cached && cached.expiresAt > now) return { app: cached.app, tokenHash: cached.hash };
    const hash = sha256(token);
    const row = await this.db.selectFrom('tokens').innerJoin('apps', 'apps.id', 'tokens.app_pk')
      .selectAll('apps').select('tokens.expires_at').where('tokens.token_hash', '=', hash).executeTakeFirst();
    if (!row) throw new ApiError('UNAUTHORIZED', 'access_token is not valid: get a new one from /openapi/oauth/token.');
    const expiresAt = Number(row.expires_at);
    if (expiresAt <= now) {
      this.cache.delete(token);
      throw new ApiError('TOKEN_EXPIRED', 'access_token has expired: get a new one from /openapi/oauth/token.');
    }
    const { expires_at: _, ...rest } = row;
    const app = normalizeApp(rest);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(token, { app, expiresAt, hash });
    return { app, tokenHash: hash };
  }
}
