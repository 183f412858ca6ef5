/**
 * ffmpeg and ffprobe: finding usable binaries at boot, running them with a
 * deadline, and reading media facts (probe), still frames and speech audio.
 *
 * Errors come in three kinds because three different people act on them:
 * - MediaToolsError: the operator (wrong or incomplete ffmpeg installation);
 * - MediaProbeError: the end user (the file they sent is not usable media);
 * - FfmpegError: the developer (a command failed; `stderrTail` is for logs).
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
  /** First line of `ffmpeg -version`, for logs and /readyz. */
  ffmpegVersion: string;
  /** Where the ffmpeg binary came from. */
  source: 'configured' | 'system' | 'npm';
}

/** The installation is unusable; the message tells the operator what to do. */
export class MediaToolsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaToolsError';
  }
}

/** An ffmpeg/ffprobe run failed. `stderrTail` goes to logs, never to users. */
export class FfmpegError extends Error {
  readonly stderrTail: string;

  constructor(message: string, stderrTail: string) {
    super(message);
    this.name = 'FfmpegError';
    this.stderrTail = stderrTail;
  }
}

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

// ---------------------------------------------------------------------------
// Locating the binaries
// ---------------------------------------------------------------------------

/** Encoders dhp's pipelines use: scenes and videos (libx264, aac), covers and frames (mjpeg). */
const REQUIRED_ENCODERS = ['libx264', 'aac', 'mjpeg'];

const INSTALL_HINT =
  "install Debian's ffmpeg (apt-get install ffmpeg) or point DHP_FFMPEG_PATH at an ffmpeg built with libx264, aac and mjpeg";

/** How long a `-version`/`-encoders` check may take before the binary counts as broken. */
const CHECK_TIMEOUT_MS = 15_000;

type Source = MediaTools['source'];

interface Candidate {
  path: string;
  source: Source;
}

/**
 * Find an ffmpeg with the encoders dhp needs and an ffprobe that runs.
 * Order: configured paths, then PATH, then the binaries npm installed. A
 * configured binary that does not work is an error rather than a silent
 * fallback: the operator asked for that one.
 */
export async function locateMediaTools(
  opts: { ffmpegPath?: string; ffprobePath?: string } = {},
): Promise<MediaTools> {
  const ffmpeg = await locateFfmpeg(opts.ffmpegPath);
  // An ffprobe next to a configured ffmpeg most likely belongs with it.
  const sibling = opts.ffmpegPath && !opts.ffprobePath
    ? path.join(path.dirname(opts.ffmpegPath), 'ffprobe')
    : undefined;
  const ffprobe = await locateFfprobe(opts.ffprobePath, sibling);
  return { ffmpeg: ffmpeg.path, ffprobe, ffmpegVersion: ffmpeg.version, source: ffmpeg.source };
}

async function locateFfmpeg(configured: string | undefined): Promise<{ path: string; version: string; source: Source }> {
  if (configured) {
    const problem = await ffmpegProblem(configured);
    if (typeof problem === 'string') {
      throw new MediaToolsError(`the configured ffmpeg (DHP_FFMPEG_PATH) at ${configured} ${problem}; ${INSTALL_HINT}`);
    }
    return { path: configured, version: problem.version, source: 'configured' };
  }
  const tried: string[] = [];
  for (const candidate of await defaultCandidates('ffmpeg', '@ffmpeg-installer/ffmpeg')) {
    const result = await ffmpegProblem(candidate.path);
    if (typeof result !== 'string') return { path: candidate.path, version: result.version, source: candidate.source };
    tried.push(`${describeCandidate(candidate)} ${result}`);
  }
  throw new MediaToolsError(`no usable ffmpeg found (${tried.join('; ') || 'none on PATH and no npm binary'}); ${INSTALL_HINT}`);
}

async function locateFfprobe(configured: string | undefined, sibling: string | undefined): Promise<string> {
  if (configured) {
    const problem = await ffprobeProblem(configured);
    if (problem) {
      throw new MediaToolsError(`the configured ffprobe (DHP_FFPROBE_PATH) at ${configured} ${problem}; fix the path or install Debian's ffmpeg package, which includes ffprobe`);
    }
    return configured;
  }
  const candidates = await defaultCandidates('ffprobe', '@ffprobe-installer/ffprobe');
  if (sibling) candidates.unshift({ path: sibling, source: 'configured' });
  const tried: string[] = [];
  for (const candidate of candidates) {
    const problem = await ffprobeProblem(candidate.path);
    if (!problem) return candidate.path;
    tried.push(`${describeCandidate(candidate)} ${problem}`);
  }
  throw new MediaToolsError(`no usable ffprobe found (${tried.join('; ') || 'none on PATH and no npm binary'}); install Debian's ffmpeg package (it includes ffprobe) or set DHP_FFPROBE_PATH`);
}

