import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { Clock } from '../clock.js';
import { invalid, notFound, PermanentError } from '../domain/errors.js';
import type { ClonedVoice } from '../domain/schemas.js';
import { cloneIdOf, cloneSpeakerId } from '../domain/speakers.js';
import { Sex, VoiceStatus, AuthorizeStatus } from '../domain/status.js';
import { formatDateTime } from '../domain/text.js';
import { detectLanguage } from '../engines/consent/recognizer.js';
import type { TtsEngine, VoiceProfile } from '../engines/tts/engine.js';
import { analyzeVoice, checkSample } from '../engines/voice/analyze.js';
import { matchProfile } from '../engines/voice/match.js';
import { runFfmpeg } from '../media/ffmpeg.js';
import { tenantInput } from '../media/input.js';
import { newKey, type Storage } from '../media/storage.js';
import { decodeWav } from '../media/wav.js';
import type { JobQueue } from '../queue/queue.js';
import type { Db, Executor } from '../store/db.js';
import { pageOf, type Page } from '../store/paging.js';
import type { App, Job, Voice } from '../store/schema.js';
import type { ConsentService } from './consent.js';
import type { TaskLifecycle } from './lifecycle.js';
import type { QuotaService } from './quota.js';
import { checkCallbackUrl, type MediaUrlCheck } from './urls.js';
import type { MediaWorkspace } from './workspace.js';

export interface CloneInput { name: string; audioUrl: string; authorizeUrl: string; authorizeText: string; sex?: number | null; callbackUrl?: string | null }

/** The record as the API sends it: its wire schema's type (domain/schemas.ts ClonedVoice), so the shape is written once. */
export type VoiceView = Static<typeof ClonedVoice>;

export interface VoiceListQuery { page: number; size: number; sex?: number; status?: number; expireStartTime?: string; expireEndTime?: string }

const ref = (id: number) => `voice:${id}`;
/** The longest voice sample (checkSample's default limit). */
const SAMPLE_MAX_MS = 60_000;
const FEATURES = 'Matched timbre (pitch and pace)';
const DEMO = { en: 'Hello! This is my new voice. I can read any text you give me, at my own pitch and pace.', zh: '你好！这是我的新声音。我可以按照我的音高和语速朗读你给我的任何文字。' };

/** Rapid voice cloning (section 4) for the embedded engine: a matched profile, not neural cloning. */
export interface VoiceDeps {
  db: Db;
  queue: JobQueue;
  quota: QuotaService;
  consent: ConsentService;
  media: MediaWorkspace;
  engine: TtsEngine;
  storage: Storage;
  lifecycle: TaskLifecycle;
  clock: Clock;
  fileUrl: (key: string) => string;
  opts: { allowPrivateNetwork: boolean; lifetimeMs: number; mediaUrl: MediaUrlCheck };
}

export class VoiceService {
  private readonly db: Db;
  private readonly queue: JobQueue;
  private readonly quota: QuotaService;
  private readonly consent: ConsentService;
  private readonly media: MediaWorkspace;
  private readonly engine: TtsEngine;
  private readonly storage: Storage;
  private readonly lifecycle: TaskLifecycle;
  private readonly clock: Clock;
  private readonly fileUrl: (key: string) => string;
  private readonly opts: { allowPrivateNetwork: boolean; lifetimeMs: number; mediaUrl: MediaUrlCheck };

  constructor(deps: VoiceDeps) {
    ({ db: this.db, queue: this.queue, quota: this.quota, consent: this.consent, media: this.media, engine: this.engine, storage: this.storage, lifecycle: this.lifecycle, clock: this.clock, fileUrl: this.fileUrl, opts: this.opts } = deps);
  }

  async create(app: App, input: CloneInput): Promise<VoiceView> {
    const name = input.name.trim();
    if (!name) throw invalid('name must not be empty.');
    if (!input.authorizeText.trim()) throw invalid('authorizeText must contain the consent sentence the person speaks.');
    const audioUrl = await this.opts.mediaUrl(app.id, input.audioUrl, 'audioUrl');
    const authorizeUrl = await this.opts.mediaUrl(app.id, input.authorizeUrl, 'authorizeUrl');
    const callbackUrl = checkCallbackUrl(input.callbackUrl, this.opts.allowPrivateNetwork);
    const language = detectLanguage(input.authorizeText) === 'zh' ? 'zh' : 'en';
    const now = this.clock.now();
    const row = await this.db.transaction().execute(async (tx) => {
      const v = await tx.insertInto('voices').values({
        app_pk: app.id, name, audio_url: audioUrl, authorize_url: authorizeUrl, authorize_text: input.authorizeText.trim(),
        sex: input.sex ?? null, languages: JSON.stringify([language]), features: FEATURES, status: VoiceStatus.Pending, reason: null,
        profile: null, audition_key: null, authorize_status: AuthorizeStatus.No, callback_url: callbackUrl, callback_status: 0,
        expire_at: null, created_at: now, updated_at: now,
      }).returningAll().executeTakeFirstOrThrow();
      await this.quota.reserve(tx, app.id, 'voice_clone', 1, ref(Number(v.id)));
      await this.queue.enqueue(tx, 'voice.clone', Number(v.id), { appPk: app.id });
      return v;
    });
    return this.view(row);
  }

