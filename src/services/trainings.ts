import path from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { Clock } from '../clock.js';
import { ApiError, invalid, notFound, PermanentError } from '../domain/errors.js';
import type { TrainingRecord } from '../domain/schemas.js';
import { AuthorizeStatus, TrainingStatus } from '../domain/status.js';
import { tasks } from '../domain/tasks.js';
import { formatDateTime } from '../domain/text.js';
import type { FaceDetector } from '../engines/face/detector.js';
import { facesInFrames } from '../engines/face/human.js';
import { BankRefused, type Coverage } from '../engines/lipsync/bank.js';
import { extractFrames } from '../media/ffmpeg.js';
import { buildSceneAssets } from '../media/scene-assets.js';
import { newKey, type Storage } from '../media/storage.js';
import type { JobQueue } from '../queue/queue.js';
import type { Db, Executor } from '../store/db.js';
import { pageOf, type Page } from '../store/paging.js';
import type { App, Job, Training } from '../store/schema.js';
import type { ConsentService } from './consent.js';
import type { TaskLifecycle } from './lifecycle.js';
import { analyseAndStore, coverageComment, type StoredBank } from './mouth-bank.js';
import type { QuotaService } from './quota.js';
import { checkCallbackUrl, type MediaUrlCheck } from './urls.js';
import type { MediaWorkspace } from './workspace.js';

const finished: readonly number[] = tasks.training.final;

export interface TrainingInput {
  id?: number | null; name: string; videoUrl: string;
  /** Both or neither: the cloud's v2 create sends none, and the consent then waits (see create). */
  authorizeUrl?: string | null; authorizeText?: string | null;
  level: number; compress?: boolean | null; callbackUrl?: string | null;
  /** The person stands in front of a green screen, so video synthesis can key a background in behind them. */
  greenScreen?: boolean | number | null;
}

/** The record as the API sends it: its wire schema's type (domain/schemas.ts TrainingRecord), so the shape is written once. */
export type TrainingView = Static<typeof TrainingRecord>;

/** A training row with its scene's size, when it has a scene. */
type TrainingWithSize = Training & { width?: number | null; height?: number | null };

const ref = (t: { id: number; run: number }) => `training:${t.id}:${t.run}`;

/** Why a training sent without consent (the cloud's v2 create) has authorizeStatus 0, for operators and for the record's comment. */
const NO_CONSENT_REVIEW = 'No consent recording was sent with this training (POST /openapi/video/v2/create/training). Approve it once consent was obtained outside dhp, or wait for the app to send one with POST /openapi/video/v3/authorize.';
const CONSENT_PENDING_REQUIRED = 'Trained without a consent recording: authorizeStatus stays 0 and this avatar cannot be used in videos until consent is verified (send authorizeUrl and authorizeText to POST /openapi/video/v3/authorize with this sceneId) or an operator approves it.';
const CONSENT_PENDING_OPTIONAL = 'Trained without a consent recording: authorizeStatus stays 0 until consent is verified (POST /openapi/video/v3/authorize) or an operator approves it; this server does not require consent (DHP_CONSENT_REQUIRED=false), so the avatar is usable now.';

/** Rapid avatar cloning (section 3): a training video becomes a scene usable as sceneId. */
export interface TrainingDeps {
  db: Db;
  queue: JobQueue;
  quota: QuotaService;
  consent: ConsentService;
  media: MediaWorkspace;
  faces: () => Promise<FaceDetector>;
  storage: Storage;
  lifecycle: TaskLifecycle;
  clock: Clock;
  fileUrl: (key: string) => string;
  opts: { allowPrivateNetwork: boolean; minSeconds: number; maxSeconds: number; mediaUrl: MediaUrlCheck; lipsync: 'embedded' | 'off' };
}

