/**
 * Finding usable ffmpeg and ffprobe binaries at boot: the configured ones, else the system's,
 * else the ones npm installs, each checked for the encoders dhp needs. A MediaToolsError is for
 * the operator: it says what to install or configure.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { findExecutable, runTool } from '../process/run-tool.js';

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
  const onPath = name.includes(path.sep) ? null : await findExecutable(name);
  if (onPath) out.push({ path: onPath, source: 'system' });
  const fromNpm = npmBinary(npmPackage);
  if (fromNpm) out.push({ path: fromNpm, source: 'npm' });
  return out;
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
    versionOut = (await runTool(bin, ['-hide_banner', '-version'], { timeoutMs: CHECK_TIMEOUT_MS })).stdout.toString('utf8');
    encodersOut = (await runTool(bin, ['-hide_banner', '-encoders'], { timeoutMs: CHECK_TIMEOUT_MS })).stdout.toString('utf8');
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
    const out = (await runTool(bin, ['-hide_banner', '-version'], { timeoutMs: CHECK_TIMEOUT_MS })).stdout.toString('utf8');
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