  async get(app: App, speakerId: string): Promise<VoiceView> {
    return this.view(await this.own(app, speakerId));
  }

  async list(app: App, q: VoiceListQuery): Promise<Page<VoiceView>> {
    const now = this.clock.now();
    let base = this.db.selectFrom('voices').where('app_pk', '=', app.id);
    if (q.sex !== undefined) base = base.where('sex', '=', q.sex);
    if (q.status === VoiceStatus.Expired) base = base.where('status', '=', VoiceStatus.Success).where('expire_at', '<=', now);
    else if (q.status === VoiceStatus.Success) base = base.where('status', '=', VoiceStatus.Success).where('expire_at', '>', now);
    else if (q.status !== undefined) base = base.where('status', '=', q.status);
    if (q.expireStartTime) base = base.where('expire_at', '>=', parseDateTime(q.expireStartTime, 'expireStartTime'));
    if (q.expireEndTime) base = base.where('expire_at', '<=', parseDateTime(q.expireEndTime, 'expireEndTime'));
    return pageOf(q.page, q.size,
      () => base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      (limit, offset) => base.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute(),
      (r) => this.view(r));
  }

  /** The caller's voice as the TTS engine needs it, or a clear refusal. */
  async usableProfile(app: App, speakerId: string): Promise<VoiceProfile> {
    const v = await this.own(app, speakerId, 'speakerId');
    const view = this.view(v);
    if (view.status !== VoiceStatus.Success || !v.profile) {
      const why = view.status === VoiceStatus.Expired ? `expired on ${view.expireTime}` : view.status === VoiceStatus.Failed ? 'failed to clone' : 'is not ready yet';
      throw invalid(`speakerId "${speakerId}" ${why}; use a voice whose status is 2.`);
    }
    this.consent.assertUsable(`Voice ${speakerId}`, v.authorize_status);
    return JSON.parse(v.profile) as VoiceProfile;
  }

  /** Profile of a voice by speakerId for a running task (no consent re-check: it was checked at accept). */
  async profileFor(appPk: number, speakerId: string): Promise<VoiceProfile | null> {
    const id = cloneIdOf(speakerId);
    if (id === null) return null;
    const v = await this.db.selectFrom('voices').select('profile').where('id', '=', id).where('app_pk', '=', appPk).executeTakeFirst();
    return v?.profile ? (JSON.parse(v.profile) as VoiceProfile) : null;
  }

  private async own(app: App, speakerId: string, field?: string): Promise<Voice> {
    const id = cloneIdOf(speakerId);
    const v = id === null ? undefined : await this.db.selectFrom('voices').selectAll().where('id', '=', id).where('app_pk', '=', app.id).executeTakeFirst();
    if (!v) {
      if (field) throw invalid(`${field} "${speakerId}" is not a voice you can use; list voices with POST /openapi/speaker/v2/fastPublicPageList or /openapi/speaker/v2/clonePageList.`);
      throw notFound(`Voice ${speakerId}`);
    }
    return v;
  }

