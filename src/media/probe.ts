/**
 * Reading media facts with ffprobe: container, length, size and the first video and audio
 * streams, asking only for the fields used and reading at most a bounded answer. A
 * MediaProbeError is for the end user: the file they sent is not media dhp can read.
 */
import { open, stat } from 'node:fs/promises';
import { runTool, ToolError, type ToolOutput } from '../process/run-tool.js';
import { MAX_PIXELS, tenantInput } from './input.js';
import type { MediaTools } from './tools.js';

/** The file is not media dhp can read. The message is a short clause for end users. */
export class MediaProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaProbeError';
  }
}

export interface ProbeVideo {
  codec: string;
  /** Display dimensions: already swapped when the stream is rotated by ±90°. */
  width: number;
  height: number;
  /**
   * Display rotation in ffprobe's "Display Matrix" convention: degrees
   * counter-clockwise, in (-180, 180] (0, 90, -90 or 180 in practice).
   */
  rotation: number;
  fps: number;
  pixFmt: string;
}

export interface ProbeAudio {
  codec: string;
  sampleRate: number;
  channels: number;
}

export interface ProbeResult {
  formatName: string;
  durationMs: number;
  sizeBytes: number;
  bitRate: number | null;
  video: ProbeVideo | null;
  audio: ProbeAudio | null;
}

const PROBE_TIMEOUT_MS = 30_000;
/** ffprobe's answer is parsed on the main thread; the fields probe asks for fit in a few KB. */
const PROBE_MAX_OUTPUT_BYTES = 1024 * 1024;

/** Run ffprobe quietly and parse its JSON output (at most PROBE_MAX_OUTPUT_BYTES of it). */
export async function ffprobeJson(tools: MediaTools, args: string[], timeoutMs = PROBE_TIMEOUT_MS): Promise<unknown> {
  const { stdout } = await runFfprobe(tools, args, timeoutMs);
  return JSON.parse(stdout.toString('utf8'));
}

function runFfprobe(tools: MediaTools, args: string[], timeoutMs: number): Promise<ToolOutput> {
  return probeSlots.use(() => runTool(tools.ffprobe, ['-hide_banner', '-v', 'error', '-print_format', 'json', ...args], {
    timeoutMs,
    captureStdout: true,
    maxStdoutBytes: PROBE_MAX_OUTPUT_BYTES,
  }));
}

/** At most `size` tasks at once; the rest wait in order. */
class Slots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so `running` stays counted for it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/**
 * Probes run on every upload, straight from the API; each ffprobe can take
 * hundreds of MB on a hostile file, so only a few run at once.
 */
const probeSlots = new Slots(2);

/**
 * Only the fields interpretProbe reads: no tags (an 80 MB tag made a 126 MB
 * answer) but the rotation ones, no chapters, no programs' details.
 */
const PROBE_ENTRIES = [
  'format=format_name,duration,size,bit_rate',
  'stream=codec_type,codec_name,width,height,pix_fmt,avg_frame_rate,r_frame_rate,sample_rate,channels,duration',
  'stream_disposition=attached_pic',
  'stream_tags=rotate',
  'stream_side_data=side_data_type,rotation',
].join(':');

/**
 * Codecs ffprobe uses for text rendered as "video" (ANSI art), which must not
 * pass as a user's video even inside an accepted container.
 */
const TEXT_CODECS = new Set(['ansi', 'bintext', 'xbin', 'idf']);

interface RawStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
  duration?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}

interface RawProbe {
  format?: { format_name?: string; duration?: string; size?: string; bit_rate?: string };
  streams?: RawStream[];
}

/**
 * What ffprobe can tell about `file` without decoding more than it needs;
 * MediaProbeError when it is not audio or video in an accepted container.
 */
export async function probe(tools: MediaTools, file: string): Promise<ProbeResult> {
  const { size } = await stat(file); // a missing file is our bug, not the user's: let ENOENT through
  let out: ToolOutput;
  try {
    out = await runFfprobe(tools, ['-show_entries', PROBE_ENTRIES, ...tenantInput(file)], PROBE_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof ToolError && /Format \S+ is not on the whitelist|not on whitelist/i.test(err.stderrTail)) {
      throw new MediaProbeError(`the file is ${formatOf(err.stderrTail)}, not one of the accepted formats (MP4, MOV, WebM, AVI, WAV, MP3, Ogg, FLAC, AAC, PNG, JPEG, WebP)`);
    }
    if (err instanceof ToolError && /printed more than/.test(err.message)) {
      throw new MediaProbeError('the file describes itself at a length no media file needs');
    }
    if (err instanceof ToolError && /exited with code/.test(err.message)) {
      if (await looksLikeText(file)) throw new MediaProbeError('the file is text (a playlist, a list of files or a web page, for example), not video or audio');
      throw new MediaProbeError('the file is damaged, incomplete or not a video or audio file (a web page, for example)');
    }
    throw err;
  }
  const picture = /Picture size (\d+)x(\d+) exceeds/.exec(out.stderr);
  if (picture) {
    throw new MediaProbeError(`the picture is ${picture[1]} × ${picture[2]} pixels; at most ${MAX_PIXELS.toLocaleString('en-US')} pixels (4096 × 4096) are accepted`);
  }
  return interpretProbe(JSON.parse(out.stdout.toString('utf8')) as RawProbe, size);
}

