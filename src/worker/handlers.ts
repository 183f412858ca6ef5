import type { Config } from '../config/config.js';
import type { Job } from '../store/schema.js';
import type { HandlerMap, JobHandler } from './worker.js';

/** A service that runs one kind of task as a job, and records its final failure. */
export interface TaskRunner {
  run(job: Job): Promise<void>;
  giveUp(job: Job, reason: string): Promise<void>;
}

export interface HandlerServices {
  tts: TaskRunner;
  trainings: TaskRunner;
  voices: TaskRunner;
  consent: TaskRunner;
  videos: TaskRunner;
  callbacks: { deliver(job: Job): Promise<void>; giveUp(job: Job, reason: string): Promise<void> };
}

/**
 * What each job type runs, how it backs off and what its final failure says. Needs the services
 * only, not the HTTP server: a worker process builds the same map.
 */
export function jobHandlers(s: HandlerServices, config: Pick<Config,
  'taskBackoffBaseMs' | 'taskBackoffMaxMs' | 'callbackBackoffBaseMs' | 'callbackBackoffMaxMs'>): HandlerMap {
  const taskBackoff = { baseMs: config.taskBackoffBaseMs, maxMs: config.taskBackoffMaxMs };
  // A user task: retried with the task backoff; its final failure reason asks the user to resubmit.
  const task = (what: string, service: TaskRunner): JobHandler => ({
    run: (job) => service.run(job),
    giveUp: (job, reason) => service.giveUp(job, reason),
    backoff: taskBackoff,
    exhaustedReason: (job) => `${what} failed ${job.attempts} times on the server's side; submit it again, and tell the operator if it keeps failing (job ${job.id}).`,
  });
  return {
    'tts.synthesize': task('Speech synthesis', s.tts),
    'training.run': task('Avatar training', s.trainings),
    'voice.clone': task('Voice cloning', s.voices),
    'consent.verify': task('The consent check', s.consent),
    'video.synthesize': task('Video synthesis', s.videos),
    'callback.deliver': {
      run: (job) => s.callbacks.deliver(job),
      giveUp: (job, reason) => s.callbacks.giveUp(job, reason),
      backoff: { baseMs: config.callbackBackoffBaseMs, maxMs: config.callbackBackoffMaxMs },
      exhaustedReason: (job, last) => `callback not acknowledged after ${job.attempts} attempts; last: ${last}`,
    },
  };
}
