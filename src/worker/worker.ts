import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { backoffMs } from '../domain/backoff.js';
import { PermanentError } from '../domain/errors.js';
import type { ClaimOptions, JobQueue, JobType } from '../queue/queue.js';
import type { Job } from '../store/schema.js';

export interface JobHandler {
  run(job: Job): Promise<void>;
  /** The job will not run again: record the reason where the user sees it. */
  giveUp(job: Job, reason: string): Promise<void>;
  backoff: { baseMs: number; maxMs: number };
  /** The reason shown when transient failures use up every attempt. */
  exhaustedReason(job: Job, lastError: string): string;
}

/** Every job type has a handler: the compiler checks this map for completeness. */
export type HandlerMap = { [T in JobType]: JobHandler };

export interface WorkerMetrics { jobFinished(type: string, outcome: 'done' | 'retry' | 'failed', seconds: number): void }

/**
 * Pulls jobs from the queue with `concurrency` slots. Each running job's lease is
 * renewed while it runs; a worker that dies stops renewing and the job becomes
 * claimable again. Transient errors retry with capped exponential backoff.
 */
export class Worker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private running = 0;
  private stopped = true;
  private waiters = new Set<() => void>();
  private loops: Promise<void>[] = [];
  private readonly types: JobType[];

  constructor(
    private readonly queue: JobQueue,
    private readonly handlers: HandlerMap,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: WorkerMetrics,
    private readonly opts: { concurrency: number; leaseMs: number; pollMs?: number; callbackConcurrency?: number; callbackConcurrencyPerApp?: number },
  ) {
    this.types = (Object.keys(handlers) as JobType[]).filter((t) => t !== 'callback.deliver');
    queue.onEnqueue(() => this.wakeAll());
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    // Callbacks have slots of their own so deliveries never wait behind long syntheses, and
    // each app may hold only some of them so one app's slow receiver cannot delay the others'.
    const callbacks = { maxRunningPerApp: this.opts.callbackConcurrencyPerApp ?? 1 };
    this.loops = [
      ...Array.from({ length: this.opts.concurrency }, () => this.loop(this.types)),
      ...Array.from({ length: this.opts.callbackConcurrency ?? 1 }, () => this.loop(['callback.deliver'], callbacks)),
    ];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeAll();
    await Promise.all(this.loops);
  }

  get busy(): number { return this.running; }

  private async loop(types: JobType[], claim: ClaimOptions = {}): Promise<void> {
    while (!this.stopped) {
      let job: Job | null = null;
      try {
        job = await this.queue.claim(types, this.id, this.opts.leaseMs, claim);
      } catch (err) {
        this.log.error({ err }, 'claiming a job failed; backing off');
        await this.sleep(2000);
        continue;
      }
      if (!job) { await this.sleep(this.opts.pollMs ?? 250); continue; }
      await this.execute(job);
    }
  }

  private async execute(job: Job): Promise<void> {
    const handler = this.handlers[job.type as JobType];
    const started = performance.now();
    this.running++;
    const beat = setInterval(() => {
      this.queue.heartbeat(job.id, this.id, this.opts.leaseMs).catch((err) => this.log.warn({ err, job: job.id }, 'lease renewal failed'));
    }, Math.max(250, Math.floor(this.opts.leaseMs / 3)));
    const seconds = () => (performance.now() - started) / 1000;
    try {
      await handler.run(job);
      await this.queue.complete(job.id, this.id);
      this.metrics.jobFinished(job.type, 'done', seconds());
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const permanent = err instanceof PermanentError;
      if (!permanent && job.attempts < job.max_attempts) {
        const delay = backoffMs(job.attempts, handler.backoff.baseMs, handler.backoff.maxMs);
        this.log.warn({ job: job.id, type: job.type, attempt: job.attempts, delayMs: delay, err: message }, 'job failed; will retry');
        await this.queue.retry(job.id, this.id, this.clock.now() + delay, message);
        this.metrics.jobFinished(job.type, 'retry', seconds());
      } else {
        const reason = permanent ? message : handler.exhaustedReason(job, message);
        if (!permanent) this.log.error({ job: job.id, type: job.type, err }, 'job failed on its last attempt');
        try {
          await handler.giveUp(job, reason);
          await this.queue.fail(job.id, this.id, message);
        } catch (giveUpErr) {
          // Leave the lease to expire so the job is retried rather than lost.
          this.log.error({ err: giveUpErr, job: job.id }, 'recording a failed job failed');
        }
        this.metrics.jobFinished(job.type, 'failed', seconds());
      }
    } finally {
      clearInterval(beat);
      this.running--;
    }
  }

  private wakeAll(): void {
    for (const w of [...this.waiters]) w();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.waiters.delete(done); resolve(); };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}
