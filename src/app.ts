import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Api, Services } from './api/context.js';
import { Idempotency } from './api/idempotency.js';
import { RateLimiter } from './api/rate-limit.js';
import { buildServer } from './api/server.js';
import { CallbackService } from './callbacks/callbacks.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/config.js';
import { PermanentError } from './domain/errors.js';
import { NoRecognizer, PocketsphinxRecognizer, type ConsentRecognizer } from './engines/consent/recognizer.js';
import type { FaceDetector } from './engines/face/detector.js';
import { HumanFaceDetector } from './engines/face/human.js';
import { DuixFace2FaceEngine } from './engines/lipsync/duix.js';
import { EspeakEngine } from './engines/tts/espeak.js';
import { DiskStorage } from './media/storage.js';
import { locateMediaTools, type MediaTools } from './media/tools.js';
import { Metrics } from './metrics.js';
import { SafeHttp } from './net/http.js';
import { EmbeddedQueue } from './queue/embedded.js';
import { AppsService } from './services/apps.js';
import { AuthService } from './services/auth.js';
import { CatalogService } from './services/catalog.js';
import { ConsentRecords, ConsentService } from './services/consent.js';
import { TaskLifecycle } from './services/lifecycle.js';
import { OwnFiles } from './services/own-files.js';
import { QuotaService } from './services/quota.js';
import { TrainingService } from './services/trainings.js';
import { TtsService } from './services/tts.js';
import { UploadService } from './services/uploads.js';
import { mediaUrlCheck } from './services/urls.js';
import { VideoService } from './services/videos.js';
import { VoiceService } from './services/voices.js';
import { MediaWorkspace } from './services/workspace.js';
import { openSqlite } from './store/db.js';
import { jobHandlers } from './worker/handlers.js';
import { Worker } from './worker/worker.js';

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
  const queue = new EmbeddedQueue(db, clock, config.taskMaxAttempts,
    { activePerApp: config.maxActiveTasksPerApp, perType: { 'consent.verify': config.maxPendingAuthorizePerApp } });
  const metrics = new Metrics(queue);
  const storage = new DiskStorage(path.join(config.dataDir, 'files'));
  const http = new SafeHttp({
    allowPrivate: config.allowPrivateNetwork, timeoutMs: 30_000, maxResponseBytes: 1024 * 1024, maxRedirects: 5, userAgent: 'dhp/0.1 (+callbacks)',
  });
  const engine = new EspeakEngine({ threads: config.ttsThreads });
  let baseUrl = config.publicUrl ?? `http://127.0.0.1:${config.port}`;
  const fileUrl = (key: string) => `${baseUrl}/files/${key}`;

  const quota = new QuotaService(db, clock);
  const auth = new AuthService(db, clock, config);
  const apps = new AppsService(db, quota, clock, config.defaultQuota, (appPk) => auth.forgetApp(appPk));
  const catalog = new CatalogService({ fileUrl, storage, engine });
  const callbacks = new CallbackService({
    db, queue, http, clock, metrics, opts: { maxAttempts: config.callbackMaxAttempts, timeoutMs: config.callbackTimeoutMs },
  });

  // Heavy parts start on first use; ffmpeg is probed at listen() so a broken install is reported at boot.
  const tools = once(async (): Promise<MediaTools> => {
    try {
      return await locateMediaTools({ ffmpegPath: config.ffmpegPath ?? undefined, ffprobePath: config.ffprobePath ?? undefined });
    } catch (err) {
      throw new PermanentError(`Media processing is unavailable on this server: ${(err as Error).message}`);
    }
  });
  let faceDetector: FaceDetector | null = null;
  const faces = async () => (faceDetector ??= new HumanFaceDetector());
  const recognizer = once(async (): Promise<ConsentRecognizer> => (await PocketsphinxRecognizer.locate({ speech: engine })) ?? new NoRecognizer());
  const ownFiles = new OwnFiles({ db, storage, fileUrl });
  const media = new MediaWorkspace({ tools, http, root: path.join(config.dataDir, 'work'), limits: config, ownFiles });
  const uploads = new UploadService({ db, storage, media, clock, fileUrl });
  const mediaUrl = mediaUrlCheck(ownFiles, config.allowPrivateNetwork);
  const consent = new ConsentService({ db, records: new ConsentRecords(db, clock), queue, recognizer, media, mediaUrl, required: config.consentRequired });
  const lifecycle = new TaskLifecycle({ quota, callbacks, clock });
  const tasks = { db, queue, quota, lifecycle, storage, clock, fileUrl };
  const voices = new VoiceService({
    ...tasks, consent, media, engine,
    opts: { allowPrivateNetwork: config.allowPrivateNetwork, lifetimeMs: config.voiceLifetimeDays * 86_400_000, mediaUrl },
  });
  const trainings = new TrainingService({
    ...tasks, consent, media, faces,
    opts: {
      allowPrivateNetwork: config.allowPrivateNetwork, minSeconds: config.trainingMinSeconds, maxSeconds: config.trainingMaxSeconds, mediaUrl,
      // A configured lip-sync service does the work itself; the mouth bank would go unused.
      lipsync: config.lipsyncUrl ? 'off' : config.lipsync,
    },
  });
  const lipsync = config.lipsyncUrl && config.lipsyncLocalDir
    ? new DuixFace2FaceEngine({
      baseUrl: config.lipsyncUrl, http,
      shared: { localDir: config.lipsyncLocalDir, remoteDir: config.lipsyncRemoteDir ?? config.lipsyncLocalDir },
    })
    : null;
  const videos = new VideoService({
    ...tasks, catalog, voices, consent, engine, media, lipsync,
    opts: {
      allowPrivateNetwork: config.allowPrivateNetwork, maxChars: config.ttsMaxChars, maxAudioSeconds: config.videoMaxAudioSeconds, mediaUrl,
      embeddedLipsync: config.lipsync === 'embedded', faces,
    },
  });
  const tts = new TtsService({
    ...tasks, catalog, voices, engine, opts: { maxChars: config.ttsMaxChars, allowPrivateNetwork: config.allowPrivateNetwork },
  });

  const handlers = jobHandlers({ tts, trainings, voices, consent, videos, callbacks }, config);
  const worker = new Worker(queue, handlers, clock, log.child({ part: 'worker' }), metrics,
    {
      concurrency: config.workerConcurrency, leaseMs: config.taskLeaseMs,
      callbackConcurrency: config.callbackConcurrency, callbackConcurrencyPerApp: config.callbackConcurrencyPerApp,
    });
  let workersStarted = false;

  const services: Services = {
    config, db, queue, metrics, storage, engine, quota, apps, auth, catalog, tts, trainings, voices, videos, consent, callbacks,
    idempotency: new Idempotency(db, clock, config.idempotencyTtlHours * 3_600_000),
    rateLimiter: new RateLimiter(config.rateLimitPerMinute, clock, 'this app'),
    clientRateLimiter: new RateLimiter(config.tokenRateLimitPerMinute, clock, 'tokens from this address'),
    fileUrl,
    mediaUrl,
    uploads,
    workersRunning: () => workersStarted,
  };
  const server = await buildServer(services, log);

  return {
    services, log, server,
    async listen() {
      // Before anything makes a scratch folder: whatever is there was left by killed attempts.
      const stale = await media.scratch.removeStale();
      if (stale.length) log.info({ removed: stale.length }, 'removed scratch folders left by killed attempts');
      const address = await server.listen({ host: config.host, port: config.port });
      if (!config.publicUrl) {
        const port = new URL(address).port;
        baseUrl = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
      }
      await catalog.prepare(log);
      try {
        const t = await tools();
        log.info({ ffmpeg: t.ffmpeg, version: t.ffmpegVersion, source: t.source }, 'media tools ready');
      } catch (err) {
        log.error((err as Error).message);
      }
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
      await faceDetector?.close();
      await db.destroy();
    },
  };
}

/** Runs `fn` once and shares its promise; a failure is kept too, so every caller sees the same sentence. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= fn());
}
