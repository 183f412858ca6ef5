import { invalid } from './errors.js';

/**
 * The output fields of the cloud's full create (POST /openapi/video/v2/create).
 * Each is either honoured or refused with a sentence naming it; none is
 * dropped. Pure: the caller says what the avatar is.
 */
export interface OutputRequest {
  backgroundUrl?: string | null;
  /** Numbers may come as strings (PHP clients send form values). */
  width?: number | string | null;
  height?: number | string | null;
  fps?: number | string | null;
  bitRate?: number | string | null;
  videoFormat?: string | null;
  mask?: unknown;
  matting?: unknown;
  pixFmt?: string | null;
}

/** What the compositor is asked to produce; absent fields keep the avatar's own. */
export interface OutputSpec {
  width?: number;
  height?: number;
  fps?: number;
  /** Video bit rate, bits per second (the encoder's target instead of constant quality). */
  bitRate?: number;
  /** Validated URL of the picture to put behind the avatar. */
  backgroundUrl?: string;
  /** Set only for a container other than MP4. */
  videoFormat?: 'webm';
}

/** What the validation needs to know about the avatar. */
export type OutputAvatar =
  | { kind: 'builtin'; width: number; height: number }
  | { kind: 'trained'; sceneId: number; width: number; height: number; greenScreen: boolean };

export const OUTPUT_LIMITS = { minSide: 64, maxSide: 4096, minFps: 1, maxFps: 60, minBitRate: 100_000, maxBitRate: 50_000_000 } as const;
export const VIDEO_FORMATS = ['mp4', 'webm'] as const;
export const PIXEL_FORMATS = ['yuv420p'] as const;

/**
 * Checks every output field against what the embedded compositor does for this avatar and
 * returns the spec to render; throws INVALID_PARAMETER naming the first field it cannot honour.
 * `backgroundUrl` is returned as given: the caller vets it as a media URL (scheme, private
 * addresses, whose upload it is), which needs I/O this pure module does not do.
 */
export function outputSpec(req: OutputRequest, avatar: OutputAvatar): OutputSpec {
  const spec: OutputSpec = {};

  const format = blank(req.videoFormat) ? undefined : String(req.videoFormat).trim().toLowerCase();
  if (format !== undefined && !(VIDEO_FORMATS as readonly string[]).includes(format)) {
    throw invalid(`videoFormat "${req.videoFormat}" cannot be produced here; send mp4 (H.264 + AAC) or webm (VP9 + Opus).`);
  }
  if (format === 'webm') spec.videoFormat = 'webm';
  const pixFmt = blank(req.pixFmt) ? undefined : String(req.pixFmt).trim().toLowerCase();
  if (pixFmt !== undefined && !(PIXEL_FORMATS as readonly string[]).includes(pixFmt)) {
    throw invalid(`pixFmt "${req.pixFmt}" cannot be produced here; videos are ${PIXEL_FORMATS.join(', ')} (4:2:0, no transparency). Leave pixFmt empty or send yuv420p.`);
  }
  if (set(req.mask)) {
    throw invalid('mask cannot be applied: this server has no masking step. Leave mask empty; to change what is behind the avatar, send backgroundUrl with a built-in avatar or one trained with greenScreen.');
  }
  if (set(req.matting)) {
    throw invalid('matting cannot be done: this server has no model that cuts a person out of an ordinary background. Leave matting empty; backgroundUrl works with a built-in avatar, or with an avatar trained in front of a green screen (greenScreen: true), whose background is keyed out.');
  }

  const width = size(req.width, 'width');
  const height = size(req.height, 'height');
  if (width !== undefined || height !== undefined) {
    // One side alone keeps the avatar's proportions.
    spec.width = width ?? even((height! * avatar.width) / avatar.height);
    spec.height = height ?? even((width! * avatar.height) / avatar.width);
    for (const [name, v] of [['width', spec.width], ['height', spec.height]] as const) {
      if (v < OUTPUT_LIMITS.minSide || v > OUTPUT_LIMITS.maxSide) {
        throw invalid(`${name} would be ${v} pixels to keep the avatar's proportions (${avatar.width}x${avatar.height}); send both width and height.`);
      }
    }
  }
  if (!blank(req.fps)) {
    const fps = Number(req.fps);
    if (!Number.isInteger(fps) || fps < OUTPUT_LIMITS.minFps || fps > OUTPUT_LIMITS.maxFps) {
      throw invalid(`fps must be a whole number of frames per second from ${OUTPUT_LIMITS.minFps} to ${OUTPUT_LIMITS.maxFps}; got ${req.fps}.`);
    }
    spec.fps = fps;
  }
  if (!blank(req.bitRate)) {
    const b = Number(req.bitRate);
    if (!Number.isInteger(b) || b < OUTPUT_LIMITS.minBitRate || b > OUTPUT_LIMITS.maxBitRate) {
      const hint = Number.isInteger(b) && b > 0 && b < OUTPUT_LIMITS.minBitRate ? ` (for ${b} kbit/s send ${b * 1000})` : '';
      throw invalid(`bitRate is the video bit rate in bits per second, ${OUTPUT_LIMITS.minBitRate} to ${OUTPUT_LIMITS.maxBitRate}; got ${req.bitRate}${hint}.`);
    }
    spec.bitRate = b;
  }
  if (!blank(req.backgroundUrl)) {
    if (avatar.kind === 'trained' && !avatar.greenScreen) {
      throw invalid(`backgroundUrl needs an avatar whose background can be replaced: a built-in avatar, or one trained with greenScreen: true in front of a green screen. sceneId ${avatar.sceneId} was trained without greenScreen.`);
    }
    spec.backgroundUrl = String(req.backgroundUrl);
  }
  return spec;
}

/** Whether the spec asks for anything at all (a video without one keeps the avatar's own MP4). */
export function changesOutput(spec: OutputSpec): boolean {
  return changesPicture(spec) || spec.videoFormat !== undefined;
}

/** Whether the spec changes anything about the avatar's own picture. */
export function changesPicture(spec: OutputSpec): boolean {
  return spec.width !== undefined || spec.height !== undefined || spec.fps !== undefined || spec.bitRate !== undefined || spec.backgroundUrl !== undefined;
}

function size(raw: number | string | null | undefined, name: 'width' | 'height'): number | undefined {
  if (blank(raw)) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < OUTPUT_LIMITS.minSide || v > OUTPUT_LIMITS.maxSide) {
    throw invalid(`${name} must be a whole number of pixels from ${OUTPUT_LIMITS.minSide} to ${OUTPUT_LIMITS.maxSide}; got ${raw}.`);
  }
  if (v % 2 !== 0) throw invalid(`${name} must be an even number of pixels (H.264 4:2:0 video); got ${v}.`);
  return v;
}

const even = (v: number) => Math.max(2, Math.round(v / 2) * 2);
const blank = (v: unknown): v is null | undefined | '' => v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
/** A flag that asks for something: anything but empty, false, 0 or their string forms. */
const set = (v: unknown) => !blank(v) && v !== false && v !== 0 && !(typeof v === 'string' && /^(0|false)$/i.test(v.trim()));
