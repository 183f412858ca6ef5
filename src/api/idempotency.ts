import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import { ApiError } from '../domain/errors.js';
import type { Db } from '../store/db.js';

const IN_PROGRESS = 0;
/**
 * A create answers in milliseconds (the work itself is queued), so a key still "in progress"
 * after this long belongs to a request whose process died before recording its answer; the
 * next request with the key takes it over instead of being refused until the key expires.
 */
export const ABANDONED_AFTER_MS = 60_000;

/**
 * `Idempotency-Key` on create endpoints: the same key with the same body answers
 * the first response again; with another body it is a 409. A placeholder row is
 * written first, so two concurrent requests with one key cannot both create.
 * Failed requests release the key, so the caller can fix the input and retry. A key left
 * "in progress" by a process that died is taken over after ABANDONED_AFTER_MS. The task and
 * the recorded answer are written one after the other, so a crash between the two (a window
 * of a millisecond or so) can still let the retry create a second task.
 */
export class Idempotency {
  constructor(private readonly db: Db, private readonly clock: Clock, private readonly ttlMs: number) {}

  async run<T>(req: FastifyRequest, reply: FastifyReply, route: string, create: () => Promise<T>): Promise<T> {
    const key = req.headers['idempotency-key'];
    if (key === undefined) return create();
    if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
      throw new ApiError('INVALID_PARAMETER', 'Idempotency-Key header must be 1 to 255 characters.');
    }
    const appPk = req.tenant.id;
    const hash = createHash('sha256').update(JSON.stringify(req.body ?? null)).digest('hex');
    const now = this.clock.now();
    const claimed = await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('idempotency').where('app_pk', '=', appPk).where('route', '=', route).where('key', '=', key)
        .where('created_at', '<', now - this.ttlMs).execute();
      const existing = await tx.selectFrom('idempotency').selectAll()
        .where('app_pk', '=', appPk).where('route', '=', route).where('key', '=', key).executeTakeFirst();
      // An abandoned claim on the same request is taken over: this request becomes its owner,
      // named by its claim time, so the abandoned one (should it still finish) changes nothing.
      const abandoned = existing && existing.status_code === IN_PROGRESS && existing.request_hash === hash && existing.created_at < now - ABANDONED_AFTER_MS;
      if (existing && !abandoned) return existing;
      if (existing) {
        await tx.updateTable('idempotency').set({ created_at: now })
          .where('app_pk', '=', appPk).where('route', '=', route).where('key', '=', key).where('created_at', '=', existing.created_at).execute();
        return null;
      }
      await tx.insertInto('idempotency').values({
        app_pk: appPk, route, key, request_hash: hash, status_code: IN_PROGRESS, response: '', created_at: now,
      }).execute();
      return null;
    });
    if (claimed) {
      if (claimed.request_hash !== hash) {
        throw new ApiError('IDEMPOTENCY_CONFLICT', 'Idempotency-Key was already used with a different request body; use a new key for a new request.');
      }
      if (claimed.status_code === IN_PROGRESS) {
        throw new ApiError('IDEMPOTENCY_CONFLICT', 'A request with this Idempotency-Key is still being processed; retry in a moment.');
      }
      reply.header('idempotent-replayed', 'true');
      return JSON.parse(claimed.response) as T;
    }
    try {
      const result = await create();
      await this.db.updateTable('idempotency').set({ status_code: 200, response: JSON.stringify(result) })
        .where('app_pk', '=', appPk).where('route', '=', route).where('key', '=', key).where('created_at', '=', now).execute();
      return result;
    } catch (err) {
      await this.db.deleteFrom('idempotency').where('app_pk', '=', appPk).where('route', '=', route).where('key', '=', key)
        .where('created_at', '=', now).execute();
      throw err;
    }
  }
}