  /** The job: consent, download, validate the sample, match a profile, make the audition. */
  async run(job: Job): Promise<void> {
    const v = await this.db.selectFrom('voices').selectAll().where('id', '=', job.ref_id).executeTakeFirst();
    if (!v || v.status === VoiceStatus.Success || v.status === VoiceStatus.Failed) return;
    await this.db.updateTable('voices').set({ status: VoiceStatus.Training, updated_at: this.clock.now() }).where('id', '=', v.id).execute();

    const consentId = await this.consent.forJob(job, v.app_pk, 'voice', Number(v.id), v.authorize_url, v.authorize_text);
    const consent = await this.consent.verify(consentId);
    if (consent.state === 'refused' && this.consent.required) {
      return this.finish(v, VoiceStatus.Failed, `Consent was not verified: ${consent.reason}`);
    }

    const language = (JSON.parse(v.languages) as string[])[0] === 'zh' ? 'zh' : 'en';
    const made = await this.media.run(`voice-${v.id}`, async (dir) => {
      const sample = path.join(dir, 'sample');
      const probed = await this.media.fetch(v.app_pk, v.audio_url, sample, 'audioUrl', 'audio');
      if (probed.formatName !== 'wav' || !probed.audio) {
        throw new PermanentError(`audioUrl must point to a WAV file; got ${describeFormat(probed.formatName, probed.audio?.codec)}.`);
      }
      // The container's length decides before anything is decoded: a 135 KB "WAV" held an hour at 96 kHz.
      if (probed.durationMs > SAMPLE_MAX_MS + 1000) {
        throw new PermanentError(`The voice sample cannot be used: the sample is ${Math.round(probed.durationMs / 1000)} s long; it must be 3 to 60 s (10 to 30 s recommended).`);
      }
      // Normalize any WAV flavour (float, 24-bit, stereo) to 16-bit mono for analysis. The decode
      // is bounded whatever the header claims: at most just over the longest sample, at 48 kHz.
      const pcm = path.join(dir, 'sample-pcm.wav');
      const rate = probed.audio.sampleRate > 48000 ? ['-ar', '48000'] : [];
      await runFfmpeg(await this.media.tools(), [
        ...tenantInput(sample), '-t', String((SAMPLE_MAX_MS + 1000) / 1000), '-vn', '-ac', '1', ...rate, '-c:a', 'pcm_s16le', pcm,
      ]);
      const analysis = analyzeVoice(decodeWav(await readFile(pcm)));
      const { problems, notes } = checkSample(analysis);
      if (problems.length) throw new PermanentError(`The voice sample cannot be used: ${problems.join(' ')}`);
      const bound = await this.consent.bindToVoice(consentId, analysis.medianPitchHz);
      const sex = (v.sex === Sex.Male || v.sex === Sex.Female ? v.sex : analysis.sexGuess) as 1 | 2;
      const { profile } = await matchProfile(this.engine, analysis, { language, sex });
      const audition = await this.engine.synthesize(DEMO[language], profile);
      const key = newKey('voices', 'wav');
      await this.storage.put(key, audition.wav);
      return { profile, sex, key, notes, consent: bound };
    });

    const now = this.clock.now();
    const reason = [made.consent.state === 'review' ? made.consent.reason : '', ...made.notes].filter(Boolean).join(' ') || null;
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('voices').set({
        profile: JSON.stringify(made.profile), sex: made.sex, audition_key: made.key, expire_at: now + this.opts.lifetimeMs,
      }).where('id', '=', v.id).execute();
      await this.finishIn(tx, v, VoiceStatus.Success, reason);
    });
  }

  async giveUp(job: Job, reason: string): Promise<void> {
    const v = await this.db.selectFrom('voices').selectAll().where('id', '=', job.ref_id).executeTakeFirst();
    if (v) await this.finish(v, VoiceStatus.Failed, reason);
  }

  private async finish(v: Voice, status: number, reason: string | null) {
    await this.db.transaction().execute((tx) => this.finishIn(tx, v, status, reason));
  }

  private async finishIn(tx: Executor, v: Voice, status: number, reason: string | null) {
    await this.lifecycle.settle(tx, 'voice', Number(v.id), {
      status, fields: { reason }, quotaRef: ref(Number(v.id)),
      callbackData: (row) => ({ ...this.view(row), result: status === VoiceStatus.Success ? 'success' : 'fail' }),
    });
  }

  view(v: Voice): VoiceView {
    const expireAt = v.expire_at === null ? null : Number(v.expire_at);
    const expired = v.status === VoiceStatus.Success && expireAt !== null && expireAt <= this.clock.now();
    return {
      speakerId: cloneSpeakerId(Number(v.id)), ttsName: v.name, ttsFeatures: v.features, audioUrl: v.audio_url,
      ttsAudition: v.audition_key ? this.fileUrl(v.audition_key) : '', languages: JSON.parse(v.languages) as string[],
      sex: v.sex, status: expired ? VoiceStatus.Expired : v.status, authorizeStatus: v.authorize_status, reason: v.reason,
      expireTime: expireAt === null ? null : formatDateTime(expireAt),
    };
  }
}

function describeFormat(format: string, codec?: string): string {
  if (/mp3/.test(format) || codec === 'mp3') return 'MP3';
  if (/mov|mp4|m4a/.test(format)) return 'an MP4/M4A file';
  return format.split(',')[0].toUpperCase();
}

/** Parses the platform's "yyyy-MM-dd HH:mm:ss" (server time zone) for list filters. */
function parseDateTime(s: string, field: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(s);
  if (!m) throw invalid(`${field} must be formatted yyyy-MM-dd HH:mm:ss; got "${s}".`);
  const [, y, mo, d, h, mi, se] = m.map(Number);
  const t = new Date(y, mo - 1, d, h, mi, se).getTime();
  if (Number.isNaN(t)) throw invalid(`${field} is not a valid date: "${s}".`);
  return t;
}