function describeCandidate(candidate: Candidate): string {
  const where = { configured: 'the ffprobe next to DHP_FFMPEG_PATH', system: 'the one on PATH', npm: 'the npm-installed one' }[candidate.source];
  return `${where} (${candidate.path})`;
}

/** PATH first, then the npm installer package; missing ones are skipped. */
async function defaultCandidates(name: string, npmPackage: string): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const onPath = await findOnPath(name);
  if (onPath) out.push({ path: onPath, source: 'system' });
  const fromNpm = npmBinary(npmPackage);
  if (fromNpm) out.push({ path: fromNpm, source: 'npm' });
  return out;
}

async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      await access(file, fsConstants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** The binary path an @ffmpeg-installer/@ffprobe-installer package exports, or null if it cannot load here. */
function npmBinary(pkg: string): string | null {
  try {
    const mod = createRequire(import.meta.url)(pkg) as { path?: unknown };
    return typeof mod.path === 'string' ? mod.path : null;
  } catch {
    // Not installed, or no binary for this platform (the package throws a string).
    return null;
  }
}

/** What is wrong with an ffmpeg binary (a clause), or its version line when it is fine. */
async function ffmpegProblem(bin: string): Promise<string | { version: string }> {
  let versionOut: string;
  let encodersOut: string;
  try {
    versionOut = (await execTool(bin, ['-hide_banner', '-version'], { timeoutMs: CHECK_TIMEOUT_MS })).stdout.toString('utf8');
    encodersOut = (await execTool(bin, ['-hide_banner', '-encoders'], { timeoutMs: CHECK_TIMEOUT_MS })).stdout.toString('utf8');
  } catch (err) {
    return cannotRun(err);
  }
  const version = versionOut.split('\n')[0]?.trim() ?? '';
  if (!/^ffmpeg version /.test(version)) return 'is not ffmpeg (its -version output does not start with "ffmpeg version")';
  const have = parseEncoderNames(encodersOut);
  const missing = REQUIRED_ENCODERS.filter((name) => !have.has(name));
  if (missing.length > 0) {
    return `lacks the ${missing.join(', ')} encoder${missing.length > 1 ? 's' : ''}`;
  }
  return { version };
}

async function ffprobeProblem(bin: string): Promise<string | null> {
  try {
    const out = (await execTool(bin, ['-hide_banner', '-version'], { timeoutMs: CHECK_TIMEOUT_MS })).stdout.toString('utf8');
    return /^ffprobe version /.test(out) ? null : 'is not ffprobe (its -version output does not start with "ffprobe version")';
  } catch (err) {
    return cannotRun(err);
  }
}

function cannotRun(err: unknown): string {
  const code = (err as { spawnCode?: string }).spawnCode;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES') return 'is not executable';
  return `does not run (${(err as Error).message})`;
}

/** Encoder names from `ffmpeg -encoders` lines such as " V....D libx264   libx264 H.264 ...". */
export function parseEncoderNames(output: string): Set<string> {
  const names = new Set<string>();
  for (const line of output.split('\n')) {
    const m = /^\s*[VAS][A-Z.]{5}\s+(\S+)/.exec(line);
    if (m && m[1] !== '=') names.add(m[1]);
  }
  return names;
}

// ---------------------------------------------------------------------------
// Running a binary
// ---------------------------------------------------------------------------

interface ExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Keep stdout (ffprobe JSON, piped JPEGs); otherwise it is discarded. */
  captureStdout?: boolean;
  /** Kill the process once it has printed more than this to stdout: whatever it prints is held in memory. */
  maxStdoutBytes?: number;
}

interface ExecResult {
  stdout: Buffer;
  stderr: string;
}

const STDERR_TAIL_LINES = 20;
/** Enough for 20 long lines; older stderr is dropped as it streams in. */
const STDERR_KEEP_CHARS = 16 * 1024;

/**
 * Spawn `bin args`, collect output and settle once the process has exited
 * (so files it wrote are closed). A timeout or abort kills it with SIGKILL:
 * a half-written output is discarded anyway, so there is nothing to finalize.
 */
