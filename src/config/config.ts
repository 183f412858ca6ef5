import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * All settings, validated once at boot. Every setting comes from an environment
 * variable (DHP_*), optionally from a JSON file named by DHP_CONFIG_FILE; the
 * environment wins. Every bad key is reported in one message.
 */
export interface Config {
  host: string;
  port: number;
  /** Base URL clients use to reach this server; file URLs are built from it. Default: the listening address. */
  publicUrl: string | null;
  dataDir: string;
  /** SQLite file; defaults to <dataDir>/dhp.sqlite. */
  databaseFile: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  tokenTtlSeconds: number;
  signatureWindowSeconds: number;
  /** Requests per minute allowed for one app, whichever of its tokens it uses. */
  rateLimitPerMinute: number;
  /** Token requests per minute allowed from one client address. */
  tokenRateLimitPerMinute: number;
  /** Live access tokens one app may hold; signing for one more ends its oldest. */
  maxTokensPerApp: number;
  /** How long a checked token is trusted from memory before the database is asked again (revocation from another process takes effect within it). */
  authCacheMs: number;
  /** Bearer token that opens /metrics to non-loopback clients; null: loopback only. */
  metricsToken: string | null;
  bodyLimitBytes: number;
  ttsMaxChars: number;
  ttsThreads: number;
  workerConcurrency: number;
  /** Run workers inside `dhp serve`. */
  workersEnabled: boolean;
  taskLeaseMs: number;
  taskMaxAttempts: number;
  taskBackoffBaseMs: number;
  taskBackoffMaxMs: number;
  callbackMaxAttempts: number;
  callbackBackoffBaseMs: number;
  callbackBackoffMaxMs: number;
  callbackTimeoutMs: number;
  /** Callback deliveries in flight at once, and at most this many for one app (a slow receiver holds only its own app's). */
  callbackConcurrency: number;
  callbackConcurrencyPerApp: number;
  /** Tasks one app may have queued or running; more are refused with TOO_MANY_TASKS. */
  maxActiveTasksPerApp: number;
  /** Authorize submissions (consent checks, which cost no quota) one app may have waiting. */
  maxPendingAuthorizePerApp: number;
  /** Allow outbound requests to loopback/private addresses (development and tests only). */
  allowPrivateNetwork: boolean;
  idempotencyTtlHours: number;
  /** ffmpeg/ffprobe binaries; default: on PATH, else the ones npm installs. */
  ffmpegPath: string | null;
  ffprobePath: string | null;
  maxVideoBytes: number;
  maxAudioBytes: number;
  downloadTimeoutMs: number;
  /** A download slower than this over any rate window fails (0: no minimum). */
  downloadMinBytesPerSec: number;
  downloadRateWindowMs: number;
  /** Longest audioUrl a video accepts; longer ones are refused before they are decoded. */
  videoMaxAudioSeconds: number;
  trainingMinSeconds: number;
  trainingMaxSeconds: number;
  /** Refuse avatars and voices whose consent recording is not verified or approved. */
  consentRequired: boolean;
  voiceLifetimeDays: number;
  /** Lip-sync of trained avatars when no DHP_LIPSYNC_URL is set: 'embedded' (from the person's own mouth frames) or 'off' (the clip looped). */
  lipsync: 'embedded' | 'off';
  /** Duix.Avatar face2face service for lip-sync of trained avatars, and the folder it shares with dhp. */
  lipsyncUrl: string | null;
  lipsyncLocalDir: string | null;
  lipsyncRemoteDir: string | null;
  defaultQuota: { ttsWords: number; fastDuration: number; fastTraining: number; voiceClone: number };
}

type Parser<T> = (raw: string) => T;

