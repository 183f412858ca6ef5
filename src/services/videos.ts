import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { Clock } from '../clock.js';
import { ApiError, invalid, notFound, PermanentError } from '../domain/errors.js';
import type { VideoRecord } from '../domain/schemas.js';
import { SynthesisStatus } from '../domain/status.js';
import { tasks } from '../domain/tasks.js';
import { formatDateTime } from '../domain/text.js';
import { changesOutput, outputSpec, type OutputRequest, type OutputSpec } from '../domain/video-output.js';
import { findCharacter } from '../engines/avatar2d/characters.js';
import type { CharacterDef } from '../engines/avatar2d/frame.js';
import { DEFAULT_HEIGHT, DEFAULT_WIDTH } from '../engines/avatar2d/render.js';
import type { FaceDetector } from '../engines/face/detector.js';
import { type LipsyncEngine, LipsyncError } from '../engines/lipsync/engine.js';
import { TtsInputError, type PhonemeTiming, type TtsEngine } from '../engines/tts/engine.js';
import type { LoopDirection } from '../media/compose.js';
import { runFfmpeg } from '../media/ffmpeg.js';
import { tenantInput } from '../media/input.js';
import { probe } from '../media/probe.js';
import { buildCues, formatSrt } from '../media/srt.js';
import { newKey, type Storage } from '../media/storage.js';
import type { JobQueue } from '../queue/queue.js';
import type { Db, Executor } from '../store/db.js';
import { pageOf, type Page } from '../store/paging.js';
import type { App, Job, Scene, Video } from '../store/schema.js';
import type { CatalogService } from './catalog.js';
import type { ConsentService } from './consent.js';
import type { TaskLifecycle } from './lifecycle.js';
import type { QuotaService } from './quota.js';
import { SettledViews } from './settled-views.js';
import { checkCallbackUrl, type MediaUrlCheck } from './urls.js';
import { assertProducible, formatOf, inFormat } from './video-output.js';
import {
  BuiltinRenderer, mouthBank, TrainedRenderer, UnusableInput, unusable, type Picture, type PictureRenderer, type Speech, type TrainedRendererDeps,
} from './video-pictures.js';
import type { VoiceService } from './voices.js';
import type { MediaWorkspace } from './workspace.js';

const active: readonly number[] = tasks.video.active;
const final: readonly number[] = tasks.video.final;

export interface VideoInput {
  videoName?: string | null; sceneId: string | number; audioUrl?: string | null; text?: string | null;
  speakerId?: string | null; pn?: number | null; callbackUrl?: string | null;
}

/** The record as the API sends it: its wire schema's type (domain/schemas.ts VideoRecord), so the shape is written once. */
export type VideoView = Static<typeof VideoRecord>;

/** The caller canceled while the job ran: stop quietly, the cancel already settled everything. */
class Canceled extends Error {}

/** A scene a video can use, and the renderer that makes its picture. */
type ResolvedScene = ({ kind: 'builtin'; character: CharacterDef } | { kind: 'trained'; scene: Scene; authorizeStatus: number; greenScreen: boolean })
  & { renderer: PictureRenderer };

const ref = (id: number) => `video:${id}`;
/** Held beyond the speech while the picture is made: a video ends on a whole frame, up to one frame after its sound. */
const CHARGE_HEADROOM_MS = 1000;

/**
 * Video synthesis (section 5): an avatar (built-in 2D character or trained
 * scene) speaking given audio, or text in a voice. Built-in characters move
 * their lips from the speech. Trained scenes loop their clip (compose.ts) and
 * then speak: through the configured lip-sync service (DHP_LIPSYNC_URL), else
 * with mouths from their own training video (the embedded lip-sync), unless
 * DHP_LIPSYNC=off keeps the plain loop.
 */
export interface VideoDeps {
  db: Db;
  queue: JobQueue;
  quota: QuotaService;
  catalog: CatalogService;
  voices: VoiceService;
  consent: ConsentService;
  engine: TtsEngine;
  media: MediaWorkspace;
  storage: Storage;
  lifecycle: TaskLifecycle;
  clock: Clock;
  fileUrl: (key: string) => string;
  lipsync: LipsyncEngine | null;
  opts: {
    allowPrivateNetwork: boolean; maxChars: number; maxAudioSeconds: number; mediaUrl: MediaUrlCheck;
    /** Lip-sync trained scenes from their mouth bank when no lip-sync service is configured. */
    embeddedLipsync?: boolean; faces?: () => Promise<FaceDetector>;
  };
}