export class TrainingService {
  private readonly db: Db;
  private readonly queue: JobQueue;
  private readonly quota: QuotaService;
  private readonly consent: ConsentService;
  private readonly media: MediaWorkspace;
  private readonly faces: () => Promise<FaceDetector>;
  private readonly storage: Storage;
  private readonly lifecycle: TaskLifecycle;
  private readonly clock: Clock;
  private readonly fileUrl: (key: string) => string;
  private readonly opts: { allowPrivateNetwork: boolean; minSeconds: number; maxSeconds: number; mediaUrl: MediaUrlCheck; lipsync: 'embedded' | 'off' };

  constructor(deps: TrainingDeps) {
    ({ db: this.db, queue: this.queue, quota: this.quota, consent: this.consent, media: this.media, faces: this.faces, storage: this.storage, lifecycle: this.lifecycle, clock: this.clock, fileUrl: this.fileUrl, opts: this.opts } = deps);
  }

  async create(app: App, input: TrainingInput): Promise<{ trainingId: number }> {
    if (input.level !== 1) throw invalid(`level must be 1 (Rapid Avatar Cloning); got ${input.level}.`);
    const title = input.name.trim();
    if (!title) throw invalid('name must not be empty.');
    const videoUrl = await this.opts.mediaUrl(app.id, input.videoUrl, 'videoUrl');
    const consent = await this.consentFields(app, input);
    const callbackUrl = checkCallbackUrl(input.callbackUrl, this.opts.allowPrivateNetwork);
    const greenScreen = input.greenScreen ?? false;
    if (greenScreen !== true && greenScreen !== false && greenScreen !== 0 && greenScreen !== 1) {
      throw invalid(`greenScreen must be true or false (or 1 or 0); got ${JSON.stringify(greenScreen)}.`);
    }
    const now = this.clock.now();
    const fields = {
      title, video_url: videoUrl, authorize_url: consent?.url ?? '', authorize_text: consent?.text ?? '', level: input.level,
      compress: input.compress ? 1 : 0, callback_url: callbackUrl, status: TrainingStatus.Pending, comment: consent ? '' : this.pendingConsentNote(),
      authorize_status: AuthorizeStatus.No, callback_status: 0, green_screen: greenScreen ? 1 : 0, updated_at: now, lipsync: null,
    };
    return this.db.transaction().execute(async (tx) => {
      let training: { id: number; run: number };
      if (input.id !== undefined && input.id !== null) {
        const existing = await tx.selectFrom('trainings').select(['id', 'run', 'status']).where('id', '=', input.id).where('app_pk', '=', app.id).executeTakeFirst();
        if (!existing) throw notFound(`Training ${input.id}`);
        if (!finished.includes(existing.status)) {
          throw new ApiError('TRAINING_STILL_RUNNING', `Training ${input.id} is still running; wait for it to finish before submitting it again.`);
        }
        training = { id: Number(existing.id), run: existing.run + 1 };
        await tx.updateTable('trainings').set({ ...fields, run: training.run }).where('id', '=', training.id).execute();
      } else {
        const row = await tx.insertInto('trainings').values({ ...fields, app_pk: app.id, run: 1, scene_id: null, cover_key: null, created_at: now })
          .returning('id').executeTakeFirstOrThrow();
        training = { id: Number(row.id), run: 1 };
      }
      if (!consent) await this.consent.records.awaitReview(tx, app.id, 'training', training.id, NO_CONSENT_REVIEW);
      await this.quota.reserve(tx, app.id, 'fast_training', 1, ref(training));
      await this.queue.enqueue(tx, 'training.run', training.id, { appPk: app.id });
      return { trainingId: training.id };
    });
  }

  private pendingConsentNote(): string {
    return this.consent.required ? CONSENT_PENDING_REQUIRED : CONSENT_PENDING_OPTIONAL;
  }

  /** The consent recording and sentence, or null when the caller sent neither (the cloud's v2 create). */
  private async consentFields(app: App, input: TrainingInput): Promise<{ url: string; text: string } | null> {
    const url = input.authorizeUrl?.trim() ?? '';
    const text = input.authorizeText?.trim() ?? '';
    if (!url && !text) return null;
    if (!text) throw invalid('authorizeText must contain the consent sentence the person speaks in authorizeUrl.');
    if (!url) throw invalid('authorizeUrl is required with authorizeText: a video or audio of the person speaking it.');
    return { url: await this.opts.mediaUrl(app.id, url, 'authorizeUrl'), text };
  }

