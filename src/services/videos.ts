import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { CallbackService } from '../callbacks/callbacks.js';
import { ApiError, invalid, notFound } from '../domain/errors.js';
import { formatDateTime } from '../domain/text.js';
import { findCharacter, type CharacterDef } from '../engines/avatar2d/characters.js';
import { renderAvatarVideo } from '../engines/avatar2d/render.js';
import type { LipsyncEngine } from '../engines/lipsync/engine.js';
import { LipsyncError } from '../engines/lipsync/engine.js';
import { TtsInputError, type PhonemeTiming, type TtsEngine } from '../engines/tts/engine.js';
import { composeVideo, type LoopDirection } from '../media/compose.js';
import { probe, runFfmpeg } from '../media/ffmpeg.js';
import { buildCues, formatSrt } from '../media/srt.js';
import { newKey, type Storage } from '../media/storage.js';
import type { Executor, JobQueue } from '../queue/queue.js';
import type { Db } from '../store/db.js';
import { pageOf } from '../store/paging.js';
import type { App, Job, Scene, Video } from '../store/schema.js';
import { PermanentError } from '../worker/errors.js';
import type { CatalogService, Page } from './catalog.js';
import type { ConsentService } from './consent.js';
import type { QuotaService } from './quota.js';
import { SettledViews } from './settled-views.js';
import { checkCallbackUrl, type MediaUrlCheck } from './urls.js';
import type { VoiceService } from './voices.js';
import type { MediaWorkspace } from './workspace.js';

export const SynthesisStatus = { Editing: -1, Queued: 1, Processing: 2, Success: 3, Failed: 4, Canceled: 6, TaskFailed: 7 } as const;
const active: number[] = [SynthesisStatus.Queued, SynthesisStatus.Processing];
const final: number[] = [SynthesisStatus.Success, SynthesisStatus.Failed, SynthesisStatus.Canceled, SynthesisStatus.TaskFailed];

export interface VideoInput {
  videoName?: string | null; sceneId: string | number; audioUrl?: string | null; text?: string | null;
  speakerId?: string | null; pn?: number | null; callbackUrl?: string | null;
}

export interface VideoView {
  id: number; videoName: string | null; videoFormat: string; synthesisStatus: number; videoUrl: string | null; srtUrl: string | null;
  duration: string | null; durationMs: string | null; coverUrl: string | null; createTime: string; updateTime: string; failReason: string | null;
  progress: number;
}

/** An input the task could not use (status 7), as opposed to the synthesis itself failing (status 4). */
class UnusableInput extends Error {}
/** The caller canceled while the job ran: stop quietly, the cancel already settled everything. */
class Canceled extends Error {}

type ResolvedScene = { kind: 'builtin'; character: CharacterDef } | { kind: 'trained'; scene: Scene; authorizeStatus: number };

const ref = (id: number) => `video:${id}`;
/** Held beyond the speech while the picture is made: a video ends on a whole frame, up to one frame after its sound. */
const CHARGE_HEADROOM_MS = 1000;

/**
 * Video synthesis (section 5): an avatar (built-in 2D character or trained
 * scene) speaking given audio, or text in a voice. Built-in characters move
 * their lips from the speech; trained scenes loop their clip by stream copy
 * (no lip movement) unless a lip-sync engine is configured.
 */
export class VideoService {
  constructor(
    private readonly db: Db,
    private readonly queue: JobQueue,
    private readonly quota: QuotaService,
    private readonly catalog: CatalogService,
    private readonly voices: VoiceService,
    private readonly consent: ConsentService,
    private readonly engine: TtsEngine,
    private readonly media: MediaWorkspace,
    private readonly storage: Storage,
    private readonly callbacks: CallbackService,
    private readonly clock: Clock,
    private readonly fileUrl: (key: string) => string,
    private readonly lipsync: LipsyncEngine | null,
    private readonly opts: { allowPrivateNetwork: boolean; maxChars: number; mediaUrl: MediaUrlCheck },
  ) {}

