import type { Static } from '@sinclair/typebox';
import type { Clock } from '../clock.js';
import { invalid, notFound, PermanentError } from '../domain/errors.js';
import type { TtsRecord } from '../domain/schemas.js';
import { CallbackStatus, TtsStatus } from '../domain/status.js';
import { countChars, formatDateTime } from '../domain/text.js';
import { TtsInputError, type TtsEngine } from '../engines/tts/engine.js';
import { buildCues, formatSrt } from '../media/srt.js';
import { newKey, type Storage } from '../media/storage.js';
import type { JobQueue } from '../queue/queue.js';
import type { Db } from '../store/db.js';
import { pageOf, type Page } from '../store/paging.js';
import type { App, Job, TtsSynthesis } from '../store/schema.js';
import type { CatalogService } from './catalog.js';
import type { TaskLifecycle } from './lifecycle.js';
import type { QuotaService } from './quota.js';
import { SettledViews } from './settled-views.js';
import { checkCallbackUrl } from './urls.js';
import type { VoiceService } from './voices.js';

/** The record as the API sends it: its wire schema's type (domain/schemas.ts TtsRecord), so the shape is written once. */
export type TtsView = Static<typeof TtsRecord>;

const ref = (id: number) => `tts:${id}`;

/** Audio synthesis (section 6): accept, synthesize to WAV + SRT, charge, call back. */
export interface TtsDeps {
  db: Db;
  queue: JobQueue;
  quota: QuotaService;
  catalog: CatalogService;
  voices: VoiceService;
  engine: TtsEngine;
  storage: Storage;
  lifecycle: TaskLifecycle;
  clock: Clock;
  fileUrl: (key: string) => string;
  opts: { maxChars: number; allowPrivateNetwork: boolean };
}

export class TtsService {
  private readonly db: Db;
  private readonly queue: JobQueue;
  private readonly quota: QuotaService;
  private readonly catalog: CatalogService;
  private readonly voices: VoiceService;
  private readonly engine: TtsEngine;
  private readonly storage: Storage;
  private readonly lifecycle: TaskLifecycle;
  private readonly clock: Clock;
  private readonly fileUrl: (key: string) => string;
  private readonly opts: { maxChars: number; allowPrivateNetwork: boolean };

  constructor(deps: TtsDeps) {
    ({ db: this.db, queue: this.queue, quota: this.quota, catalog: this.catalog, voices: this.voices, engine: this.engine, storage: this.storage, lifecycle: this.lifecycle, clock: this.clock, fileUrl: this.fileUrl, opts: this.opts } = deps);
  }

  /** Finished records whose callback is settled never change again. */
  private readonly settled = new SettledViews<TtsView>();

