import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';
import { ApiError } from '../domain/errors.js';
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

/** A timestamp may run this far ahead of the server's clock (clock drift), never more. */
export const FUTURE_TOLERANCE_MS = 30_000;

export interface AuthOptions {
  tokenTtlSeconds: number;
  signatureWindowSeconds: number;
  maxTokensPerApp: number;
  /** How long a checked token is trusted from memory; a change made by another process shows within it. */
  authCacheMs: number;
}

/**
 * Access tokens: random and opaque, stored only as a SHA-256 hash, each with its
 * own expiry, several valid at once (at most maxTokensPerApp: signing for one more
 * ends the oldest). A small in-memory cache keeps the hot path (every API call) off
 * the database, but only for authCacheMs: then the token row and its app are read
 * again, so a token revoked or an app disabled by another process (the `dhp app`
 * commands) stops working within that bound. Changes made through this process
 * (`forgetApp`) take effect at once.
 *
 * Each signature gets one token: (app, timestamp, sign) is recorded until the
 * timestamp leaves the window, so a signed URL seen in a log or a proxy cannot be
 * replayed for another token.
 */
export class AuthService {
  /** Keyed by the token itself (memory only; the database keeps hashes), so a hit costs no hashing. */
  private cache = new Map<string, { app: App; expiresAt: number; checkedAt: number; hash: string }>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly opts: AuthOptions,
  ) {}

  async issueToken(q: TokenRequest): Promise<{ access_token: string; expires_in: number }> {
    if (q.grant_type !== 'sign') throw new ApiError('INVALID_PARAMETER', 'grant_type must be "sign".');
    const ts = Number(q.timestamp);
    if (!/^\d{10,16}$/.test(q.timestamp)) {
      throw new ApiError('INVALID_PARAMETER', 'timestamp must be the current time in epoch milliseconds (digits only).');
    }
    const now = this.clock.now();
    const windowMs = this.opts.signatureWindowSeconds * 1000;
    if (ts - now > FUTURE_TOLERANCE_MS) {
      throw new ApiError('TIMESTAMP_OUT_OF_WINDOW',
        `timestamp is ${Math.round((ts - now) / 1000)} s ahead of the server's clock; it may be at most ${FUTURE_TOLERANCE_MS / 1000} s ahead. Sign with the current time in epoch milliseconds.`);
    }
    if (now - ts > windowMs) {
      throw new ApiError('TIMESTAMP_OUT_OF_WINDOW',
        `timestamp is ${Math.round((now - ts) / 1000)} s old; it must be at most ${this.opts.signatureWindowSeconds} s old. Sign with the current time in epoch milliseconds.`);
    }
    const row = await this.db.selectFrom('apps').selectAll().where('app_id', '=', q.appId).executeTakeFirst();
    const expected = row ? signature(row.app_id, q.timestamp, row.secret) : md5(`${q.appId}${q.timestamp}`);
    const given = q.sign.toLowerCase();
    const ok = row !== undefined && given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    if (!ok) throw new ApiError('SIGNATURE_INVALID', 'sign does not match: compute lowercase hex md5(appId + timestamp + secret) with this appId and its secret.');
    const app = normalizeApp(row);
    if (app.disabled_at !== null) throw disabled();

    const token = randomUUID();
    await this.db.transaction().execute(async (tx) => {
      const used = await tx.insertInto('used_signatures')
        .values({ app_pk: app.id, timestamp: q.timestamp, sign: given, expires_at: ts + windowMs })
        .onConflict((oc) => oc.doNothing()).executeTakeFirst();
      if (Number(used.numInsertedOrUpdatedRows ?? 0) === 0) {
        throw new ApiError('SIGNATURE_INVALID', 'This signature was already used for a token; each one is good for one token. Sign again with the current timestamp.');
      }
      await tx.insertInto('tokens').values({
        token_hash: sha256(token), app_pk: app.id, expires_at: now + this.opts.tokenTtlSeconds * 1000, created_at: now,
      }).execute();
      // Opportunistic cleanup keeps both tables from growing without a cron; an expired token
      // is kept a day so that it answers TOKEN_EXPIRED rather than "unknown".
      await tx.deleteFrom('tokens').where('expires_at', '<', now - 86_400_000).execute();
      await tx.deleteFrom('used_signatures').where('expires_at', '<', now).execute();
      const surplus = await tx.selectFrom('tokens').select('token_hash').where('app_pk', '=', app.id)
        .orderBy('created_at', 'desc').orderBy('token_hash').limit(1_000_000).offset(this.opts.maxTokensPerApp).execute();
      if (surplus.length) {
        const hashes = surplus.map((r) => r.token_hash);
        await tx.deleteFrom('tokens').where('token_hash', 'in', hashes).execute();
        this.forget((e) => hashes.includes(e.hash));
      }
    });
    return { access_token: token, expires_in: this.opts.tokenTtlSeconds };
  }

  /** The app a token belongs to, or an UNAUTHORIZED / TOKEN_EXPIRED error. */
  async authenticate(token: string | undefined): Promise<App> {
    if (!token) throw new ApiError('UNAUTHORIZED', 'access_token is missing: get one from /openapi/oauth/token and pass it as ?access_token=.');
    const now = this.clock.now();
    const cached = this.cache.get(token);
    if (cached && cached.expiresAt > now && now - cached.checkedAt < this.opts.authCacheMs) return cached.app;
    const hash = cached?.hash ?? sha256(token);
    const row = await this.db.selectFrom('tokens').innerJoin('apps', 'apps.id', 'tokens.app_pk')
      .selectAll('apps').select('tokens.expires_at').where('tokens.token_hash', '=', hash).executeTakeFirst();
    if (!row) {
      this.cache.delete(token);
      throw new ApiError('UNAUTHORIZED', 'access_token is not valid (unknown, or revoked): get a new one from /openapi/oauth/token.');
    }
    const expiresAt = Number(row.expires_at);
    if (expiresAt <= now) {
      this.cache.delete(token);
      throw new ApiError('TOKEN_EXPIRED', 'access_token has expired: get a new one from /openapi/oauth/token.');
    }
    const { expires_at: _, ...rest } = row;
    const app = normalizeApp(rest);
    if (app.disabled_at !== null) {
      this.cache.delete(token);
      throw disabled();
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(token, { app, expiresAt, checkedAt: now, hash });
    return app;
  }

  /** Drops what this process remembers about an app's tokens: its next request reads the database. */
  forgetApp(appPk: number): void {
    this.forget((e) => e.app.id === appPk);
  }

  private forget(match: (e: { app: App; hash: string }) => boolean): void {
    for (const [token, e] of this.cache) if (match(e)) this.cache.delete(token);
  }
}

const disabled = () => new ApiError('UNAUTHORIZED', 'This app is disabled by the operator of this server; its tokens and signatures are refused until it is enabled again.');
