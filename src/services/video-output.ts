import path from 'node:path';
import { invalid, PermanentError } from '../domain/errors.js';
import type { OutputSpec } from '../domain/video-output.js';
import { DEFAULT_FPS, DEFAULT_HEIGHT, DEFAULT_WIDTH } from '../engines/avatar2d/render.js';
import { canWriteWebm, fitBackground, GreenScreenError, keyColor, reformatVideo, toWebm } from '../media/output-format.js';
import type { MediaWorkspace } from './workspace.js';

/**
 * The output fields of a video (OutputSpec) applied in a synthesis job: how a built-in
 * avatar is drawn, and the pass a trained avatar's MP4 goes through. Problems with the
 * caller's inputs (an unreadable background, an avatar without a green screen) are
 * PermanentErrors: the job ends with status 7 and the sentence.
 */

/** Render options for a built-in avatar: it is drawn at the asked size and rate, over the background. */
export async function builtinLook(media: MediaWorkspace, appPk: number, spec: OutputSpec | null, dir: string, signal?: AbortSignal) {
  if (!spec) return {};
  const width = spec.width ?? DEFAULT_WIDTH;
  const height = spec.height ?? DEFAULT_HEIGHT;
  let background: string | undefined;
  if (spec.backgroundUrl) {
    const source = await fetchBackground(media, appPk, spec.backgroundUrl, dir);
    background = path.join(dir, 'background.png');
    await fitBackground(await media.tools(), source, background, width, height, signal);
  }
  return { width, height, fps: spec.fps ?? DEFAULT_FPS, bitRate: spec.bitRate, background };
}

/**
 * A trained avatar's composed MP4 at the asked size, rate and bit rate, with the background
 * keyed in behind an avatar trained in front of a green screen. Writes into `dir`.
 */
export async function reformatTrained(
  media: MediaWorkspace, appPk: number, spec: OutputSpec, scene: { width: number; height: number; fps: number },
  made: { video: string; cover: string }, dir: string, signal?: AbortSignal,
): Promise<{ video: string; cover: string }> {
  const tools = await media.tools();
  let background: string | undefined;
  let key: string | undefined;
  if (spec.backgroundUrl) {
    background = await fetchBackground(media, appPk, spec.backgroundUrl, dir);
    key = await keyColor(tools, made.video, dir).catch((err) => {
      throw err instanceof GreenScreenError ? new PermanentError(`backgroundUrl cannot be used: ${err.message}`) : err;
    });
  }
  const out = { video: path.join(dir, 'formatted.mp4'), cover: path.join(dir, 'formatted.jpg') };
  await reformatVideo(tools, made.video, out.video, out.cover, {
    width: spec.width ?? scene.width, height: spec.height ?? scene.height, fps: spec.fps ?? scene.fps,
    bitRate: spec.bitRate, background, keyColor: key, signal,
  });
  return out;
}

/** Refuses at create what this server's tools cannot write (WebM needs libvpx-vp9 and libopus). */
export async function assertProducible(media: MediaWorkspace, spec: OutputSpec | null): Promise<void> {
  if (spec?.videoFormat !== 'webm') return;
  const able = await media.tools().then(canWriteWebm, () => false);
  if (!able) throw invalid('videoFormat webm cannot be produced on this server: its ffmpeg lacks the libvpx-vp9 or libopus encoder. Send mp4, or ask the operator for an ffmpeg with both.');
}

/** The container asked for: the MP4 itself, or a WebM made from it in `dir`. */
export async function inFormat(media: MediaWorkspace, spec: OutputSpec | null, video: string, dir: string, signal?: AbortSignal): Promise<string> {
  if (spec?.videoFormat !== 'webm') return video;
  const webm = path.join(dir, 'video.webm');
  await toWebm(await media.tools(), video, webm, { bitRate: spec.bitRate, signal });
  return webm;
}

/** The `videoFormat` a video record shows. */
export const formatOf = (output: string | null): string => (output ? (JSON.parse(output) as OutputSpec).videoFormat ?? 'mp4' : 'mp4');

/** Downloads backgroundUrl and makes sure it is a still picture. */
async function fetchBackground(media: MediaWorkspace, appPk: number, url: string, dir: string): Promise<string> {
  const file = path.join(dir, 'background-source');
  const probed = await media.fetch(appPk, url, file, 'backgroundUrl', 'image');
  const still = /image2|_pipe$/.test(probed.formatName) || (probed.video !== null && probed.durationMs === 0);
  if (!probed.video || probed.audio || !still) {
    throw new PermanentError('backgroundUrl must be a picture (JPEG or PNG); it points at a video or audio file.');
  }
  return file;
}
