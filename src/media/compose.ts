/**
 * The embedded compositor for video synthesis: a trained scene plus a speech
 * WAV becomes an MP4 of the avatar "speaking". There is no lip movement here;
 * the scene's clip is looped for as long as the speech lasts.
 *
 * It is fast because no picture is encoded. A scene's forward.mp4 and
 * reverse.mp4 come out of one encoder configuration with closed GOPs that
 * open on an IDR frame (see scene-assets.ts), so the concat demuxer can join
 * them with `-c copy`. The last piece is usually a part of a clip; it is cut
 * by stream copy too (an `outpoint` in the concat list), which is valid
 * because scene clips have no B-frames: every frame refers only to frames
 * before it, so the first N frames of a segment decode on their own, whatever
 * N is.
 *
 * Re-encoding that last piece instead would have to reproduce the scene's
 * encoder settings exactly, CRF included: x264 writes the CRF into the PPS
 * (pic_init_qp), and an MP4 track holds one SPS/PPS for all its segments, so
 * a piece encoded at another CRF would decode as garbage. Stream copy cannot
 * get this wrong, loses no quality and costs nothing.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg } from './ffmpeg.js';
import { fileArg } from './input.js';
import { MediaProbeError, probe } from './probe.js';
import { concatQuote, countFrames, writeCover } from './scene-assets.js';
import type { MediaTools } from './tools.js';

/** A scene's clips (see SceneAssets): both have `frames` frames at `fps`. */
export interface SceneClip {
  forward: string;
  reverse: string;
  fps: number;
  frames: number;
  width: number;
  height: number;
}

/**
 * The API's `pn`. 0, forward: the clip restarts from its first frame each
 * time (a visible jump at every loop). 1, reverse: forward, backward,
 * forward... (ping-pong: no jump).
 */
export type LoopDirection = 0 | 1;

export interface TimelinePiece {
  source: 'forward' | 'reverse';
  /** The clip's length for a whole piece; fewer frames for a last, partial piece (its first frames). */
  frames: number;
}

export interface ComposeResult {
  /** outDir/video.mp4: H.264 (stream-copied scene frames) and AAC, moov first. */
  video: string;
  /** outDir/cover.jpg: the video's first frame at the scene's size. */
  cover: string;
  /** Length of the picture; the speech is at most one frame shorter. */
  durationMs: number;
  frames: number;
}

/**
 * Sound in the output: AAC at a rate every player handles. Encoding the
 * speech is most of a composition's work, and ffmpeg's default "twoloop"
 * coder takes ~1.5 s of CPU per minute of speech; the "fast" coder takes
 * ~0.9 s and, at this bitrate, is no worse on speech (SNR 43 dB against
 * 35 dB on an espeak sample).
 */
export const AUDIO_ARGS = ['-c:a', 'aac', '-aac_coder', 'fast', '-b:a', '128k', '-ar', '48000'];

/**
 * The clips to play, in order, to fill `totalFrames` frames: whole clips,
 * then the first frames of the next one. Pure.
 */
export function planTimeline(clipFrames: number, totalFrames: number, pn: LoopDirection): TimelinePiece[] {
  if (!Number.isInteger(clipFrames) || clipFrames < 1) throw new RangeError(`clipFrames must be a whole number ≥ 1, got ${clipFrames}`);
  if (!Number.isInteger(totalFrames) || totalFrames < 0) throw new RangeError(`totalFrames must be a whole number ≥ 0, got ${totalFrames}`);
  if (pn !== 0 && pn !== 1) throw new RangeError(`pn must be 0 or 1, got ${String(pn)}`);
  const pieces: TimelinePiece[] = [];
  for (let done = 0; done < totalFrames; done += clipFrames) {
    // Ping-pong: odd pieces run backwards, so each join shows neighbouring frames.
    const source = pn === 1 && pieces.length % 2 === 1 ? 'reverse' : 'forward';
    pieces.push({ source, frames: Math.min(clipFrames, totalFrames - done) });
  }
  return pieces;
}

/**
 * Write outDir/video.mp4 (the scene looped for the length of `audioWav`, with
 * that speech as AAC) and outDir/cover.jpg. Temporary files are removed
 * whatever happens, and the outputs too when it fails.
 */