/** True when the file starts with printable UTF-8 text: media containers start with binary magic. */
async function looksLikeText(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(512), 0, 512, 0);
    const head = buffer.subarray(0, bytesRead);
    // A multi-byte character cut at the end of the window is still text.
    const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/\uFFFD$/, '');
    return bytesRead > 0 && !text.includes('\uFFFD') && !/[\x00-\x08\x0e-\x1f\x7f]/.test(text);
  } finally {
    await handle.close();
  }
}

/** "an HLS playlist" from ffprobe's "[hls @ 0x...] Format not on whitelist" line. */
function formatOf(stderr: string): string {
  const name = /\[(\w+) @/.exec(stderr)?.[1] ?? '';
  const known: Record<string, string> = { hls: 'a playlist (HLS)', concat: 'a concat list', tty: 'a text file', mpegts: 'an MPEG-TS stream' };
  return known[name] ?? (name ? `a file of the "${name}" kind` : 'a file of another kind');
}

function interpretProbe(raw: RawProbe, fileSize: number): ProbeResult {
  const formatName = raw.format?.format_name ?? '';
  const streams = raw.streams ?? [];
  const videoStream = streams.find(isPictureStream);
  const audioStream = streams.find((s) => s.codec_type === 'audio' && !!s.codec_name);

  const isText = videoStream && TEXT_CODECS.has(videoStream.codec_name ?? '');
  if (isText) throw new MediaProbeError('the file is text, not video or audio');
  if (!videoStream && !audioStream) throw new MediaProbeError('the file has no video or audio stream');

  const durations = [raw.format?.duration, videoStream?.duration, audioStream?.duration].map(toNumber);
  const seconds = durations.find((d): d is number => d !== null && d > 0) ?? 0;
  const bitRate = toNumber(raw.format?.bit_rate);
  return {
    formatName,
    durationMs: Math.round(seconds * 1000),
    sizeBytes: toNumber(raw.format?.size) ?? fileSize,
    bitRate: bitRate !== null && bitRate > 0 ? bitRate : null,
    video: videoStream ? describeVideo(videoStream) : null,
    audio: audioStream ? describeAudio(audioStream) : null,
  };
}

/** A real picture stream: not cover art embedded in an MP3/M4A, and with a size. */
function isPictureStream(s: RawStream): boolean {
  return s.codec_type === 'video' && !!s.codec_name && s.disposition?.attached_pic !== 1
    && (s.width ?? 0) > 0 && (s.height ?? 0) > 0;
}

function describeVideo(s: RawStream): ProbeVideo {
  const rotation = streamRotation(s);
  const quarterTurn = Math.abs(rotation) % 180 === 90;
  const width = s.width ?? 0;
  const height = s.height ?? 0;
  return {
    codec: s.codec_name ?? '',
    width: quarterTurn ? height : width,
    height: quarterTurn ? width : height,
    rotation,
    fps: frameRate(s.avg_frame_rate) ?? frameRate(s.r_frame_rate) ?? 0,
    pixFmt: s.pix_fmt ?? '',
  };
}

function describeAudio(s: RawStream): ProbeAudio {
  return { codec: s.codec_name ?? '', sampleRate: toNumber(s.sample_rate) ?? 0, channels: s.channels ?? 0 };
}

/**
 * Current ffprobe reports rotation as display-matrix side data (counter-
 * clockwise); older ones as a `rotate` tag (clockwise). Normalized to the
 * display-matrix convention in (-180, 180].
 */
function streamRotation(s: RawStream): number {
  const matrix = s.side_data_list?.find((d) => d.side_data_type === 'Display Matrix' && typeof d.rotation === 'number');
  const tag = toNumber(s.tags?.rotate);
  const ccw = matrix?.rotation ?? (tag !== null ? -tag : 0);
  let r = Math.round(ccw) % 360;
  if (r > 180) r -= 360;
  if (r <= -180) r += 360;
  return r === 0 ? 0 : r; // no -0
}

function frameRate(ratio: string | undefined): number | null {
  const m = /^(\d+)\/(\d+)$/.exec(ratio ?? '');
  if (!m || Number(m[1]) === 0 || Number(m[2]) === 0) return null;
  return Math.round((Number(m[1]) / Number(m[2])) * 1000) / 1000;
}

function toNumber(value: string | number | undefined): number | null {
  if (value === undefined || value === '' || value === 'N/A') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

// ---------------------------------------------------------------------------
// Frames and audio
// ---------------------------------------------------------------------------
