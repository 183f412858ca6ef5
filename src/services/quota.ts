import { sql } from 'kysely';
import type { Clock } from '../clock.js';
import { ApiError } from '../domain/errors.js';
import type { Db, Executor } from '../store/db.js';
import type { QuotaKind } from '../store/schema.js';

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

  /**
   * Holds `amount` for `ref` or throws QUOTA_EXCEEDED; call inside the transaction that creates
   * the task. Calling again for the same ref sets its hold to the new amount, so a task re-run
   * after a kill holds what this run needs, not what the killed one did. `headroom` is held on
   * top when free (never refused for it): room for a final size known only at the charge.
   */
  async reserve(tx: Executor, appPk: number, kind: QuotaKind, amount: number, ref: string, headroom = 0): Promise<void> {
    if (await this.settledOp(tx, kind, ref)) return;
    const existing = await tx.selectFrom('quota_ledger').select('amount').where('ref', '=', ref).where('kind', '=', kind).where('op', '=', 'reserve').executeTakeFirst();
    const held = Number(existing?.amount ?? 0);
    const line = await this.line(tx, appPk, kind);
    const free = line.remaining + held;
    if (free < amount) {
      throw new ApiError('QUOTA_EXCEEDED',
        `Not enough ${kindNames[kind]} quota: this request needs ${amount}, ${line.remaining} of ${line.total} remain. Ask the operator to raise the quota.`);
    }
    const hold = amount + Math.max(0, Math.min(headroom, free - amount));
    if (existing && hold === held) return;
    const delta = hold - held;
    const r = await tx.updateTable('quotas')
      .set({ reserved: sql`reserved + ${delta}` })
      .where('app_pk', '=', appPk).where('kind', '=', kind)
      .where(sql<boolean>`total - used - reserved >= ${Math.max(0, delta)}`)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) {
      throw new ApiError('QUOTA_EXCEEDED', `Not enough ${kindNames[kind]} quota for this request; ask the operator to raise the quota.`);
    }
    // The reserve entry states what is held for the ref now; its charge or refund settles that.
    if (existing) {
      await tx.updateTable('quota_ledger').set({ amount: hold, created_at: this.clock.now() })
        .where('ref', '=', ref).where('kind', '=', kind).where('op', '=', 'reserve').execute();
    } else {
      await this.record(tx, appPk, kind, 'reserve', hold, ref);
    }
  }

  /**
   * Turns the reservation `ref` into a charge: of `amount` when given (what the finished task
   * reports, which may differ from what was held), else of what was held. Idempotent.
   */
  async charge(tx: Executor, appPk: number, kind: QuotaKind, ref: string, amount?: number): Promise<void> {
    await this.settle(tx, appPk, kind, ref, 'charge', amount);
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

  private async settledOp(tx: Executor, kind: QuotaKind, ref: string): Promise<boolean> {
    const settled = await tx.selectFrom('quota_ledger').select('op')
      .where('ref', '=', ref).where('kind', '=', kind).where('op', 'in', ['charge', 'refund']).executeTakeFirst();
    return settled !== undefined;
  }

  private async settle(tx: Executor, appPk: number, kind: QuotaKind, ref: string, op: 'charge' | 'refund', charged?: number) {
    const reservation = await tx.selectFrom('quota_ledger').select('amount')
      .where('ref', '=', ref).where('kind', '=', kind).where('op', '=', 'reserve').executeTakeFirst();
    if (!reservation) return;
    if (await this.settledOp(tx, kind, ref)) return;
    const held = Number(reservation.amount);
    const amount = op === 'charge' ? charged ?? held : held;
    await this.record(tx, appPk, kind, op, amount, ref);
    await tx.updateTable('quotas')
      .set(op === 'charge'
        ? { used: sql`used + ${amount}`, reserved: sql`reserved - ${held}` }
        : { reserved: sql`reserved - ${held}` })
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
