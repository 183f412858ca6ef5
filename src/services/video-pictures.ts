import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError } from '../domain/errors.js';
import { type OutputSpec, changesPicture } from '../domain/video-output.js';
import type { CharacterDef } from '../engines/avatar2d/frame.js';
import { renderAvatarVideo } from '../engines/avatar2d/render.js';
import type { FaceDetector } from '../engines/face/detector.js';
import { BankRefused } from '../engines/lipsync/bank.js';
import { renderEmbedded } from '../engines/lipsync/embedded.js';
import type { LipsyncEngine } from '../engines/lipsync/engine.js';
import { mouthFromWavFile } from '../engines/mouth/audio.js';
import { targetFromPhonemes } from '../engines/mouth/target.js';
import type { PhonemeTiming } from '../engines/tts/engine.js';
import { composeVideo, type LoopDirection } from '../media/compose.js';
import { writeCover } from '../media/scene-assets.js';
import type { Storage } from '../media/storage.js';
import type { Db } from '../store/db.js';
import type { Scene } from '../store/schema.js';
import { analyseAndStore, loadBank } from './mouth-bank.js';
import { builtinLook, reformatTrained } from './video-output.js';
import type { MediaWorkspace } from './workspace.js';

/** An input the task could not use (status 7), as opposed to the synthesis itself failing (status 4). */
export class UnusableInput extends Error {}

/** Turns an input problem found while rendering into status 7; anything else passes on. */
export function unusable(err: unknown): never {
  if (err instanceof PermanentError) throw new UnusableInput(err.message);
  throw err;
}

/** The speech a video says: a 44.1 kHz mono WAV, its length, and phoneme timings when it was synthesized. */
export interface Speech { wav: string; durationMs: number; phonemes?: PhonemeTiming[] }

export interface PictureJob {
  appPk: number;
  speech: Speech;
  /** 0: the trained clip plays forward and restarts; 1: forward, then reversed (ping-pong). */
  pn: LoopDirection;
  /** The output fields of the cloud's full create, when it sent any. */
  spec: OutputSpec | null;
  dir: string;
  signal: AbortSignal;
  /** 0..1 of the picture done; `force` records it at once (a stage ended). */
  progress: (done: number, force?: boolean) => void;
}

/** The picture of a video (an MP4 with the speech as its sound) and its cover. */
export interface Picture { video: string; cover: string }

/** Makes a video's picture for one scene: one renderer per kind of scene, chosen when the scene is resolved. */
export interface PictureRenderer { render(job: PictureJob): Promise<Picture> }

/** A built-in 2D character: drawn frame by frame, its mouth from the phonemes or the loudness. */
export class BuiltinRenderer implements PictureRenderer {
  constructor(private readonly character: CharacterDef, private readonly media: MediaWorkspace) {}

  async render(job: PictureJob): Promise<Picture> {
    const tools = await this.media.tools();
    const look = await builtinLook(this.media, job.appPk, job.spec, job.dir, job.signal).catch(unusable);
    const made = await renderAvatarVideo(tools.ffmpeg, {
      character: String(this.character.id), audioWav: job.speech.wav, phonemes: job.speech.phonemes, durationMs: job.speech.durationMs,
      signal: job.signal, onProgress: (done) => job.progress(done), ...look,
    }, path.join(job.dir, 'render'));
    job.progress(1, true);
    return { video: made.video, cover: made.cover };
  }
}

export interface TrainedRendererDeps {
  db: Db;
  storage: Storage;
  media: MediaWorkspace;
  /** A configured lip-sync service (DHP_LIPSYNC_URL): it makes the mouths. */
  lipsync: LipsyncEngine | null;
  /** Without a service, mouths from the scene's own training video (the embedded lip-sync); null keeps the plain loop. */
  faces: (() => Promise<FaceDetector>) | null;
}

/**
 * A trained scene: its clip looped under the speech (compose.ts), then made to speak by the
 * lip-sync service when one is configured, else by the embedded lip-sync from the scene's mouth
 * bank, else (DHP_LIPSYNC=off) left as the plain loop.
 */
export class TrainedRenderer implements PictureRenderer {
  constructor(private readonly scene: Scene, private readonly deps: TrainedRendererDeps) {}