  /** Ended videos never change again. */
  private readonly settled = new SettledViews<VideoView>();

  async create(app: App, input: VideoInput): Promise<{ videoId: number }> {
    const sceneId = parseSceneId(input.sceneId);
    const scene = await this.resolveScene(app.id, sceneId);
    if (scene.kind === 'trained') this.consent.assertUsable(`sceneId ${sceneId}`, scene.authorizeStatus);
    const pn = input.pn ?? 1;
    if (pn !== 0 && pn !== 1) throw invalid(`pn must be 0 (forward) or 1 (reverse, ping-pong); got ${pn}.`);
    const audioUrl = input.audioUrl?.trim() ? this.opts.mediaUrl(input.audioUrl, 'audioUrl') : null;
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
      throw new ApiError('IDEMPOTENCY_CONFLICT', `Video ${id} has already ended (synthesisStatus ${v.status}); only queued or processing videos can be canceled.`);
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

  private async produce(v: Video, dir: string, signal: AbortSignal, progress: (percent: number, force?: boolean) => void) {
    const tools = await this.media.tools();
    const scene = await this.resolveScene(v.app_pk, Number(v.scene_id)).catch((err: Error) => { throw new UnusableInput(err.message); });

    // 1. The speech: downloaded audio, or TTS of the text.
    const wav = path.join(dir, 'speech.wav');
    let phonemes: PhonemeTiming[] | undefined;
    let srt: string | null = null;
    if (v.audio_url) {
      const source = path.join(dir, 'audio-source');
      const probed = await this.media.fetch(v.app_pk, v.audio_url, source, 'audioUrl', 'audio').catch(unusable);
      if (!probed.audio) throw new UnusableInput('audioUrl has no sound track; give a WAV or MP3 of the speech.');
      await runFfmpeg(tools, ['-i', source, '-vn', '-ac', '1', '-ar', '44100', '-c:a', 'pcm_s16le', wav], { signal });
    } else {
      const profile = this.catalog.publicVoice(v.speaker_id!)?.profile ?? await this.voices.profileFor(v.app_pk, v.speaker_id!);
      if (!profile) throw new UnusableInput(`The voice "${v.speaker_id}" is no longer available.`);
      const speech = await this.engine.synthesize(v.text!, profile).catch((err) => {
        throw err instanceof TtsInputError ? new UnusableInput(`text: ${err.message}`) : err;
      });
      await writeFile(wav, speech.wav);
      phonemes = speech.phonemes;
      srt = formatSrt(buildCues(v.text!, speech.words, { durationMs: speech.durationMs }));
    }
    const durationMs = Math.round((await probe(tools, wav)).durationMs);
    if (durationMs <= 0) throw new UnusableInput('The speech is empty.');
    progress(10, true);

    // 2. Reserve the real duration now that it is known. A re-run after a kill sets the hold to
    // this run's speech (TTS length varies a little between runs); the headroom covers the
    // picture's last frame, since the charge is the finished video's own durationMs.
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

    // 3. The picture: 10..95 %.
    let video: string;
    let cover: string;
    if (scene.kind === 'builtin') {
      const r = await renderAvatarVideo(tools.ffmpeg, {
        character: String(scene.character.id), audioWav: wav, phonemes, durationMs, signal, onProgress: (done) => progress(10 + 85 * done),
      }, path.join(dir, 'render'));
      ({ video, cover } = r);
      progress(95, true);
    } else {
      const clip = {
        forward: await this.localCopy(scene.scene.forward_key, dir), reverse: await this.localCopy(scene.scene.reverse_key, dir),
        fps: scene.scene.fps, frames: scene.scene.frames, width: scene.scene.width, height: scene.scene.height,
      };
      const composed = await composeVideo(tools, clip, wav, path.join(dir, 'compose'), { pn: v.pn as LoopDirection, signal });
      ({ video, cover } = composed);
      progress(this.lipsync ? 20 : 95, true);
      if (this.lipsync) {
        const synced = path.join(dir, 'lipsync.mp4');
        await this.lipsync.render({
          video, audio: wav, output: synced, pn: v.pn as LoopDirection, signal,
          onProgress: (p) => { if (p.progress !== undefined) progress(20 + 0.75 * p.progress); },
        });
        video = synced;
      }
    }
    if (signal.aborted) return null;
    const out = await probe(tools, video);
    const keys = { video: newKey('videos', 'mp4'), cover: newKey('videos', 'jpg'), srt: srt ? newKey('videos', 'srt') : null };
    await this.storage.putFile(keys.video, video);
    await this.storage.putFile(keys.cover, cover);
    if (keys.srt && srt) await this.storage.put(keys.srt, Buffer.from(srt, 'utf8'));
    return { keys, durationMs: Math.round(out.durationMs) };
  }

  /** Storage may be remote later; ffmpeg wants local files. */
  private async localCopy(key: string, dir: string): Promise<string> {
    const dest = path.join(dir, path.basename(key));
    if (!(await this.storage.copyTo(key, dest))) throw new UnusableInput('The avatar\'s video files are missing; train the avatar again.');
    return dest;
  }

  async resolveScene(appPk: number, sceneId: number): Promise<ResolvedScene> {
    const character = sceneId < 0 ? findCharacter(sceneId) : undefined;
    if (character) return { kind: 'builtin', character };
    const scene = sceneId > 0
      ? await this.db.selectFrom('scenes').innerJoin('trainings', 'trainings.id', 'scenes.training_id').selectAll('scenes')
        .select('trainings.authorize_status').where('scenes.id', '=', sceneId).where('scenes.app_pk', '=', appPk).executeTakeFirst()
      : undefined;
    if (!scene) {
      throw invalid(`sceneId ${sceneId} is not an avatar you can use; list public avatars with POST /openapi/robot/v2/fastPublicPageList, or use the sceneId of one of your trainings.`);
    }
    const { authorize_status, ...rest } = scene;
    return { kind: 'trained', scene: rest, authorizeStatus: authorize_status };
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
    const updated = await tx.updateTable('videos').set({
      status, fail_reason: reason, updated_at: this.clock.now(),
      ...(made ? { video_key: made.keys.video, cover_key: made.keys.cover, srt_key: made.keys.srt, duration_ms: made.durationMs } : {}),
    }).where('id', '=', v.id).where('status', 'in', active).returningAll().executeTakeFirst();
    if (!updated) return;
    if (status === SynthesisStatus.Success) await this.quota.charge(tx, v.app_pk, 'fast_duration', ref(Number(v.id)), made?.durationMs);
    else await this.quota.refund(tx, v.app_pk, 'fast_duration', ref(Number(v.id)));
    if (!updated.callback_url) return;
    const view = this.view(updated);
    await this.callbacks.schedule(tx, {
      appPk: v.app_pk, taskType: 'video-synthesis', resourceId: view.id, url: updated.callback_url,
      data: {
        id: view.id, videoName: view.videoName, result: status === SynthesisStatus.Success ? 'success' : 'fail', failReason: view.failReason,
        videoUrl: view.videoUrl, duration: view.duration, coverUrl: view.coverUrl, srtUrl: view.srtUrl,
        createTime: Number(updated.created_at), updateTime: Number(updated.updated_at), synthesisStatus: view.synthesisStatus,
      },
    });
  }

  private view(v: Video): VideoView {
    const ms = v.duration_ms === null ? null : Number(v.duration_ms);
    return {
      id: Number(v.id), videoName: v.video_name, videoFormat: 'mp4', synthesisStatus: v.status,
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

function unusable(err: unknown): never {
  if (err instanceof PermanentError) throw new UnusableInput(err.message);
  throw err;
}