  async get(app: App, id: number): Promise<TrainingView> {
    const row = await this.withSize().where('trainings.id', '=', id).where('trainings.app_pk', '=', app.id).executeTakeFirst();
    if (!row) throw notFound(`Training ${id}`);
    return this.view(row);
  }

  async list(app: App, page: number, size: number): Promise<Page<TrainingView>> {
    return pageOf(page, size,
      () => this.db.selectFrom('trainings').where('app_pk', '=', app.id).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      (limit, offset) => this.withSize().where('trainings.app_pk', '=', app.id).orderBy('trainings.id', 'desc').limit(limit).offset(offset).execute(),
      (r) => this.view(r));
  }

  private withSize() {
    return this.db.selectFrom('trainings').leftJoin('scenes', 'scenes.id', 'trainings.scene_id')
      .selectAll('trainings').select(['scenes.width', 'scenes.height']);
  }

  /** The job: consent, download, validate, face check, build the scene's assets. */
  async run(job: Job): Promise<void> {
    const t = await this.db.selectFrom('trainings').selectAll().where('id', '=', job.ref_id).executeTakeFirst();
    if (!t || finished.includes(t.status)) return;
    await this.setStatus(t.id, TrainingStatus.Training, t.authorize_url ? '' : this.pendingConsentNote());

    // Consent first: it is cheaper than training, and a refusal ends the job. Without a
    // recording (the v2 create) there is nothing to check: the consent waits (see create).
    let note = this.pendingConsentNote();
    if (t.authorize_url) {
      const consentId = await this.consent.forJob(job, t.app_pk, 'training', t.id, t.authorize_url, t.authorize_text);
      const consent = await this.consent.verify(consentId);
      if (consent.state === 'refused' && this.consent.required) {
        return this.finish(t, TrainingStatus.Rejected, `Consent was not verified: ${consent.reason}`);
      }
      note = consent.state === 'review' ? consent.reason : '';
    }

    const scene = await this.media.run(`training-${t.id}`, async (dir) => {
      const tools = await this.media.tools();
      const video = path.join(dir, 'training-video');
      const probed = await this.media.fetch(t.app_pk, t.video_url, video, 'videoUrl', 'video');
      this.validate(probed);
      const frames = await extractFrames(tools, video, { count: 8, width: 640 });
      const seen = await facesInFrames(await this.faces(), frames);
      if (seen.framesWithFace < Math.ceil(seen.total / 2)) {
        throw new PermanentError(`No face was found in ${seen.total - seen.framesWithFace} of ${seen.total} sampled frames; the training video must show one person's face, facing the camera, throughout.`);
      }
      const assets = await buildSceneAssets(tools, video, path.join(dir, 'assets'), { compress: t.compress === 1 });
      // The mouth bank is made once here rather than on every video; turned off, nothing is analysed.
      let bank: StoredBank | null = null;
      if (this.opts.lipsync === 'embedded') {
        bank = await analyseAndStore(tools, await this.faces(), this.storage, path.join(dir, 'assets'), assets).catch((err) => {
          throw err instanceof BankRefused ? new PermanentError(err.message) : err;
        });
      }
      const keys = { forward: newKey('scenes', 'mp4'), reverse: newKey('scenes', 'mp4'), cover: newKey('scenes', 'jpg') };
      await this.storage.putFile(keys.forward, assets.forward);
      await this.storage.putFile(keys.reverse, assets.reverse);
      await this.storage.putFile(keys.cover, assets.cover);
      return { assets, keys, bank };
    });

    note = [note, scene.bank ? coverageComment(scene.bank.coverage, scene.assets.fps) : ''].filter(Boolean).join(' ');
    await this.db.transaction().execute(async (tx) => {
      const row = await tx.insertInto('scenes').values({
        app_pk: t.app_pk, training_id: t.id, name: t.title, width: scene.assets.width, height: scene.assets.height, fps: scene.assets.fps,
        duration_ms: Math.round(scene.assets.durationMs), frames: scene.assets.frames,
        forward_key: scene.keys.forward, reverse_key: scene.keys.reverse, cover_key: scene.keys.cover, created_at: this.clock.now(),
        lipsync_key: scene.bank?.indexKey ?? null, lipsync_video_key: scene.bank?.videoKey ?? null,
      }).returning('id').executeTakeFirstOrThrow();
      await tx.updateTable('trainings').set({
        scene_id: Number(row.id), cover_key: scene.keys.cover, lipsync: scene.bank ? JSON.stringify(scene.bank.coverage) : null,
      }).where('id', '=', t.id).execute();
      await this.finishIn(tx, t, TrainingStatus.Success, note);
    });
  }