export class VideoService {
  private readonly db: Db;
  private readonly queue: JobQueue;
  private readonly quota: QuotaService;
  private readonly catalog: CatalogService;
  private readonly voices: VoiceService;
  private readonly consent: ConsentService;
  private readonly engine: TtsEngine;
  private readonly media: MediaWorkspace;
  private readonly storage: Storage;
  private readonly lifecycle: TaskLifecycle;
  private readonly clock: Clock;
  private readonly fileUrl: (key: string) => string;
  private readonly lipsync: LipsyncEngine | null;
  private readonly opts: VideoDeps['opts'];
  /** What the trained scenes' renderers and the mouth banks need. */
  private readonly pictureDeps: TrainedRendererDeps;

  constructor(deps: VideoDeps) {
    ({ db: this.db, queue: this.queue, quota: this.quota, catalog: this.catalog, voices: this.voices, consent: this.consent, engine: this.engine, media: this.media, storage: this.storage, lifecycle: this.lifecycle, clock: this.clock, fileUrl: this.fileUrl, lipsync: this.lipsync, opts: this.opts } = deps);
    this.pictureDeps = {
      db: this.db, storage: this.storage, media: this.media, lipsync: this.lipsync,
      faces: this.opts.embeddedLipsync && this.opts.faces ? this.opts.faces : null,
    };
  }

  /** Ended videos never change again. */
  private readonly settled = new SettledViews<VideoView>();