function execTool(bin: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const name = path.basename(bin);
  return new Promise<ExecResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new FfmpegError(`${name} was aborted before it started`, ''));
      return;
    }
    const child = spawn(bin, args, { stdio: ['ignore', opts.captureStdout === false ? 'ignore' : 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let killedFor: string | null = null;
    let spawnError: NodeJS.ErrnoException | null = null;

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (opts.maxStdoutBytes !== undefined && stdoutBytes > opts.maxStdoutBytes) {
        kill(`printed more than ${opts.maxStdoutBytes} bytes`);
        return;
      }
      stdout.push(chunk);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_CHARS);
    });

    const kill = (why: string) => {
      if (killedFor) return;
      killedFor = why;
      child.kill('SIGKILL');
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => kill(`did not finish within ${Math.round(opts.timeoutMs! / 1000)} s`), opts.timeoutMs)
      : null;
    const onAbort = () => kill('was aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err; // 'close' still follows and settles the promise
    });
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const tail = lastLines(stderr, STDERR_TAIL_LINES);
      if (spawnError) {
        const err = new FfmpegError(`could not start ${bin}: ${spawnError.code ?? spawnError.message}`, tail);
        Object.assign(err, { spawnCode: spawnError.code });
        reject(err);
      } else if (killedFor) {
        reject(new FfmpegError(`${name} ${killedFor}`, tail));
      } else if (code !== 0) {
        reject(new FfmpegError(`${name} ${sig ? `was killed by ${sig}` : `exited with code ${code}`}`, tail));
      } else {
        resolve({ stdout: Buffer.concat(stdout), stderr });
      }
    });
  });
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/** A path ffmpeg reads as a plain file, whatever characters it holds (no "proto:" or leading "-" surprises). */
export function fileArg(file: string): string {
  return `file:${path.resolve(file)}`;
}

/** Default for runFfmpeg: long enough for a long training video on a small machine, short enough to free a stuck worker. */
const DEFAULT_FFMPEG_TIMEOUT_MS = 30 * 60_000;

/**
 * Run ffmpeg quietly (errors only on stderr, no stdin, overwrite outputs).
 * Throws FfmpegError on a non-zero exit, timeout or abort.
 */
export async function runFfmpeg(
  tools: MediaTools,
  args: string[],
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  await execTool(tools.ffmpeg, ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error', ...args], {
    timeoutMs: opts.timeoutMs ?? DEFAULT_FFMPEG_TIMEOUT_MS,
    signal: opts.signal,
    captureStdout: false,
  });
}

/** Run ffmpeg and return what it wrote to stdout (`pipe:1`), e.g. a JPEG. */
async function ffmpegToBuffer(tools: MediaTools, args: string[], timeoutMs: number): Promise<Buffer> {
  const { stdout } = await execTool(tools.ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], {
    timeoutMs,
    captureStdout: true,
  });
  return stdout;
}

const PROBE_TIMEOUT_MS = 30_000;
/** ffprobe's answer is parsed on the main thread; the fields probe asks for fit in a few KB. */
const PROBE_MAX_OUTPUT_BYTES = 1024 * 1024;

/** Run ffprobe quietly and parse its JSON output (at most PROBE_MAX_OUTPUT_BYTES of it). */
export async function ffprobeJson(tools: MediaTools, args: string[], timeoutMs = PROBE_TIMEOUT_MS): Promise<unknown> {
  const { stdout } = await runFfprobe(tools, args, timeoutMs);
  return JSON.parse(stdout.toString('utf8'));
}

