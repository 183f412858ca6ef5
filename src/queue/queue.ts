import type { Executor } from '../store/db.js';
import type { Job } from '../store/schema.js';

/** Job types and what each refers to; the worker's handler map is checked against this union. */
export type JobType = 'tts.synthesize' | 'callback.deliver' | 'training.run' | 'voice.clone' | 'consent.verify' | 'video.synthesize';

export interface EnqueueOptions {
  /** The app the job works for: claims are fair across apps and each app's backlog is capped. */
  appPk: number;
  runAt?: number;
  maxAttempts?: number;
}

export interface ClaimOptions {
  /** Skip apps that already have this many jobs of `types` running (a slow receiver holds only its own app's slots). */
  maxRunningPerApp?: number;
}

/** How many jobs one app may have queued or running; beyond it enqueue refuses (TOO_MANY_TASKS). */
export interface AdmissionLimits {
  /** Every task type except callbacks, which follow tasks that were already admitted. */
  activePerApp: number;
  /** Tighter limits for single types (authorize submissions cost no quota). */
  perType?: Partial<Record<JobType, number>>;
}

/**
 * The queue only says "work on row N of type T"; the row itself is the truth.
 * Enqueue takes the caller's transaction so that a task and its job are written
 * together or not at all.
 */
export interface JobQueue {
  /** Throws ApiError TOO_MANY_TASKS when the app's backlog is full; the caller's transaction then rolls back. */
  enqueue(tx: Executor, type: JobType, refId: number, opts: EnqueueOptions): Promise<number>;
  /**
   * Claims a due job of one of `types`, leasing it to `workerId` for `leaseMs`. Fair across
   * apps: the app with the fewest running jobs first, then the one claimed longest ago;
   * within an app, the oldest due job.
   */
  claim(types: readonly JobType[], workerId: string, leaseMs: number, opts?: ClaimOptions): Promise<Job | null>;
  /** Extends a lease; false when the job is no longer ours (lease lost). */
  heartbeat(jobId: number, workerId: string, leaseMs: number): Promise<boolean>;
  complete(jobId: number, workerId: string): Promise<void>;
  /** Puts the job back to run at `runAt`, recording the error. */
  retry(jobId: number, workerId: string, runAt: number, error: string): Promise<void>;
  fail(jobId: number, workerId: string, error: string): Promise<void>;
  /** Returns every running job to the queue (boot of the single embedded process). */
  requeueRunning(): Promise<number>;
  depth(): Promise<{ type: string; state: string; count: number }[]>;
  /** Called when something was enqueued so idle workers wake without waiting for the next poll. */
  onEnqueue(listener: () => void): void;
}
