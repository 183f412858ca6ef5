import { sql } from 'kysely';
import { ApiError } from '../domain/errors.js';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import type { QuotaKind } from '../store/schema.js';
import type { Executor } from '../queue/queue.js';

export const quotaKinds: readonly QuotaKind[] = ['tts_words', 'fast_duration', 'fast_training', 'voice_clone'];

const kindNames: Record<QuotaKind, string> = {
  tts_words: 'TTS character',
  fast_duration: 'video synthesis duration',
  fast_training: 'rapid avatar cloning',
  voice_clone: 'rapid voice cloning',
};

export interface QuotaLine { total: number; remaining: number }

/**
 * The quota ledger. Accepting a task reserves, success charges, failure refunds.
 * Each step is a conditional UPDATE plus a ledger row unique on (ref, kind, op),
 * so concurrent requests never overdraw and a retried step never counts twice.
 * remaining = total - used - reserved.
 */
export class QuotaService {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  async grant(tx: Executor, appPk: number, kind: QuotaKind, total: number): Promise<void> {
    const existing = await tx.selectFrom('quotas').select('total').where('app_pk', '=', appPk).where('kind', '=', kind).executeTakeFirst();
    if (existing) {
      await tx.updateTable('quotas').set({ total }).where('app_pk', '=', appPk).where('kind', '=', kind).execute();
    } else {
      await tx.insertInto('quotas').values({ app_pk: appPk, kind, total, used: 0, reserved: 0 }).execute();
    }
    await tx.insertInto('quota_ledger').values({ app_pk: appPk, kind, op: 'grant', amount: total - Number(existing?.total ?? 0), ref: null, created_at: this.clock.now() }).execute();
  }

  /** Reserves `amount` or throws QUOTA_EXCEEDED; call inside the transaction that creates the task. Idempotent per ref. */
  async reserve(tx: Executor, appPk: number, kind: QuotaKind, amount: number, ref: string): Promise<void> {
    // A retried job reserves again with the same ref: the first reservation stands.
    const existing = await tx.selectFrom('quota_ledger').select('id').where('ref', '=', ref).where('kind', '=', kind).where('op', '=', 'reserve').executeTakeFirst();
    if (existing) return;
    const r = await tx.updateTable('quotas')
      .set({ reserved: sql`reserved + ${amount}` })
      .where('app_pk', '=', appPk).where('kind', '=', kind)
      .where(sql<boolean>`total - used - reserved >= ${amount}`)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) {
      const line = await this.line(tx, appPk, kind);
      throw new ApiError('QUOTA_EXCEEDED',
        `Not enough ${kindNames[kind]} quota: this request needs ${amount}, ${line.remaining} of ${line.total} remain. Ask the operator to raise the quota.`);
    }
    await this.record(tx, appPk, kind, 'reserve', amount, ref);
  }

  /** Turns the reservation `ref` into a charge. Idempotent. */
  async charge(tx: Executor, appPk: number, kind: QuotaKind, ref: string): Promise<void> {
    await this.settle(tx, appPk, kind, ref, 'charge');
  }

  /** Releases the reservation `ref`. Idempotent. */
  async refund(tx: Executor, appPk: number, kind: QuotaKind, ref: string): Promise<void> {
    await this.settle(tx, appPk, kind, ref, 'refund');
  }

  async remaining(appPk: number, kind: QuotaKind): Promise<number> {
    return (await this.line(this.db, appPk, kind)).remaining;
  }

  async lines(appPk: number): Promise<Record<QuotaKind, QuotaLine>> {
    const rows = await this.db.selectFrom('quotas').selectAll().where('app_pk', '=', appPk).execute();
    const out = {} as Record<QuotaKind, QuotaLine>;
    for (const k of quotaKinds) out[k] = { total: 0, remaining: 0 };
    for (const r of rows) out[r.kind] = toLine(r);
    return out;
  }

  private async line(tx: Executor, appPk: number, kind: QuotaKind): Promise<QuotaLine> {
    const r = await tx.selectFrom('quotas').selectAll().where('app_pk', '=', appPk).where('kind', '=', kind).executeTakeFirst();
    return r ? toLine(r) : { total: 0, remaining: 0 };
  }

  private async settle(tx: Executor, appPk: number, kind: QuotaKind, ref: string, op: 'charge' | 'refund') {
    const reservation = await tx.selectFrom('quota_ledger').select('amount')
      .where('ref', '=', ref).where('kind', '=', kind).where('op', '=', 'reserve').executeTakeFirst();
    if (!reservation) return;
    const settled = await tx.selectFrom('quota_ledger').select('op')
      .where('ref', '=', ref).where('kind', '=', kind).where('op', 'in', ['charge', 'refund']).executeTakeFirst();
    if (settled) return;
    const amount = Number(reservation.amount);
    await this.record(tx, appPk, kind, op, amount, ref);
    await tx.updateTable('quotas')
      .set(op === 'charge'
        ? { used: sql`used + ${amount}`, reserved: sql`reserved - ${amount}` }
        : { reserved: sql`reserved - ${amount}` })
      .where('app_pk', '=', appPk).where('kind', '=', kind).execute();
  }

  private async record(tx: Executor, appPk: number, kind: QuotaKind, op: 'reserve' | 'charge' | 'refund', amount: number, ref: string) {
    await tx.insertInto('quota_ledger').values({ app_pk: appPk, kind, op, amount, ref, created_at: this.clock.now() }).execute();
  }
}

function toLine(r: { total: number; used: number; reserved: number }): QuotaLine {
  const total = Number(r.total);
  return { total, remaining: Math.max(0, total - Number(r.used) - Number(r.reserved)) };
}