  async create(app: App, body: { speakerId: string; content: string; callbackUrl?: string | null }): Promise<{ id: number; status: number }> {
    const content = body.content.trim();
    if (content === '') throw invalid('content must contain text to speak; it is empty.');
    const chars = countChars(content);
    if (chars > this.opts.maxChars) throw invalid(`content is ${chars} characters long; the limit is ${this.opts.maxChars}. Split it into several requests.`);
    // A public voice, or one of the caller's clones that is ready and consented.
    if (!this.catalog.publicVoice(body.speakerId)) await this.voices.usableProfile(app, body.speakerId);
    const callbackUrl = checkCallbackUrl(body.callbackUrl, this.opts.allowPrivateNetwork);
    const now = this.clock.now();
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.insertInto('tts_syntheses').values({
        app_pk: app.id, speaker_id: body.speakerId, content, char_count: chars, callback_url: callbackUrl,
        status: TtsStatus.Preparing, duration_ms: null, audio_key: null, srt_key: null, reason: null,
        callback_status: 0, created_at: now, updated_at: now,
      }).returning('id').executeTakeFirstOrThrow();
      const id = Number(row.id);
      await this.quota.reserve(tx, app.id, 'tts_words', chars, ref(id));
      await this.queue.enqueue(tx, 'tts.synthesize', id, { appPk: app.id });
      return { id, status: TtsStatus.Preparing };
    });
  }

  async get(app: App, id: number): Promise<TtsView> {
    const settled = this.settled.get(app.id, id);
    if (settled) return settled;
    const row = await this.db.selectFrom('tts_syntheses').selectAll().where('id', '=', id).where('app_pk', '=', app.id).executeTakeFirst();
    if (!row) throw notFound(`Audio synthesis ${id}`);
    const ended = row.status === TtsStatus.Success || row.status === TtsStatus.Failed;
    const callbackSettled = row.callback_url === null || row.callback_status !== CallbackStatus.Initial;
    return ended && callbackSettled ? this.settled.remember(app.id, id, this.view(row)) : this.view(row);
  }

  async list(app: App, page: number, size: number): Promise<Page<TtsView>> {
    const base = this.db.selectFrom('tts_syntheses').where('app_pk', '=', app.id);
    return pageOf(page, size,
      () => base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      (limit, offset) => base.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute(),
      (r) => this.view(r));
  }

  /** The job: synthesize, store, then in one transaction mark success, charge and schedule the callback. */
  async run(job: Job): Promise<void> {
    const row = await this.db.selectFrom('tts_syntheses').selectAll().where('id', '=', job.ref_id).executeTakeFirst();
    if (!row || row.status === TtsStatus.Success || row.status === TtsStatus.Failed) return;
    // Guarded: a late second run of the job (an expired lease) must not reopen a finished record.
    const started = await this.db.updateTable('tts_syntheses').set({ status: TtsStatus.Processing, updated_at: this.clock.now() })
      .where('id', '=', row.id).where('status', 'not in', [TtsStatus.Success, TtsStatus.Failed]).executeTakeFirst();
    if (Number(started.numUpdatedRows) === 0) return;

    const profile = this.catalog.publicVoice(row.speaker_id)?.profile ?? await this.voices.profileFor(row.app_pk, row.speaker_id);
    if (!profile) throw new PermanentError(`The voice "${row.speaker_id}" is no longer available.`);
    let result;
    try {
      result = await this.engine.synthesize(row.content, profile);
    } catch (err) {
      if (err instanceof TtsInputError) throw new PermanentError(err.message);
      throw err;
    }
    const cues = buildCues(row.content, result.words, { durationMs: result.durationMs });
    const audioKey = newKey('tts', 'wav');
    const srtKey = newKey('tts', 'srt');
    await this.storage.put(audioKey, result.wav);
    await this.storage.put(srtKey, Buffer.from(formatSrt(cues), 'utf8'));

    await this.db.transaction().execute((tx) => this.lifecycle.settle(tx, 'tts', Number(row.id), {
      status: TtsStatus.Success, quotaRef: ref(Number(row.id)), callbackData: (r) => this.callbackData(r),
      fields: { duration_ms: Math.round(result.durationMs), audio_key: audioKey, srt_key: srtKey, reason: null },
    }));
  }

  /** The job failed for good: mark it, refund the reservation, tell the caller. */
  async giveUp(job: Job, reason: string): Promise<void> {
    await this.db.transaction().execute((tx) => this.lifecycle.settle(tx, 'tts', job.ref_id, {
      status: TtsStatus.Failed, fields: { reason }, quotaRef: ref(job.ref_id), callbackData: (r) => this.callbackData(r),
    }));
  }

  /** The spec's fields (id, status, duration, ttsUrl), plus srtUrl and reason as additions. */
  private callbackData(row: TtsSynthesis) {
    const v = this.view(row);
    return { id: v.id, status: v.status, duration: v.duration ?? 0, ttsUrl: v.ttsUrl ?? '', srtUrl: v.srtUrl, reason: v.reason };
  }

  private view(r: TtsSynthesis): TtsView {
    return {
      id: Number(r.id),
      status: r.status,
      duration: r.duration_ms === null ? null : Number(r.duration_ms),
      ttsUrl: r.audio_key ? this.fileUrl(r.audio_key) : null,
      srtUrl: r.srt_key ? this.fileUrl(r.srt_key) : null,
      speakerId: r.speaker_id,
      reason: r.reason,
      callbackStatus: r.callback_status,
      createTime: formatDateTime(Number(r.created_at)),
      updateTime: formatDateTime(Number(r.updated_at)),
    };
  }
}