function runFfprobe(tools: MediaTools, args: string[], timeoutMs: number): Promise<ExecResult> {
  return probeSlots.use(() => execTool(tools.ffprobe, ['-hide_banner', '-v', 'error', '-print_format', 'json', ...args], {
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

// ---------------------------------------------------------------------------
// Tenant input: what ffmpeg may do with a file someone else chose
// ---------------------------------------------------------------------------

/**
 * The containers dhp accepts (demuxer names; "mov" covers mp4/m4a/3gp,
 * "matroska" covers webm). Everything else is refused before it is opened:
 * playlists (hls), concat lists, and the text, subtitle and network demuxers
 * that read other files or render text as video. An hls playlist naming a
 * server-local file would otherwise put that file in the tenant's video.
 * image2 (a picture named .jpg/.png) reads numbered sequences only for names
 * with % or * in them, and dhp names every file it opens.
 */
export const ACCEPTED_FORMATS = ['mov', 'matroska', 'avi', 'wav', 'mp3', 'ogg', 'flac', 'aac', 'png_pipe', 'jpeg_pipe', 'webp_pipe', 'image2'];

/**
 * Largest picture a decoder will allocate (width × height): 4096 × 4096, the
 * training limit. A 1 MB PNG of 16000 × 16000 took ffprobe 1 GB without it.
 */
export const MAX_PIXELS = 4096 * 4096;

/**
 * Input options for a file a tenant chose: only the accepted containers, only
 * local files (no demuxer may open a URL or another protocol), no giant
 * pictures. Goes where `-i file` would.
 */
export function tenantInput(file: string): string[] {
  return [
    '-format_whitelist', ACCEPTED_FORMATS.join(','),
    '-protocol_whitelist', 'file',
    '-max_pixels', String(MAX_PIXELS),
    '-i', fileArg(file),
  ];
}

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
  let out: ExecResult;
  try {
    out = await runFfprobe(tools, ['-show_entries', PROBE_ENTRIES, ...tenantInput(file)], PROBE_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof FfmpegError && /Format \S+ is not on the whitelist|not on whitelist/i.test(err.stderrTail)) {
      throw new MediaProbeError(`the file is ${formatOf(err.stderrTail)}, not one of the accepted formats (MP4, MOV, WebM, AVI, WAV, MP3, Ogg, FLAC, AAC, PNG, JPEG, WebP)`);
    }
    if (err instanceof FfmpegError && /printed more than/.test(err.message)) {
      throw new MediaProbeError('the file describes itself at a length no media file needs');
    }
    if (err instanceof FfmpegError && /exited with code/.test(err.message)) {
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

const FRAME_TIMEOUT_MS = 60_000;

/**
 * `count` JPEG frames spread evenly over the video (at the middle of `count`
 * equal slices, so none falls on the very last timestamp where a seek can
 * find nothing). Frames come out upright: ffmpeg applies the rotation.
 */
export async function extractFrames(
  tools: MediaTools,
  file: string,
  opts: { count: number; width?: number },
): Promise<Buffer[]> {
  const info = await probe(tools, file);
  if (!info.video) throw new MediaProbeError('the file has no video stream');
  const seconds = info.durationMs / 1000;
  const frames: Buffer[] = [];
  for (let i = 0; i < opts.count; i++) {
    const at = (seconds * (i + 0.5)) / opts.count;
    let jpeg = await grabFrame(tools, file, at, opts.width);
    // Streams with odd timestamps can leave a seek empty-handed; the first
    // frame is a better sample than none.
    if (jpeg.length === 0) jpeg = await grabFrame(tools, file, 0, opts.width);
    if (jpeg.length === 0) throw new MediaProbeError('no picture could be decoded from the video');
    frames.push(jpeg);
  }
  return frames;
}

function grabFrame(tools: MediaTools, file: string, atSeconds: number, width: number | undefined): Promise<Buffer> {
  return ffmpegToBuffer(tools, [
    // -ss before -i seeks by index then decodes up to the exact time: fast and accurate.
    ...(atSeconds > 0 ? ['-ss', atSeconds.toFixed(3)] : []),
    ...tenantInput(file),
    '-map', '0:v:0', '-frames:v', '1',
    ...(width ? ['-vf', `scale=${width}:-2`] : []),
    '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '3',
    'pipe:1',
  ], FRAME_TIMEOUT_MS);
}

/** 16 kHz mono 16-bit WAV of the first audio track: what speech recognizers and analysers expect. */
export async function toWav16kMono(tools: MediaTools, input: string, output: string, maxSeconds?: number): Promise<void> {
  const info = await probe(tools, input);
  if (!info.audio) throw new MediaProbeError('the file has no sound track');
  await runFfmpeg(tools, [
    // A consent recording is a tenant's file: only the accepted containers, read from disk.
    ...tenantInput(input),
    '-map', '0:a:0', '-vn', '-sn', '-dn', '-map_metadata', '-1',
    // The probed duration can lie (or be missing): -t stops decoding at the cap regardless.
    ...(maxSeconds !== undefined ? ['-t', String(maxSeconds)] : []),
    '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le',
    '-f', 'wav', fileArg(output),
  ]);
}