  async render(job: PictureJob): Promise<Picture> {
    const { scene, deps } = this;
    const tools = await deps.media.tools();
    const clip = {
      forward: await this.localCopy(scene.forward_key, job.dir), reverse: await this.localCopy(scene.reverse_key, job.dir),
      fps: scene.fps, frames: scene.frames, width: scene.width, height: scene.height,
    };
    const composed = await composeVideo(tools, clip, job.speech.wav, path.join(job.dir, 'compose'), { pn: job.pn, signal: job.signal });
    let { video, cover } = composed;
    const speaks = deps.lipsync !== null || deps.faces !== null;
    job.progress(speaks ? 0.12 : 1, true);
    if (deps.lipsync) {
      const synced = path.join(job.dir, 'lipsync.mp4');
      await deps.lipsync.render({
        video, audio: job.speech.wav, output: synced, pn: job.pn, signal: job.signal,
        onProgress: (p) => { if (p.progress !== undefined) job.progress(0.12 + 0.88 * (p.progress / 100)); },
      });
      video = synced;
    } else if (deps.faces) {
      const synced = await this.speakEmbedded(clip.forward, composed.video, composed.frames, job);
      if (synced) {
        video = synced;
        cover = path.join(job.dir, 'lipsync-cover.jpg');
        await writeCover(tools, video, cover, job.signal);
      }
    }
    if (job.spec && changesPicture(job.spec)) {
      ({ video, cover } = await reformatTrained(deps.media, job.appPk, job.spec, scene, { video, cover }, job.dir, job.signal).catch(unusable));
    }
    return { video, cover };
  }

  /**
   * The scene speaking by its own mouth bank. Scenes trained before lip-sync existed (or with an
   * older bank format) are analysed first and keep the bank. Null when the scene has no face to
   * work with (the loop is then the video).
   */
  private async speakEmbedded(forward: string, base: string, frames: number, job: PictureJob): Promise<string | null> {
    const tools = await this.deps.media.tools();
    const { speech } = job;
    const targets = speech.phonemes ? targetFromPhonemes(speech.phonemes, speech.durationMs, this.scene.fps) : await mouthFromWavFile(speech.wav, this.scene.fps);
    const { bank, analysed } = await mouthBank(this.deps, this.scene, forward, path.join(job.dir, 'bank'), {
      signal: job.signal, onProgress: (d) => job.progress(0.12 + 0.35 * d),
    });
    const share = analysed ? 0.47 : 0.12;
    if (bank.index.frames.length !== this.scene.frames) throw new Error(`the mouth bank covers ${bank.index.frames.length} frames but the scene has ${this.scene.frames}`);
    const output = path.join(job.dir, 'lipsync.mp4');
    const made = await renderEmbedded({
      tools, index: bank.index, bankVideo: bank.video, base, frames, pn: job.pn, targets,
      audioWav: speech.wav, output, signal: job.signal, onProgress: (d) => job.progress(share + (1 - share) * d),
    });
    return made.changedFrames > 0 ? output : null;
  }

  /** Storage may be remote later; ffmpeg wants local files. */
  private async localCopy(key: string, dir: string): Promise<string> {
    const dest = path.join(dir, path.basename(key));
    if (!(await this.deps.storage.copyTo(key, dest))) throw new UnusableInput('The avatar\'s video files are missing; train the avatar again.');
    return dest;
  }
}

/**
 * The scene's mouth bank, read from storage into `dir`; a scene without one (trained before
 * lip-sync, or with an older bank format) is analysed now and keeps the result.
 */
export async function mouthBank(deps: Pick<TrainedRendererDeps, 'db' | 'storage' | 'media' | 'faces'>, scene: Scene, forward: string, dir: string,
  opts: { signal?: AbortSignal; onProgress?: (done: number) => void } = {}) {
  await mkdir(dir, { recursive: true });
  const stored = scene.lipsync_key ? await loadBank(deps.storage, { indexKey: scene.lipsync_key, videoKey: scene.lipsync_video_key }, dir) : null;
  if (stored) return { bank: stored, analysed: false };
  if (!deps.faces) throw new Error('the embedded lip-sync needs the face detector');
  const made = await analyseAndStore(await deps.media.tools(), await deps.faces(), deps.storage, dir, { ...scene, forward }, opts)
    .catch((err) => { throw err instanceof BankRefused ? new PermanentError(err.message) : err; });
  await deps.db.transaction().execute(async (tx) => {
    await tx.updateTable('scenes').set({ lipsync_key: made.indexKey, lipsync_video_key: made.videoKey }).where('id', '=', scene.id).execute();
    await tx.updateTable('trainings').set({ lipsync: JSON.stringify(made.coverage) }).where('id', '=', scene.training_id).execute();
  });
  const bank = await loadBank(deps.storage, made, dir);
  if (!bank) throw new Error('the mouth bank just stored cannot be read back');
  return { bank, analysed: true };
}
