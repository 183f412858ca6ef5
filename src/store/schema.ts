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
  /** Set by `dhp app disable`: its tokens and signatures are refused. */
  disabled_at: number | null;
}

export interface TokensTable {
  token_hash: string;
  app_pk: number;
  expires_at: number;
  created_at: number;
}

/** Signatures already exchanged for a token, kept until their timestamp leaves the window. */
export interface UsedSignaturesTable {
  app_pk: number;
  timestamp: string;
  sign: string;
  expires_at: number;
}

import type { QuotaKind } from '../domain/tasks.js';
export type { QuotaKind };

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
  /** The app the job works for (0 only for rows older than the column whose task was gone). */
  app_pk: number;
  /** When the job was last claimed: the queue serves the app claimed longest ago first. */
  claimed_at: number | null;
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

export interface TrainingsTable {
  id: Generated<number>;
  app_pk: number;
  title: string;
  video_url: string;
  authorize_url: string;
  authorize_text: string;
  level: number;
  compress: number;
  callback_url: string | null;
  status: number;
  comment: string;
  /** Incremented each time the training is (re)submitted; quota refs include it. */
  run: number;
  scene_id: number | null;
  cover_key: string | null;
  authorize_status: number;
  callback_status: number;
  /** 1: trained in front of a green screen, so a background can be keyed in behind it. */
  green_screen: Generated<number>;
  created_at: number;
  updated_at: number;
  /** JSON of the lip-sync analysis's coverage (frames, usableFrames, coverage, thin), once analysed. */
  lipsync: string | null;
}

export interface ScenesTable {
  id: Generated<number>;
  app_pk: number;
  training_id: number;
  name: string;
  width: number;
  height: number;
  fps: number;
  duration_ms: number;
  frames: number;
  forward_key: string;
  reverse_key: string;
  cover_key: string;
  created_at: number;
  /** The embedded lip-sync's mouth bank: its JSON index and its video (null until analysed, or with no usable frame). */
  lipsync_key: string | null;
  lipsync_video_key: string | null;
}

export interface VoicesTable {
  id: Generated<number>;
  app_pk: number;
  name: string;
  audio_url: string;
  authorize_url: string;
  authorize_text: string;
  sex: number | null;
  languages: string;
  features: string;
  status: number;
  reason: string | null;
  /** The engine's voice (JSON VoiceProfile) once cloning succeeded. */
  profile: string | null;
  audition_key: string | null;
  authorize_status: number;
  callback_url: string | null;
  callback_status: number;
  expire_at: number | null;
  created_at: number;
  updated_at: number;
}

export type ConsentState = 'pending' | 'verified' | 'refused' | 'review' | 'approved' | 'rejected';

export interface ConsentsTable {
  id: Generated<number>;
  app_pk: number;
  subject: 'training' | 'voice';
  subject_id: number;
  authorize_url: string;
  authorize_text: string;
  state: ConsentState;
  reason: string | null;
  transcript: string | null;
  /** Median pitch of the voice in the recording; null before the check or without voiced speech. */
  pitch_hz: number | null;
  created_at: number;
  updated_at: number;
}

export interface VideosTable {
  id: Generated<number>;
  app_pk: number;
  video_name: string | null;
  scene_id: number;
  audio_url: string | null;
  text: string | null;
  speaker_id: string | null;
  pn: number;
  callback_url: string | null;
  status: number;
  fail_reason: string | null;
  video_key: string | null;
  srt_key: string | null;
  cover_key: string | null;
  duration_ms: number | null;
  callback_status: number;
  /** 0..100 while processing (dhp addition), 100 once it succeeded. */
  progress: Generated<number>;
  /** JSON OutputSpec from POST /openapi/video/v2/create; null: the avatar's own picture. */
  output: string | null;
  created_at: number;
  updated_at: number;
}

export interface UploadsTable {
  key: string;
  app_pk: number;
  kind: 'video' | 'audio' | 'image';
  format: string;
  size: number;
  created_at: number;
}

export interface Database {
  apps: AppsTable;
  tokens: TokensTable;
  used_signatures: UsedSignaturesTable;
  quotas: QuotasTable;
  quota_ledger: QuotaLedgerTable;
  tts_syntheses: TtsSynthesesTable;
  jobs: JobsTable;
  callbacks: CallbacksTable;
  idempotency: IdempotencyTable;
  trainings: TrainingsTable;
  scenes: ScenesTable;
  voices: VoicesTable;
  consents: ConsentsTable;
  videos: VideosTable;
  uploads: UploadsTable;
}

export type Video = Selectable<VideosTable>;

export type Training = Selectable<TrainingsTable>;
export type Scene = Selectable<ScenesTable>;
export type Voice = Selectable<VoicesTable>;
export type Consent = Selectable<ConsentsTable>;

export type App = Selectable<AppsTable>;
export type TtsSynthesis = Selectable<TtsSynthesesTable>;
export type NewTtsSynthesis = Insertable<TtsSynthesesTable>;
export type Job = Selectable<JobsTable>;
export type Callback = Selectable<CallbacksTable>;
