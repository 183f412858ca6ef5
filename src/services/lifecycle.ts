import type { Updateable } from 'kysely';
import type { CallbackService } from '../callbacks/callbacks.js';
import type { Clock } from '../clock.js';
import { tasks, type TaskDescription, type TaskKind } from '../domain/tasks.js';
import type { Executor } from '../store/db.js';
import type { Database, Training, TtsSynthesis, Video, Voice } from '../store/schema.js';
import type { QuotaService } from './quota.js';

/** The stored row of each kind of task. */
export interface TaskRows { tts: TtsSynthesis; voice: Voice; training: Training; video: Video }

type Table<K extends TaskKind> = (typeof tasks)[K]['table'];

export interface Settlement<K extends TaskKind> {
  /** The final status. */
  status: number;
  /** Other columns written in the same update (a reason, the result's keys). */
  fields?: Omit<Updateable<Database[Table<K>]>, 'status' | 'updated_at'>;
  /** The quota ledger's reference of the task's reservation. */
  quotaRef: string;
  /** On success, charge this instead of the reserved amount (a video: the length it turned out to be). */
  chargeAmount?: number;
  /** The callback's `data`, from the settled row; sent only when the task has a callbackUrl. */
  callbackData: (row: TaskRows[K]) => unknown;
}

/**
 * The one step that ends a task, for every kind: a guarded status update, then the charge (on
 * success) or the refund (otherwise) of its reservation, then its callback, all in the caller's
 * transaction. The guard (the row is still in an active status) makes the step happen once: a
 * second settle of the same task, by a late retry, a cancel racing the worker or a kill and
 * restart, changes nothing and returns null, so the quota moves once and one callback is sent.
 */
export class TaskLifecycle {
  private readonly quota: QuotaService;
  private readonly callbacks: CallbackService;
  private readonly clock: Clock;

  constructor(deps: { quota: QuotaService; callbacks: CallbackService; clock: Clock }) {
    ({ quota: this.quota, callbacks: this.callbacks, clock: this.clock } = deps);
  }

  /** Settles task `id` of `kind`; the settled row, or null when the task had already ended. */
  async settle<K extends TaskKind>(tx: Executor, kind: K, id: number, s: Settlement<K>): Promise<TaskRows[K] | null> {
    const task: TaskDescription = tasks[kind];
    if (!task.final.includes(s.status)) throw new Error(`status ${s.status} does not end a ${task.noun}`);
    // The four tables share id, app_pk, status, updated_at and callback_url; Kysely cannot see
    // that through a table name chosen at run time, hence the one cast.
    const updated = await tx.updateTable(task.table as 'videos')
      .set({ ...(s.fields as object), status: s.status, updated_at: this.clock.now() })
      .where('id', '=', id).where('status', 'in', [...task.active]).returningAll().executeTakeFirst() as unknown as TaskRows[K] | undefined;
    if (!updated) return null;
    const appPk = Number(updated.app_pk);
    if (s.status === task.success) await this.quota.charge(tx, appPk, task.quota, s.quotaRef, s.chargeAmount);
    else await this.quota.refund(tx, appPk, task.quota, s.quotaRef);
    if (updated.callback_url) {
      await this.callbacks.schedule(tx, {
        appPk, taskType: task.callbackType, resourceId: Number(updated.id), url: updated.callback_url, data: s.callbackData(updated),
      });
    }
    return updated;
  }
}
