import type { Kysely, Transaction } from 'kysely';
import type { Database, Job } from '../store/schema.js';

/** Job types and what each refers to; the worker's handler map is checked against this union. */
export type JobType = 'tts.synthesize' | 'callback.deliver' | 'training.run' | 'voice.clone' | 'consent.verify' | 'video.synthesize';

export type Executor = Kysely<Database> | Transaction<Database>;

export interface EnqueueOptions {
  runAt?: number;
  maxAttempts?: number;
}

/**
 * The queue only says "work on row N of type T"; the row itself is the truth.
 * Enqueue takes the caller's transaction so that a task and its job are written
 * together or not at all.
 */
export interface JobQueue {
  enqueue(tx: Executor, type: JobType, refId: number, opts?: EnqueueOptions): Promise<number>;
  /** Claims the next due job of one of `types`, leasing it to `workerId` for `leaseMs`. */
  claim(types: readonly JobType[], workerId: string, leaseMs: number): Promise<Job | null>;
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
