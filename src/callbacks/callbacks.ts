import type { Clock } from '../clock.js';
import { PermanentError } from '../domain/errors.js';
import { CallbackStatus } from '../domain/status.js';
import { taskOfCallback, type CallbackTaskType } from '../domain/tasks.js';
import { UnsafeUrlError } from '../net/address.js';
import { HttpFetchError, type SafeHttp } from '../net/http.js';
import type { JobQueue } from '../queue/queue.js';
import type { Db, Executor } from '../store/db.js';
import type { Job } from '../store/schema.js';
import { DELIVERY_ID_HEADER, signCallback, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signing.js';

export type { CallbackTaskType };

export interface CallbackMetrics { callbackOutcome(outcome: 'delivered' | 'retry' | 'failed'): void }

/**
 * Callbacks are an outbox: the body is fixed when the task ends (in the same
 * transaction) and delivered by its own job type, so a slow receiver never holds
 * a synthesis worker and a crash never loses a delivery.
 */
export interface CallbackDeps {
  db: Db;
  queue: JobQueue;
  http: SafeHttp;
  clock: Clock;
  metrics: CallbackMetrics;
  opts: { maxAttempts: number; timeoutMs: number };
}

export class CallbackService {
  private readonly db: Db;
  private readonly queue: JobQueue;
  private readonly http: SafeHttp;
  private readonly clock: Clock;
  private readonly metrics: CallbackMetrics;
  private readonly opts: { maxAttempts: number; timeoutMs: number };

  constructor(deps: CallbackDeps) {
    ({ db: this.db, queue: this.queue, http: this.http, clock: this.clock, metrics: this.metrics, opts: this.opts } = deps);
  }

  async schedule(tx: Executor, c: { appPk: number; taskType: CallbackTaskType; resourceId: number; url: string; data: unknown }): Promise<void> {
    const now = this.clock.now();
    const body = JSON.stringify({ taskType: c.taskType, data: c.data });
    const row = await tx.insertInto('callbacks').values({
      app_pk: c.appPk, task_type: c.taskType, resource_id: c.resourceId, url: c.url, body,
      state: 'pending', attempts: 0, last_error: null, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    await this.queue.enqueue(tx, 'callback.deliver', Number(row.id), { appPk: c.appPk, maxAttempts: this.opts.maxAttempts });
  }

  /** One delivery attempt. Throws to ask for a retry; PermanentError when retrying cannot help. */
  async deliver(job: Job): Promise<void> {
    const cb = await this.db.selectFrom('callbacks').innerJoin('apps', 'apps.id', 'callbacks.app_pk')
      .selectAll('callbacks').select('apps.secret').where('callbacks.id', '=', job.ref_id).executeTakeFirst();
    if (!cb || cb.state !== 'pending') return;
    const ts = this.clock.now();
    await this.db.updateTable('callbacks').set({ attempts: job.attempts, updated_at: ts }).where('id', '=', cb.id).execute();
    let problem: string;
    try {
      const res = await this.http.request(cb.url, {
        method: 'POST',
        timeoutMs: this.opts.timeoutMs,
        maxResponseBytes: 64 * 1024,
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: String(ts),
          [SIGNATURE_HEADER]: signCallback(cb.secret, ts, cb.body),
          [DELIVERY_ID_HEADER]: String(cb.id),
        },
        body: cb.body,
      });
      if (res.status >= 200 && res.status < 300 && acknowledged(res.body)) {
        await this.finish(cb.id, cb.task_type as CallbackTaskType, Number(cb.resource_id), 'delivered', null);
        this.metrics.callbackOutcome('delivered');
        return;
      }
      problem = res.status >= 200 && res.status < 300
        ? `the receiver answered HTTP ${res.status} without {"code":"0"} in its JSON body`
        : `the receiver answered HTTP ${res.status}`;
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new PermanentError(err.message);
      if (err instanceof HttpFetchError) problem = err.message;
      else throw err;
    }
    await this.db.updateTable('callbacks').set({ last_error: problem, updated_at: this.clock.now() }).where('id', '=', cb.id).execute();
    this.metrics.callbackOutcome('retry');
    throw new Error(problem);
  }

  /** Called when the last attempt failed. */
  async giveUp(job: Job, reason: string): Promise<void> {
    const cb = await this.db.selectFrom('callbacks').selectAll().where('id', '=', job.ref_id).executeTakeFirst();
    if (!cb || cb.state !== 'pending') return;
    await this.finish(cb.id, cb.task_type as CallbackTaskType, Number(cb.resource_id), 'failed', reason);
    this.metrics.callbackOutcome('failed');
  }

  private async finish(id: number, taskType: CallbackTaskType, resourceId: number, state: 'delivered' | 'failed', error: string | null) {
    const now = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('callbacks').set({ state, last_error: error, updated_at: now }).where('id', '=', id).execute();
      await tx.updateTable(taskOfCallback(taskType).table)
        .set({ callback_status: state === 'delivered' ? CallbackStatus.Success : CallbackStatus.Failed })
        .where('id', '=', resourceId).execute();
    });
  }
}

function acknowledged(body: Buffer): boolean {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { code?: unknown };
    return parsed?.code === '0' || parsed?.code === 0;
  } catch {
    return false;
  }
}