const int = (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> => (raw) => {
  if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
  return n;
};
const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`must be true or false, got "${raw}"`);
};
const str: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw.trim();
};
const secretToken: Parser<string> = (raw) => {
  // Compared against a header, so it must be a header-safe token, and long enough not to be guessed.
  if (!/^[A-Za-z0-9._~+/=-]{16,256}$/.test(raw.trim())) throw new Error('must be 16 to 256 characters of letters, digits and ._~+/=-');
  return raw.trim();
};
const oneOf = <T extends string>(...values: T[]): Parser<T> => (raw) => {
  if (!values.includes(raw as T)) throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
};
const url: Parser<string> = (raw) => {
  let u: URL;
  try { u = new URL(raw); } catch { throw new Error(`must be an absolute http(s) URL, got "${raw}"`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`must be an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
};

interface Setting<T> { env: string; parse: Parser<T>; def: T | ((c: Partial<Config>) => T) }

// One table: the env name, how to parse it, and its default.
const settings: { [K in Exclude<keyof Config, 'defaultQuota'>]: Setting<Config[K]> } = {
  host: { env: 'DHP_HOST', parse: str, def: '0.0.0.0' },
  port: { env: 'DHP_PORT', parse: int(0, 65535), def: 8080 },
  publicUrl: { env: 'DHP_PUBLIC_URL', parse: url, def: null },
  dataDir: { env: 'DHP_DATA_DIR', parse: str, def: './data' },
  databaseFile: { env: 'DHP_DATABASE_FILE', parse: str, def: (c) => path.join(c.dataDir!, 'dhp.sqlite') },
  logLevel: { env: 'DHP_LOG_LEVEL', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), def: 'info' },
  tokenTtlSeconds: { env: 'DHP_TOKEN_TTL_SECONDS', parse: int(60, 30 * 86400), def: 7200 },
  signatureWindowSeconds: { env: 'DHP_SIGNATURE_WINDOW_SECONDS', parse: int(1, 86400), def: 300 },
  rateLimitPerMinute: { env: 'DHP_RATE_LIMIT_PER_MINUTE', parse: int(1), def: 1200 },
  tokenRateLimitPerMinute: { env: 'DHP_TOKEN_RATE_LIMIT_PER_MINUTE', parse: int(1), def: 60 },
  maxTokensPerApp: { env: 'DHP_MAX_TOKENS_PER_APP', parse: int(1, 100_000), def: 100 },
  authCacheMs: { env: 'DHP_AUTH_CACHE_MS', parse: int(0, 60_000), def: 2000 },
  metricsToken: { env: 'DHP_METRICS_TOKEN', parse: secretToken, def: null },
  bodyLimitBytes: { env: 'DHP_BODY_LIMIT_BYTES', parse: int(1024), def: 1024 * 1024 },
  ttsMaxChars: { env: 'DHP_TTS_MAX_CHARS', parse: int(1, 1_000_000), def: 20000 },
  ttsThreads: { env: 'DHP_TTS_THREADS', parse: int(1, 64), def: 1 },
  workerConcurrency: { env: 'DHP_WORKER_CONCURRENCY', parse: int(1, 256), def: 2 },
  workersEnabled: { env: 'DHP_WORKERS', parse: bool, def: true },
  taskLeaseMs: { env: 'DHP_TASK_LEASE_MS', parse: int(1000), def: 60_000 },
  taskMaxAttempts: { env: 'DHP_TASK_MAX_ATTEMPTS', parse: int(1, 100), def: 5 },
  taskBackoffBaseMs: { env: 'DHP_TASK_BACKOFF_BASE_MS', parse: int(1), def: 2000 },
  taskBackoffMaxMs: { env: 'DHP_TASK_BACKOFF_MAX_MS', parse: int(1), def: 5 * 60_000 },
  callbackMaxAttempts: { env: 'DHP_CALLBACK_MAX_ATTEMPTS', parse: int(1, 100), def: 6 },
  callbackBackoffBaseMs: { env: 'DHP_CALLBACK_BACKOFF_BASE_MS', parse: int(1), def: 5000 },
  callbackBackoffMaxMs: { env: 'DHP_CALLBACK_BACKOFF_MAX_MS', parse: int(1), def: 10 * 60_000 },
  callbackTimeoutMs: { env: 'DHP_CALLBACK_TIMEOUT_MS', parse: int(100), def: 10_000 },
  callbackConcurrency: { env: 'DHP_CALLBACK_CONCURRENCY', parse: int(1, 256), def: 4 },
  callbackConcurrencyPerApp: { env: 'DHP_CALLBACK_CONCURRENCY_PER_APP', parse: int(1, 256), def: 2 },
  maxActiveTasksPerApp: { env: 'DHP_MAX_ACTIVE_TASKS_PER_APP', parse: int(1), def: 100 },
  maxPendingAuthorizePerApp: { env: 'DHP_MAX_PENDING_AUTHORIZE_PER_APP', parse: int(1), def: 10 },
  allowPrivateNetwork: { env: 'DHP_ALLOW_PRIVATE_NETWORK', parse: bool, def: false },
  idempotencyTtlHours: { env: 'DHP_IDEMPOTENCY_TTL_HOURS', parse: int(1, 24 * 30), def: 24 },
  ffmpegPath: { env: 'DHP_FFMPEG_PATH', parse: str, def: null },
  ffprobePath: { env: 'DHP_FFPROBE_PATH', parse: str, def: null },
  maxVideoBytes: { env: 'DHP_MAX_VIDEO_BYTES', parse: int(1024), def: 2 * 1024 ** 3 },
  maxAudioBytes: { env: 'DHP_MAX_AUDIO_BYTES', parse: int(1024), def: 50 * 1024 ** 2 },
  downloadTimeoutMs: { env: 'DHP_DOWNLOAD_TIMEOUT_MS', parse: int(1000), def: 15 * 60_000 },
  downloadMinBytesPerSec: { env: 'DHP_DOWNLOAD_MIN_BYTES_PER_SEC', parse: int(0), def: 8192 },
  downloadRateWindowMs: { env: 'DHP_DOWNLOAD_RATE_WINDOW_MS', parse: int(100), def: 30_000 },
  videoMaxAudioSeconds: { env: 'DHP_VIDEO_MAX_AUDIO_SECONDS', parse: int(1, 86400), def: 3600 },
  trainingMinSeconds: { env: 'DHP_TRAINING_MIN_SECONDS', parse: int(1, 3600), def: 5 },
  trainingMaxSeconds: { env: 'DHP_TRAINING_MAX_SECONDS', parse: int(1, 7200), def: 600 },
  consentRequired: { env: 'DHP_CONSENT_REQUIRED', parse: bool, def: true },
  voiceLifetimeDays: { env: 'DHP_VOICE_LIFETIME_DAYS', parse: int(1, 36500), def: 365 },
  lipsync: { env: 'DHP_LIPSYNC', parse: oneOf('embedded', 'off'), def: 'embedded' },
  lipsyncUrl: { env: 'DHP_LIPSYNC_URL', parse: url, def: null },
  lipsyncLocalDir: { env: 'DHP_LIPSYNC_LOCAL_DIR', parse: str, def: null },
  lipsyncRemoteDir: { env: 'DHP_LIPSYNC_REMOTE_DIR', parse: str, def: null },
};

const quotaSettings = {
  ttsWords: { env: 'DHP_DEFAULT_TTS_WORDS', def: 100_000 },
  fastDuration: { env: 'DHP_DEFAULT_FAST_DURATION_MS', def: 3_600_000 },
  fastTraining: { env: 'DHP_DEFAULT_FAST_TRAINING', def: 10 },
  voiceClone: { env: 'DHP_DEFAULT_VOICE_CLONE', def: 10 },
} as const;

export class ConfigError extends Error {}

/** Names of every environment variable dhp reads, for `dhp help` and the README. */
export const configKeys = [
  'DHP_CONFIG_FILE',
  ...Object.values(settings).map((s) => s.env),
  ...Object.values(quotaSettings).map((s) => s.env),
];

/**
 * Builds the configuration from `env` (and the JSON file it may name), plus
 * `overrides` for programmatic use (tests, embedding). Throws one ConfigError
 * listing every bad key.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const source: Record<string, string> = {};
  if (env.DHP_CONFIG_FILE) {
    try {
      const parsed = JSON.parse(readFileSync(env.DHP_CONFIG_FILE, 'utf8')) as Record<string, unknown>;
      for (const [k, v] of Object.entries(parsed)) {
        if (!configKeys.includes(k)) problems.push(`${k} (in ${env.DHP_CONFIG_FILE}): unknown setting`);
        else source[k] = String(v);
      }
    } catch (err) {
      problems.push(`DHP_CONFIG_FILE: cannot read ${env.DHP_CONFIG_FILE} as JSON (${(err as Error).message})`);
    }
  }
  for (const k of configKeys) if (env[k] !== undefined && env[k] !== '') source[k] = env[k]!;

  const out: Partial<Config> = {};
  for (const [key, s] of Object.entries(settings) as [keyof typeof settings, Setting<unknown>][]) {
    if (key in overrides) { (out as Record<string, unknown>)[key] = overrides[key]; continue; }
    const raw = source[s.env];
    if (raw === undefined) {
      (out as Record<string, unknown>)[key] = typeof s.def === 'function' ? (s.def as (c: Partial<Config>) => unknown)(out) : s.def;
      continue;
    }
    try { (out as Record<string, unknown>)[key] = s.parse(raw); } catch (err) { problems.push(`${s.env}: ${(err as Error).message}`); }
  }
  const quota = { ...overrides.defaultQuota } as Config['defaultQuota'];
  for (const [key, s] of Object.entries(quotaSettings) as [keyof Config['defaultQuota'], { env: string; def: number }][]) {
    if (quota[key] !== undefined) continue;
    const raw = source[s.env];
    if (raw === undefined) { quota[key] = s.def; continue; }
    try { quota[key] = int(0)(raw); } catch (err) { problems.push(`${s.env}: ${(err as Error).message}`); }
  }
  out.defaultQuota = quota;
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return out as Config;
}