  async giveUp(job: Job, reason: string): Promise<void> {
    const t = await this.db.selectFrom('trainings').selectAll().where('id', '=', job.ref_id).executeTakeFirst();
    if (t && !finished.includes(t.status)) await this.finish(t, TrainingStatus.Failed, reason);
  }

  private validate(p: { video: { width: number; height: number } | null; durationMs: number }) {
    if (!p.video) throw new PermanentError('videoUrl has no video stream; upload a video of the person (MP4 or MOV).');
    const s = p.durationMs / 1000;
    if (s < this.opts.minSeconds || s > this.opts.maxSeconds) {
      throw new PermanentError(`The training video is ${s.toFixed(1)} s long; it must be ${this.opts.minSeconds} s to ${this.opts.maxSeconds / 60} min.`);
    }
    const { width, height } = p.video;
    if (Math.min(width, height) < 240 || Math.max(width, height) > 4096) {
      throw new PermanentError(`The training video is ${width}x${height}; it must be at least 240 pixels on its short side and at most 4096 on its long side.`);
    }
  }

  private async setStatus(id: number, status: number, comment: string) {
    await this.db.updateTable('trainings').set({ status, comment, updated_at: this.clock.now() }).where('id', '=', id).execute();
  }

  private async finish(t: Training, status: number, comment: string) {
    await this.db.transaction().execute((tx) => this.finishIn(tx, t, status, comment));
  }

  private async finishIn(tx: Executor, t: Training, status: number, comment: string) {
    await this.lifecycle.settle(tx, 'training', Number(t.id), {
      status, fields: { comment }, quotaRef: ref({ id: Number(t.id), run: t.run }),
      callbackData: (row) => {
        const v = this.view(row);
        return {
          id: v.id, result: status === TrainingStatus.Success ? 'success' : 'fail', reason: v.comment, title: v.title,
          sceneId: v.sceneId, coverUrl: v.coverUrl, authorizeStatus: v.authorizeStatus, status: v.status,
          createTime: Number(row.created_at), updateTime: Number(row.updated_at),
        };
      },
    });
  }

  private view(r: TrainingWithSize): TrainingView {
    return {
      id: Number(r.id), title: r.title, videoUrl: r.video_url, status: r.status, callbackStatus: r.callback_status, comment: r.comment,
      sceneId: r.scene_id === null ? null : Number(r.scene_id), coverUrl: r.cover_key ? this.fileUrl(r.cover_key) : null,
      authorizeStatus: r.authorize_status, createTime: formatDateTime(Number(r.created_at)), updateTime: formatDateTime(Number(r.updated_at)),
      resolution: r.width && r.height ? `${r.width}x${r.height}` : null,
      lipsync: coverageView(r.lipsync),
    };
  }
}

function coverageView(json: string | null): TrainingView['lipsync'] {
  if (!json) return null;
  const c = JSON.parse(json) as Coverage;
  return { frames: c.frames, usableFrames: c.usableFrames, coverage: c.coverage };
}
