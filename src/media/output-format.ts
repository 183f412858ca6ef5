/**
 * Output formatting for video synthesis (the fields of POST /openapi/video/v2/create),
 * kept apart from the renderers: a built-in avatar is drawn at the asked size and
 * frame rate over the background in the first place, while a trained avatar's
 * finished MP4 passes through reformatVideo here (size, frame rate, bit rate, and a
 * new background keyed in behind an avatar trained in front of a green screen).
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { runFfmpeg } from './ffmpeg.js';
import { fileArg } from './input.js';
import { writeCover } from './scene-assets.js';
import { parseEncoderNames, type MediaTools } from './tools.js';

export interface ReformatOptions {
  /** Output size and frame rate (the input's own when nothing else was asked). */
  width: number;
  height: number;
  fps: number;
  /** Bits per second; absent: constant quality (CRF 20). */
  bitRate?: number;
  /** A still image to put behind the avatar; needs `keyColor`. */
  background?: string;
  /** The green screen's colour, 0xRRGGBB, as keyColor() measured it. */
  keyColor?: string;
  signal?: AbortSignal;
}

/** How close to the key colour a pixel must be to become transparent, and the soft edge beyond (chromakey's units). */
const KEY_SIMILARITY = 0.16;
const KEY_BLEND = 0.06;

/**
 * Writes `output` (H.264 yuv420p, the input's AAC copied, faststart) from the MP4 `input` and
 * its first frame to `cover`. The avatar is scaled to fit the output size (proportions kept)
 * and stands centred on its bottom edge; the rest is the background, scaled to cover the
 * frame and centre-cropped, or black without one.
 */
export async function reformatVideo(tools: MediaTools, input: string, output: string, cover: string, o: ReformatOptions): Promise<void> {
  if (o.background && !o.keyColor) throw new Error('a background needs the key colour of the avatar\'s green screen');
  const size = `${o.width}:${o.height}`;
  // The frame rate is set on the avatar before the overlay: set after it, the overlay's end drops the last frame.
  const fit = `scale=${size}:force_original_aspect_ratio=decrease,fps=${o.fps}`;
  const tail = 'setsar=1,format=yuv420p[v]';
  const args = ['-i', fileArg(input)];
  let graph: string;
  if (o.background) {
    args.push('-loop', '1', '-framerate', String(o.fps), '-i', fileArg(o.background));
    graph = [
      `[0:v]chromakey=${o.keyColor}:${KEY_SIMILARITY}:${KEY_BLEND},${fit}[fg]`,
      `[1:v]scale=${size}:force_original_aspect_ratio=increase,crop=${size},setsar=1[bg]`,
      // The looped still never ends: the avatar's end ends the video.
      `[bg][fg]overlay=x=(W-w)/2:y=H-h:shortest=1,${tail}`,
    ].join(';');
  } else {
    graph = `[0:v]${fit},pad=${size}:(ow-iw)/2:oh-ih:black,${tail}`;
  }
  await runFfmpeg(tools, [
    ...args,
    '-filter_complex', graph, '-map', '[v]', '-map', '0:a:0?', '-map_metadata', '-1',
    '-c:v', 'libx264', '-preset', 'veryfast',
    ...(o.bitRate ? ['-b:v', String(o.bitRate), '-maxrate', String(o.bitRate), '-bufsize', String(o.bitRate * 2)] : ['-crf', '20']),
    '-pix_fmt', 'yuv420p', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv',
    '-c:a', 'copy', '-movflags', '+faststart', '-f', 'mp4', fileArg(output),
  ], { signal: o.signal });
  await writeCover(tools, output, cover, o.signal);
}

/**
 * The picture a background URL points at, as a PNG of exactly `width` x `height`: scaled to
 * cover the frame and centre-cropped, so any still ffmpeg reads works behind a built-in avatar.
 */
export async function fitBackground(tools: MediaTools, source: string, dest: string, width: number, height: number, signal?: AbortSignal): Promise<void> {
  await runFfmpeg(tools, [
    '-i', fileArg(source), '-frames:v', '1',
    '-vf', `scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height},setsar=1,format=rgba`,
    '-f', 'image2', '-c:v', 'png', '-update', '1', fileArg(dest),
  ], { signal });
}

/**
 * The colour of the green screen behind an avatar, measured on the video's first frame: the
 * median of its border pixels (2 % of each side), as 0xRRGGBB. Throws a sentence when the
 * border is not green, since keying another colour would eat into the person.
 */
export async function keyColor(tools: MediaTools, video: string, scratch: string): Promise<string> {
  const w = 64;
  const h = 64;
  const raw = path.join(scratch, `key-${process.pid}-${Date.now()}.rgb`);
  try {
    await runFfmpeg(tools, ['-i', fileArg(video), '-frames:v', '1', '-vf', `scale=${w}:${h}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', fileArg(raw)]);
    const px = await readFile(raw);
    const border: Array<[number, number, number]> = [];
    const edge = 2;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (x >= edge && x < w - edge && y >= edge && y < h - edge) continue;
        const i = (y * w + x) * 3;
        border.push([px[i], px[i + 1], px[i + 2]]);
      }
    }
    const [r, g, b] = [0, 1, 2].map((c) => median(border.map((p) => p[c])));
    if (!(g > 80 && g > r * 1.3 && g > b * 1.3)) {
      throw new GreenScreenError(`the avatar's background is not a green screen (its edge colour is rgb(${r}, ${g}, ${b})); train it in front of an even green background, or leave backgroundUrl empty.`);
    }
    return `0x${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  } finally {
    await rm(raw, { force: true });
  }
}

/** The avatar trained with greenScreen has no green background after all; a user input problem. */
export class GreenScreenError extends Error {}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Encoders a WebM output needs; not every ffmpeg build has them (dhp's required set does not include them). */
const WEBM_ENCODERS = ['libvpx-vp9', 'libopus'];
const webmChecks = new Map<string, Promise<boolean>>();

/** Whether this ffmpeg can write WebM (VP9 + Opus); asked once per binary. */
export function canWriteWebm(tools: MediaTools): Promise<boolean> {
  let check = webmChecks.get(tools.ffmpeg);
  if (!check) {
    check = promisify(execFile)(tools.ffmpeg, ['-hide_banner', '-encoders'], { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 })
      .then(({ stdout }) => { const have = parseEncoderNames(stdout); return WEBM_ENCODERS.every((e) => have.has(e)); }, () => false);
    webmChecks.set(tools.ffmpeg, check);
  }
  return check;
}

/**
 * The finished MP4 as WebM: VP9 (at `bitRate`, else constant quality) and Opus. libvpx's
 * realtime mode with row multithreading: the good-quality mode takes many times longer per frame.
 */
export async function toWebm(tools: MediaTools, input: string, output: string, o: { bitRate?: number; signal?: AbortSignal }): Promise<void> {
  await runFfmpeg(tools, [
    '-i', fileArg(input), '-map', '0:v:0', '-map', '0:a:0?', '-map_metadata', '-1',
    '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1',
    ...(o.bitRate ? ['-b:v', String(o.bitRate)] : ['-crf', '32', '-b:v', '0']),
    '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-b:a', '96k', '-f', 'webm', fileArg(output),
  ], { signal: o.signal });
}
