import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { Job } from '../store/schema.js';
import type { Clock } from '../clock.js';
import type { EnqueueOptions, Executor, JobQueue, JobType } from './queue.js';

/**
 * The default queue: a table in the embedded database. A claim is a single
 * UPDATE ... RETURNING, so two workers never get the same job; a job whose lease
 * ran out (its worker died) is claimable again.
 */
export class EmbeddedQueue implements JobQueue {
  private listeners: (() => void)[] = [];

  constructor(private readonly db: Db, private readonly clock: Clock, private readonly defaultMaxAttempts: number) {}

  async enqueue(tx: Executor, type: JobType, refId: number, opts: EnqueueOptions = {}): Promise<number> {
    const now = this.clock.now();
    const row = await tx.insertInto('jobs').values({
      type, ref_id: refId, state: 'queued', attempts: 0,
      max_attempts: opts.maxAttempts ?? this.defaultMaxAttempts,
      run_at: opts.runAt ?? now, lease_until: null, locked_by: null, last_error: null,
      created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    // Listeners run after the caller's transaction commits (next tick at the earliest).
    setImmediate(() => this.listeners.forEach((l) => l()));
    return Number(row.id);
  }

  onEnqueue(listener: () => void): void { this.listeners.push(listener); }

  async claim(types: readonly JobType[], workerId: string, leaseMs: number): Promise<Job | null> {
    if (types.length === 0) return null;
    const now = this.clock.now();
    const next = this.db.selectFrom('jobs').select('id')
      .where('type', 'in', types as JobType[])
      .where((eb) => eb.or([
        eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)]),
        eb.and([eb('state', '=', 'running'), eb('lease_until', '<', now)]),
      ]))
      .orderBy('run_at').orderBy('id').limit(1);
    const job = await this.db.updateTable('jobs')
      .set({ state: 'running', locked_by: workerId, lease_until: now + leaseMs, attempts: sql`attempts + 1`, updated_at: now })
      .where('id', '=', next)
      .returningAll()
      .executeTakeFirst();
    return job ? normalize(job) : null;
  }

  async heartbeat(jobId: number, workerId: string, leaseMs: number): Promise<boolean> {
    const now = this.clock.now();
    const r = await this.db.updateTable('jobs').set({ lease_until: now + leaseMs, updated_at: now })
      .where('id', '=', jobId).where('locked_by', '=', workerId).where('state', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async complete(jobId: number, workerId: string): Promise<void> {
    await this.finish(jobId, workerId, { state: 'done', last_error: null });
  }

  async retry(jobId: number, workerId: string, runAt: number, error: string): Promise<void> {
    await this.finish(jobId, workerId, { state: 'queued', run_at: runAt, last_error: error });
  }

  async fail(jobId: number, workerId: string, error: string): Promise<void> {
    await this.finish(jobId, workerId, { state: 'failed', last_error: error });
  }

  async requeueRunning(): Promise<number> {
    const r = await this.db.updateTable('jobs')
      .set({ state: 'queued', locked_by: null, lease_until: null, updated_at: this.clock.now() })
      .where('state', '=', 'running').executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async depth(): Promise<{ type: string; state: string; count: number }[]> {
    const rows = await this.db.selectFrom('jobs').select(['type', 'state', (eb) => eb.fn.countAll<number>().as('count')])
      .where('state', 'in', ['queued', 'running']).groupBy(['type', 'state']).execute();
    return rows.map((r) => ({ type: r.type, state: r.state, count: Number(r.count) }));
  }

  private async finish(jobId: number, workerId: string, set: { state: Job['state']; last_error: string | null; run_at?: number }) {
    await this.db.updateTable('jobs').set({ ...set, locked_by: null, lease_until: null, updated_at: this.clock.now() })
      .where('id', '=', jobId).where('locked_by', '=', workerId).execute();
  }
}

function normalize(job: Job): Job {
  return { ...job, id: Number(job.id), ref_id: Number(job.ref_id), attempts: Number(job.attempts), max_attempts: Number(job.max_attempts) };
}