  /** `output`: the output fields of the cloud's full create (POST /openapi/video/v2/create), each honoured or refused. */
  async create(app: App, input: VideoInput, output?: OutputRequest): Promise<{ videoId: number }> {
    const sceneId = parseSceneId(input.sceneId);
    const scene = await this.resolveScene(app.id, sceneId);
    if (scene.kind === 'trained') this.consent.assertUsable(`sceneId ${sceneId}`, scene.authorizeStatus);
    const spec = output ? outputSpec(output, scene.kind === 'builtin'
      ? { kind: 'builtin', width: DEFAULT_WIDTH, height: DEFAULT_HEIGHT }
      : { kind: 'trained', sceneId, width: scene.scene.width, height: scene.scene.height, greenScreen: scene.greenScreen }) : null;
    if (spec?.backgroundUrl) spec.backgroundUrl = await this.opts.mediaUrl(app.id, spec.backgroundUrl, 'backgroundUrl');
    await assertProducible(this.media, spec);
    const pn = input.pn ?? 1;
    if (pn !== 0 && pn !== 1) throw invalid(`pn must be 0 (forward) or 1 (reverse, ping-pong); got ${pn}.`);
    const audioUrl = input.audioUrl?.trim() ? await this.opts.mediaUrl(app.id, input.audioUrl, 'audioUrl') : null;
    let text: string | null = null;
    let speakerId: string | null = null;
    if (!audioUrl) {
      text = input.text?.trim() ?? '';
      if (!text) throw invalid('text must contain the words to speak when audioUrl is empty; give audioUrl, or text with speakerId.');
      if ([...text].length > this.opts.maxChars) throw invalid(`text is ${[...text].length} characters long; the limit is ${this.opts.maxChars}.`);
      speakerId = input.speakerId?.trim() || null;
      if (!speakerId) throw invalid('speakerId is required when text is used; list voices with POST /openapi/speaker/v2/fastPublicPageList.');
      if (!this.catalog.publicVoice(speakerId)) await this.voices.usableProfile(app, speakerId);
    }
    const callbackUrl = checkCallbackUrl(input.callbackUrl, this.opts.allowPrivateNetwork);
    if (await this.quota.remaining(app.id, 'fast_duration') <= 0) {
      throw new ApiError('QUOTA_EXCEEDED', 'No video synthesis duration (fastDuration) remains; ask the operator to raise the quota.');
    }
    const now = this.clock.now();
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.insertInto('videos').values({
        app_pk: app.id, video_name: input.videoName?.trim() || null, scene_id: sceneId, audio_url: audioUrl, text, speaker_id: speakerId, pn,
        callback_url: callbackUrl, status: SynthesisStatus.Queued, fail_reason: null, video_key: null, srt_key: null, cover_key: null,
        duration_ms: null, callback_status: 0, created_at: now, updated_at: now,
        output: spec && changesOutput(spec) ? JSON.stringify(spec) : null,
      }).returning('id').executeTakeFirstOrThrow();
      await this.queue.enqueue(tx, 'video.synthesize', Number(row.id), { appPk: app.id });
      return { videoId: Number(row.id) };
    });
  }

  async get(app: App, id: number): Promise<VideoView> {
    const settled = this.settled.get(app.id, id);
    if (settled) return settled;
    const v = await this.own(app, id);
    // The view has no callback state, so an ended video never changes again.
    return final.includes(v.status) ? this.settled.remember(app.id, id, this.view(v)) : this.view(v);
  }

  async list(app: App, page: number, size: number): Promise<Page<VideoView>> {
    const base = this.db.selectFrom('videos').where('app_pk', '=', app.id);
    return pageOf(page, size,
      () => base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      (limit, offset) => base.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute(),
      (r) => this.view(r));
  }

  /** dhp extension: cancel a queued or processing synthesis (status 6); its reservation is refunded. */
  async cancel(app: App, id: number): Promise<VideoView> {
    const v = await this.own(app, id);
    if (!active.includes(v.status)) {
      throw new ApiError('VIDEO_ALREADY_ENDED', `Video ${id} has already ended (synthesisStatus ${v.status}); only queued or processing videos can be canceled.`);
    }
    await this.finish(v, SynthesisStatus.Canceled, 'Canceled by the caller.');
    return this.get(app, id);
  }

  /** The job. Input problems end it with status 7; synthesis problems with 4 (after retries). */
  async run(job: Job): Promise<void> {
    const v = await this.db.selectFrom('videos').selectAll().where('id', '=', job.ref_id).executeTakeFirst();
    if (!v || !active.includes(v.status)) return;
    await this.db.updateTable('videos').set({ status: SynthesisStatus.Processing, updated_at: this.clock.now() })
      .where('id', '=', v.id).where('status', 'in', active).execute();
    const abort = new AbortController();
    const watch = setInterval(() => {
      this.db.selectFrom('videos').select('status').where('id', '=', v.id).executeTakeFirst()
        .then((r) => { if (r?.status === SynthesisStatus.Canceled) abort.abort(); }, () => undefined);
    }, 500);
    try {
      const made = await this.media.run(`video-${v.id}`, (dir) => this.produce(v, dir, abort.signal, this.progressOf(Number(v.id))));
      if (!made) return;
      await this.db.transaction().execute(async (tx) => {
        await this.finishIn(tx, v, SynthesisStatus.Success, null, made);
      });
    } catch (err) {
      if (abort.signal.aborted || err instanceof Canceled) return;
      if (err instanceof UnusableInput) return this.finish(v, SynthesisStatus.TaskFailed, err.message);
      if (err instanceof LipsyncError) throw err.permanent ? new PermanentError(err.message) : err;
      throw err;
    } finally {
      clearInterval(watch);
    }
  }

  async giveUp(job: Job, reason: string): Promise<void> {
    const v = await this.db.selectFrom('videos').selectAll().where('id', '=', job.ref_id).executeTakeFirst();
    if (v) await this.finish(v, SynthesisStatus.Failed, reason);
  }

  /**
   * Records how far a synthesis is (0..100, a dhp addition to the record), at most every 500 ms
   * unless a stage ends (forced), and only while the video is still processing.
   */
  private progressOf(id: number): (percent: number, force?: boolean) => void {
    let written = 0;
    let at = 0;
    return (percent, force = false) => {
      const p = Math.min(99, Math.max(0, Math.round(percent)));
      if (p <= written || (!force && this.clock.now() - at < 500)) return;
      written = p;
      at = this.clock.now();
      // Never backwards, also when a retried job starts over.
      this.db.updateTable('videos').set({ progress: p }).where('id', '=', id).where('status', '=', SynthesisStatus.Processing)
        .where('progress', '<', p).execute().catch(() => undefined);
    };
  }

  /** Speech, reserve, render, store: the file keys and the length of the finished video, or null when canceled. */
  private async produce(v: Video, dir: string, signal: AbortSignal, progress: (percent: number, force?: boolean) => void) {
    const scene = await this.resolveScene(v.app_pk, Number(v.scene_id)).catch((err: Error) => { throw new UnusableInput(err.message); });
    const { speech, srt } = await this.speech(v, dir, signal);
    progress(10, true);
    await this.reserve(v, speech.durationMs);
    const spec: OutputSpec | null = v.output ? JSON.parse(v.output) : null;
    const picture = await scene.renderer.render({
      appPk: v.app_pk, speech, pn: v.pn as LoopDirection, spec, dir, signal, progress: (done, force) => progress(10 + 85 * done, force),
    });
    const video = await inFormat(this.media, spec, picture.video, dir, signal);
    if (signal.aborted) return null;
    return this.store(v, { video, cover: picture.cover }, srt);
  }

  /** 1. The speech: the downloaded audioUrl, or the text spoken in its voice (with subtitles). */
  private async speech(v: Video, dir: string, signal: AbortSignal): Promise<{ speech: Speech; srt: string | null }> {
    const tools = await this.media.tools();
    const wav = path.join(dir, 'speech.wav');
    let phonemes: PhonemeTiming[] | undefined;
    let srt: string | null = null;
    if (v.audio_url) {
      const source = path.join(dir, 'audio-source');
      const probed = await this.media.fetch(v.app_pk, v.audio_url, source, 'audioUrl', 'audio').catch(unusable);
      if (!probed.audio) throw new UnusableInput('audioUrl has no sound track; give a WAV or MP3 of the speech.');
      const limitMs = await this.audioLimitMs(v.app_pk, probed.durationMs);
      // Bounded whatever the header claims: a 22 KB FLAC of 10 h silence wrote 3 GB here.
      await runFfmpeg(tools, [
        ...tenantInput(source), '-t', String(limitMs / 1000 + 1), '-vn', '-ac', '1', '-ar', '44100', '-c:a', 'pcm_s16le', wav,
      ], { signal });
    } else {
      const profile = this.catalog.publicVoice(v.speaker_id!)?.profile ?? await this.voices.profileFor(v.app_pk, v.speaker_id!);
      if (!profile) throw new UnusableInput(`The voice "${v.speaker_id}" is no longer available.`);
      const spoken = await this.engine.synthesize(v.text!, profile).catch((err) => {
        throw err instanceof TtsInputError ? new UnusableInput(`text: ${err.message}`) : err;
      });
      await writeFile(wav, spoken.wav);
      phonemes = spoken.phonemes;
      srt = formatSrt(buildCues(v.text!, spoken.words, { durationMs: spoken.durationMs }));
    }
    const durationMs = Math.round((await probe(tools, wav)).durationMs);
    if (durationMs <= 0) throw new UnusableInput('The speech is empty.');
    return { speech: { wav, durationMs, phonemes }, srt };
  }

  /**
   * 2. Reserves the real duration now that it is known. A re-run after a kill sets the hold to
   * this run's speech (TTS length varies a little between runs); the headroom covers the
   * picture's last frame, since the charge is the finished video's own durationMs.
   */
  private async reserve(v: Video, durationMs: number): Promise<void> {
    try {
      // Checked in the same transaction as the reservation, so a cancel either comes
      // before it (and nothing is reserved) or after it (and refunds it).
      await this.db.transaction().execute(async (tx) => {
        const now = await tx.selectFrom('videos').select('status').where('id', '=', v.id).executeTakeFirst();
        if (!now || !active.includes(now.status)) throw new Canceled();
        await this.quota.reserve(tx, v.app_pk, 'fast_duration', durationMs, ref(Number(v.id)), CHARGE_HEADROOM_MS);
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'QUOTA_EXCEEDED') throw new UnusableInput(err.message);
      throw err;
    }
  }

  /** 4. Stores the video, its cover and subtitles; the finished video's own length is what is charged. */
  private async store(v: Video, picture: Picture, srt: string | null) {
    const out = await probe(await this.media.tools(), picture.video);
    const keys = { video: newKey('videos', formatOf(v.output)), cover: newKey('videos', 'jpg'), srt: srt ? newKey('videos', 'srt') : null };
    await this.storage.putFile(keys.video, picture.video);
    await this.storage.putFile(keys.cover, picture.cover);
    if (keys.srt && srt) await this.storage.put(keys.srt, Buffer.from(srt, 'utf8'));
    return { keys, durationMs: Math.round(out.durationMs) };
  }

  /**
   * The most audio an audioUrl may bring: the operator's limit and the app's remaining duration
   * quota. Checked on the probed length, before anything is decoded.
   */
  private async audioLimitMs(appPk: number, probedMs: number): Promise<number> {
    const maxMs = this.opts.maxAudioSeconds * 1000;
    const seconds = (ms: number) => Number((ms / 1000).toFixed(1));
    if (probedMs > maxMs) throw new UnusableInput(`audioUrl is ${seconds(probedMs)} s long; a video can be at most ${seconds(maxMs)} s long.`);
    const remainingMs = await this.quota.remaining(appPk, 'fast_duration');
    if (probedMs > remainingMs) {
      throw new UnusableInput(`audioUrl is ${seconds(probedMs)} s long, more than the ${seconds(Math.max(0, remainingMs))} s of video synthesis duration (fastDuration) that remain; ask the operator to raise the quota.`);
    }
    return Math.min(maxMs, remainingMs);
  }

  /** The scene's mouth bank (analysed now when it has none): for the operator's `dhp lipsync analyse`. */
  mouthBank(scene: Scene, forward: string, dir: string) {
    return mouthBank(this.pictureDeps, scene, forward, dir);
  }


  async resolveScene(appPk: number, sceneId: number): Promise<ResolvedScene> {
    const character = sceneId < 0 ? findCharacter(sceneId) : undefined;
    if (character) return { kind: 'builtin', character, renderer: new BuiltinRenderer(character, this.media) };
    const scene = sceneId > 0
      ? await this.db.selectFrom('scenes').innerJoin('trainings', 'trainings.id', 'scenes.training_id').selectAll('scenes')
        .select(['trainings.authorize_status', 'trainings.green_screen']).where('scenes.id', '=', sceneId).where('scenes.app_pk', '=', appPk).executeTakeFirst()
      : undefined;
    if (!scene) {
      throw invalid(`sceneId ${sceneId} is not an avatar you can use; list public avatars with POST /openapi/robot/v2/fastPublicPageList, or use the sceneId of one of your trainings.`);
    }
    const { authorize_status, green_screen, ...rest } = scene;
    return { kind: 'trained', scene: rest, authorizeStatus: authorize_status, greenScreen: green_screen === 1, renderer: new TrainedRenderer(rest, this.pictureDeps) };
  }

  private async own(app: App, id: number): Promise<Video> {
    const v = await this.db.selectFrom('videos').selectAll().where('id', '=', id).where('app_pk', '=', app.id).executeTakeFirst();
    if (!v) throw notFound(`Video ${id}`);
    return v;
  }

  private async finish(v: Video, status: number, reason: string | null) {
    await this.db.transaction().execute((tx) => this.finishIn(tx, v, status, reason, null));
  }

  private async finishIn(tx: Executor, v: Video, status: number, reason: string | null,
    made: { keys: { video: string; cover: string; srt: string | null }; durationMs: number } | null) {
    await this.lifecycle.settle(tx, 'video', Number(v.id), {
      status, quotaRef: ref(Number(v.id)), chargeAmount: made?.durationMs,
      fields: { fail_reason: reason, ...(made ? { video_key: made.keys.video, cover_key: made.keys.cover, srt_key: made.keys.srt, duration_ms: made.durationMs } : {}) },
      callbackData: (row) => {
        const view = this.view(row);
        return {
          id: view.id, videoName: view.videoName, result: status === SynthesisStatus.Success ? 'success' : 'fail', failReason: view.failReason,
          videoUrl: view.videoUrl, duration: view.duration, coverUrl: view.coverUrl, srtUrl: view.srtUrl,
          createTime: Number(row.created_at), updateTime: Number(row.updated_at), synthesisStatus: view.synthesisStatus,
        };
      },
    });
  }

  private view(v: Video): VideoView {
    const ms = v.duration_ms === null ? null : Number(v.duration_ms);
    return {
      id: Number(v.id), videoName: v.video_name, videoFormat: formatOf(v.output), synthesisStatus: v.status,
      videoUrl: v.video_key ? this.fileUrl(v.video_key) : null, srtUrl: v.srt_key ? this.fileUrl(v.srt_key) : null,
      duration: ms === null ? null : (ms / 1000).toFixed(3), durationMs: ms === null ? null : String(ms),
      coverUrl: v.cover_key ? this.fileUrl(v.cover_key) : null,
      createTime: formatDateTime(Number(v.created_at)), updateTime: formatDateTime(Number(v.updated_at)), failReason: v.fail_reason,
      progress: v.status === SynthesisStatus.Success ? 100 : Number(v.progress),
    };
  }
}

function parseSceneId(raw: string | number): number {
  const n = typeof raw === 'number' ? raw : /^-?\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n === 0) throw invalid(`sceneId must be a scene id (an integer, as a number or a string); got "${raw}".`);
  return n;
}

