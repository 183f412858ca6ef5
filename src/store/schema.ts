import type { Generated, Insertable, Selectable } from 'kysely';

/** Times are epoch milliseconds; ids are integers the API shows as-is. */
export interface AppsTable {
  id: Generated<number>;
  app_id: string;
  /** Kept readable: the signature scheme (md5(appId+timestamp+secret)) and callback signing need it. */
  secret: string;
  name: string;
  corp_id: number;
  created_at: number;
}

export interface TokensTable {
  token_hash: string;
  app_pk: number;
  expires_at: number;
  created_at: number;
}

export type QuotaKind = 'tts_words' | 'fast_duration' | 'fast_training' | 'voice_clone';

export interface QuotasTable {
  app_pk: number;
  kind: QuotaKind;
  total: number;
  used: number;
  reserved: number;
}

export interface QuotaLedgerTable {
  id: Generated<number>;
  app_pk: number;
  kind: QuotaKind;
  op: 'grant' | 'reserve' | 'charge' | 'refund';
  amount: number;
  /** What the entry is for, e.g. "tts:12"; (ref, kind, op) is unique so a retried step never counts twice. */
  ref: string | null;
  created_at: number;
}

export interface TtsSynthesesTable {
  id: Generated<number>;
  app_pk: number;
  speaker_id: string;
  content: string;
  char_count: number;
  callback_url: string | null;
  status: number;
  duration_ms: number | null;
  audio_key: string | null;
  srt_key: string | null;
  reason: string | null;
  callback_status: number;
  created_at: number;
  updated_at: number;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobsTable {
  id: Generated<number>;
  type: string;
  ref_id: number;
  state: JobState;
  attempts: number;
  max_attempts: number;
  run_at: number;
  lease_until: number | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface CallbacksTable {
  id: Generated<number>;
  app_pk: number;
  task_type: string;
  resource_id: number;
  url: string;
  body: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface IdempotencyTable {
  app_pk: number;
  route: string;
  key: string;
  request_hash: string;
  status_code: number;
  response: string;
  created_at: number;
}

export interface Database {
  apps: AppsTable;
  tokens: TokensTable;
  quotas: QuotasTable;
  quota_ledger: QuotaLedgerTable;
  tts_syntheses: TtsSynthesesTable;
  jobs: JobsTable;
  callbacks: CallbacksTable;
  idempotency: IdempotencyTable;
}

export type App = Selectable<AppsTable>;
export type TtsSynthesis = Selectable<TtsSynthesesTable>;
export type NewTtsSynthesis = Insertable<TtsSynthesesTable>;
export type Job = Selectable<JobsTable>;
export type Callback = Selectable<CallbacksTable>;
