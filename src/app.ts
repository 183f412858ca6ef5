import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from './config/config.js';
import { systemClock, type Clock } from './clock.js';
import { openSqlite, type Db } from './store/db.js';
import { EmbeddedQueue } from './queue/embedded.js';
import type { JobQueue } from './queue/queue.js';
import { Metrics } from './metrics.js';
import { DiskStorage, type Storage } from './media/storage.js';
import { SafeHttp } from './media/safe-http.js';
import { EspeakEngine } from './engines/tts/espeak.js';
import type { TtsEngine } from './engines/tts/engine.js';
import { QuotaService } from './services/quota.js';
import { AppsService } from './services/apps.js';
import { AuthService } from './services/auth.js';
import { auditionKey, CatalogService, publicVoices } from './services/catalog.js';
import { TtsService } from './services/tts.js';
import { CallbackService } from './callbacks/callbacks.js';
import { Idempotency } from './api/idempotency.js';
import { RateLimiter } from './api/rate-limit.js';
import { Worker, type HandlerMap } from './worker/worker.js';
import { buildServer } from './api/server.js';
import type { Api } from './api/context.js';

export interface Services {
  config: Config;
  db: Db;
  queue: JobQueue;
  metrics: Metrics;
  storage: Storage;
  engine: TtsEngine;
  quota: QuotaService;
  apps: AppsService;
  auth: AuthService;
  catalog: CatalogService;
  tts: TtsService;
  callbacks: CallbackService;
  idempotency: Idempotency;
  rateLimiter: RateLimiter;
  fileUrl: (key: string) => string;
  workersRunning: () => boolean;
}

export interface DhpApp {
  services: Services;
  log: Logger;
  server: Api;
  /** Starts listening (and the workers when enabled); resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The composition root: every part built with plain constructors, nothing global. */
export async function createApp(config: Config, opts: { log?: Logger; clock?: Clock } = {}): Promise<DhpApp> {
  const log = opts.log ?? pino({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const db = await openSqlite(config.databaseFile);
  const queue = new EmbeddedQueue(db, clock, config.taskMaxAttempts);
  const metrics = new Metrics(queue);
  const storage = new DiskStorage(path.join(config.dataDir, 'files'));
  const http = new SafeHttp({
    allowPrivate: config.allowPrivateNetwork, timeoutMs: 30_000, maxResponseBytes: 1024 * 1024, maxRedirects: 5, userAgent: 'dhp/0.1 (+callbacks)',
  });
  const engine = new EspeakEngine({ threads: config.ttsThreads });
  let baseUrl = config.publicUrl ?? `http://127.0.0.1:${config.port}`;
  const fileUrl = (key: string) => `${baseUrl}/files/${key}`;

  const quota = new QuotaService(db, clock);
  const apps = new AppsService(db, quota, clock, config.defaultQuota);
  const auth = new AuthService(db, clock, config);
  const catalog = new CatalogService();
  const callbacks = new CallbackService(db, queue, http, clock, metrics, { maxAttempts: config.callbackMaxAttempts, timeoutMs: config.callbackTimeoutMs });
  const tts = new TtsService(db, queue, quota, catalog, engine, storage, callbacks, clock, fileUrl,
    { maxChars: config.ttsMaxChars, allowPrivateNetwork: config.allowPrivateNetwork });

  const taskBackoff = { baseMs: config.taskBackoffBaseMs, maxMs: config.taskBackoffMaxMs };
  const handlers: HandlerMap = {
    'tts.synthesize': {
      run: (job) => tts.run(job),
      giveUp: (job, reason) => tts.giveUp(job, reason),
      backoff: taskBackoff,
      exhaustedReason: (job) => `Speech synthesis failed ${job.attempts} times; submit the task again, and tell the operator if it keeps failing (job ${job.id}).`,
    },
    'callback.deliver': {
      run: (job) => callbacks.deliver(job),
      giveUp: (job, reason) => callbacks.giveUp(job, reason),
      backoff: { baseMs: config.callbackBackoffBaseMs, maxMs: config.callbackBackoffMaxMs },
      exhaustedReason: (job, last) => `callback not acknowledged after ${job.attempts} attempts; last: ${last}`,
    },
  };
  const worker = new Worker(queue, handlers, clock, log.child({ part: 'worker' }), metrics,
    { concurrency: config.workerConcurrency, leaseMs: config.taskLeaseMs });
  let workersStarted = false;

  const services: Services = {
    config, db, queue, metrics, storage, engine, quota, apps, auth, catalog, tts, callbacks,
    idempotency: new Idempotency(db, clock, config.idempotencyTtlHours * 3_600_000),
    rateLimiter: new RateLimiter(config.rateLimitPerMinute, clock),
    fileUrl,
    workersRunning: () => workersStarted,
  };
  const server = await buildServer(services, log);

  return {
    services, log, server,
    async listen() {
      const address = await server.listen({ host: config.host, port: config.port });
      if (!config.publicUrl) {
        const port = new URL(address).port;
        baseUrl = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
      }
      await ensureAuditions(services, log);
      if (config.workersEnabled) {
        // The embedded database belongs to this one process, so anything marked
        // running was interrupted by a crash or a kill: put it back now.
        const requeued = await queue.requeueRunning();
        if (requeued) log.info({ requeued }, 'requeued tasks interrupted by the previous run');
        worker.start();
        workersStarted = true;
      }
      return baseUrl;
    },
    async close() {
      await server.close();
      if (workersStarted) await worker.stop();
      workersStarted = false;
      await engine.close();
      await db.destroy();
    },
  };
}

/** Each public voice's demo clip (ttsAudition) is real speech, made once and kept. */
async function ensureAuditions(s: Services, log: Logger): Promise<void> {
  for (const v of publicVoices) {
    const key = auditionKey(v.speakerId);
    if (await s.storage.exists(key)) continue;
    const result = await s.engine.synthesize(v.demo, v.profile);
    await s.storage.put(key, result.wav);
    log.debug({ speakerId: v.speakerId }, 'made voice audition');
  }
}