export async function composeVideo(
  tools: MediaTools,
  clip: SceneClip,
  audioWav: string,
  outDir: string,
  opts: { pn: LoopDirection; signal?: AbortSignal },
): Promise<ComposeResult> {
  if (!Number.isInteger(clip.fps) || clip.fps < 1) throw new RangeError(`clip.fps must be a whole number ≥ 1, got ${clip.fps}`);
  const totalFrames = await framesForAudio(tools, audioWav, clip.fps);
  const pieces = planTimeline(clip.frames, totalFrames, opts.pn);

  await mkdir(outDir, { recursive: true });
  const video = path.join(outDir, 'video.mp4');
  const cover = path.join(outDir, 'cover.jpg');
  const workDir = await mkdtemp(path.join(outDir, '.compose-'));
  try {
    const list = path.join(workDir, 'timeline.txt');
    await writeFile(list, concatList(pieces, clip), 'utf8');
    // The video opens with forward.mp4's first frame, stream-copied, so the
    // cover can be taken from there while the mux runs on the other core.
    await allOrFirstError([
      muxTimeline(tools, { list, audioWav, output: video, fps: clip.fps, signal: opts.signal }),
      writeCover(tools, clip.forward, cover, opts.signal),
    ]);
    const written = await countFrames(tools, video);
    if (written !== totalFrames) throw new Error(`the composed video has ${written} frames, expected ${totalFrames}`);
    return { video, cover, durationMs: Math.round((totalFrames * 1000) / clip.fps), frames: totalFrames };
  } catch (err) {
    await Promise.all([video, cover].map((f) => rm(f, { force: true })));
    throw err;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Like Promise.all, but settles only once every task has: cleanup must not
 * race an ffmpeg that is still writing.
 */
async function allOrFirstError(tasks: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Frames needed to cover the speech: rounded up, so the picture never ends before the sound. */
async function framesForAudio(tools: MediaTools, audioWav: string, fps: number): Promise<number> {
  const info = await probe(tools, audioWav);
  if (!info.audio) throw new MediaProbeError('the speech file has no sound track');
  if (info.durationMs <= 0) throw new MediaProbeError('the speech is empty');
  return Math.ceil((info.durationMs * fps) / 1000);
}

interface MuxJob {
  list: string;
  audioWav: string;
  output: string;
  fps: number;
  signal: AbortSignal | undefined;
}

/**
 * One ffmpeg pass: the timeline's frames by stream copy (the list's outpoint
 * cuts the last piece), the speech encoded to AAC. Not `-frames:v` for the
 * cut: ffmpeg 5.1 then drops the last AAC frame, leaving the sound ~20 ms short.
 */
async function muxTimeline(tools: MediaTools, job: MuxJob): Promise<void> {
  await runFfmpeg(tools, [
    '-f', 'concat', '-safe', '0', '-i', fileArg(job.list),
    '-i', fileArg(job.audioWav),
    '-map', '0:v:0', '-map', '1:a:0', '-map_metadata', '-1', '-map_chapters', '-1',
    '-c:v', 'copy',
    ...AUDIO_ARGS,
    // The scene clips' timescale: every frame lasts a whole number of ticks.
    '-video_track_timescale', String(job.fps * 512),
    // Players can start before the whole file has arrived.
    '-movflags', '+faststart',
    '-f', 'mp4', fileArg(job.output),
  ], { signal: job.signal });
}

/**
 * A concat demuxer script for the timeline, with absolute `file:` paths (no
 * relative-path or protocol surprises). A partial piece gets an outpoint half
 * a frame after its last frame: frames sit exactly at k/fps, so rounding the
 * decimal can neither drop that frame nor let the next one in.
 */
function concatList(pieces: TimelinePiece[], clip: SceneClip): string {
  return pieces.map((p) => {
    const entry = `file ${concatQuote(fileArg(clip[p.source]))}\n`;
    return p.frames < clip.frames ? `${entry}outpoint ${((p.frames - 0.5) / clip.fps).toFixed(6)}\n` : entry;
  }).join('');
}
