import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyBaseLogger, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression } from 'fastify';
import type { CallbackService } from '../callbacks/callbacks.js';
import type { Config } from '../config/config.js';
import type { TtsEngine } from '../engines/tts/engine.js';
import type { Storage } from '../media/storage.js';
import type { Metrics } from '../metrics.js';
import type { JobQueue } from '../queue/queue.js';
import type { AppsService } from '../services/apps.js';
import type { AuthService } from '../services/auth.js';
import type { CatalogService } from '../services/catalog.js';
import type { ConsentService } from '../services/consent.js';
import type { QuotaService } from '../services/quota.js';
import type { TrainingService } from '../services/trainings.js';
import type { TtsService } from '../services/tts.js';
import type { UploadService } from '../services/uploads.js';
import type { MediaUrlCheck } from '../services/urls.js';
import type { VideoService } from '../services/videos.js';
import type { VoiceService } from '../services/voices.js';
import type { Db } from '../store/db.js';
import type { App } from '../store/schema.js';
import type { Idempotency } from './idempotency.js';
import type { RateLimiter } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest { tenant: App }
  interface FastifyContextConfig {
    /**
     * Who may call the route: 'app' needs an access token (the default for every /openapi/
     * route), 'public' needs none. Decided on the route that matched, never on the raw URL.
     */
    auth?: 'public' | 'app';
    /** Limit this route per client address (the token endpoint: it is called without a token). */
    perClientLimit?: boolean;
  }
}

/** What the API needs: the services, and the few parts of the house routes reach directly. */
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
  trainings: TrainingService;
  voices: VoiceService;
  videos: VideoService;
  consent: ConsentService;
  callbacks: CallbackService;
  idempotency: Idempotency;
  /** Per app, for every authenticated request. */
  rateLimiter: RateLimiter;
  /** Per client address, for the token endpoint (called before there is an app to count against). */
  clientRateLimiter: RateLimiter;
  fileUrl: (key: string) => string;
  mediaUrl: MediaUrlCheck;
  uploads: UploadService;
  workersRunning: () => boolean;
}

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export type RoutePlugin = (api: Api, services: Services) => void;
