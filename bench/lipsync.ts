// Embedded lip-sync benchmark (not part of the test suite): `node --import tsx bench/lipsync.ts`.
//
// For each size (720x1280, then 1080x1920): a built-in avatar reads BENCH_CLIP_SECONDS of text
// (footage with real mouth motion), that video becomes a scene (scene-assets.ts) and is analysed
// into a mouth bank (bank.ts, timed: analysis time / clip length, goal <= 3). Then
// BENCH_SPEECH_SECONDS of other speech is made into a video the way the video service does it:
// the looped base timeline (compose.ts), the target track, unit selection, compositing and the
// H.264 + AAC encode, and a cover. That step runs in a child process so its peak RSS is the
// render's own (ffmpeg's decoder and encoder are processes of their own and not counted).
// Goals: >= 1.5x real time at 720x1280, >= 1x at 1080x1920, peak RSS < 500 MB at 1080x1920.
//
// Settings (environment):
//   BENCH_CLIP_SECONDS=30    training clip length
//   BENCH_SPEECH_SECONDS=60  speech length of the measured video
//   BENCH_SIZES=720x1280,1080x1920
//   BENCH_STRIP=FILE.png     also writes a picture of the first size: looped base frames (top) against
//                            the lip-synced frames (bottom), cropped to the lower face

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { renderAvatarVideo } from '../src/engines/avatar2d/render.js';
import { HumanFaceDetector } from '../src/engines/face/human.js';
import { analyseClip, type BankIndex } from '../src/engines/lipsync/bank.js';
import { renderEmbedded } from '../src/engines/lipsync/embedded.js';
import { targetFromPhonemes } from '../src/engines/mouth/target.js';
import { EspeakEngine } from '../src/engines/tts/espeak.js';
import type { PhonemeTiming } from '../src/engines/tts/engine.js';
import { composeVideo } from '../src/media/compose.js';
import { buildSceneAssets, writeCover } from '../src/media/scene-assets.js';
import { envInt } from './env.js';
import { locateMediaTools } from '../src/media/tools.js';

const exec = promisify(execFile);
const CLIP_SECONDS = envInt('BENCH_CLIP_SECONDS', 30);
const SPEECH_SECONDS = envInt('BENCH_SPEECH_SECONDS', 60);
const SIZES = (process.env.BENCH_SIZES ?? '720x1280,1080x1920').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const VOICE = { engine: 'espeak' as const, voice: 'en-us+f3', pitch: 55, rate: 165 };
const TRAINING_TEXT = 'Hello there. My name is Mira, and I like to talk about apples, oranges and blue moons. We saw a boat on the water, and the people on it waved at us. Every morning I walk to the market and buy fresh bread, cheese and some fruit. ';
const SPEECH_TEXT = 'The weather is lovely today, so we will go outside and play by the river. I hope you enjoy this video about my favourite books, songs and places to visit in the summer. ';

interface RenderJob { strip?: string; dir: string; index: string; bank: string | null; forward: string; reverse: string; frames: number; width: number; height: number; wav: string; phonemes: string; durationMs: number }

async function speak(tts: EspeakEngine, text: string, seconds: number, file: string): Promise<{ phonemes: PhonemeTiming[]; durationMs: number }> {
  let repeat = 1;
  for (;;) {
    const r = await tts.synthesize(text.repeat(repeat), VOICE);
    if (r.durationMs >= seconds * 1000 || repeat > 40) {
      await writeFile(file, r.wav);
      return { phonemes: r.phonemes, durationMs: r.durationMs };
    }
    repeat = Math.ceil((repeat * seconds * 1000) / r.durationMs);
  }
}

/** Child process: the video service's trained-scene path, timed, with its own peak RSS. */
async function renderChild(job: RenderJob): Promise<void> {
  const tools = await locateMediaTools();
  const index = JSON.parse(await readFile(job.index, 'utf8')) as BankIndex;
  const phonemes = JSON.parse(await readFile(job.phonemes, 'utf8')) as PhonemeTiming[];
  const start = process.hrtime.bigint();
  const cpu0 = cpuSeconds();
  const composed = await composeVideo(tools, { forward: job.forward, reverse: job.reverse, fps: 25, frames: job.frames, width: job.width, height: job.height }, job.wav, path.join(job.dir, 'compose'), { pn: 1 });
  const targets = targetFromPhonemes(phonemes, job.durationMs, 25);
  const output = path.join(job.dir, 'lipsync.mp4');
  const made = await renderEmbedded({ tools, index, bankVideo: job.bank, base: composed.video, frames: composed.frames, pn: 1, targets, audioWav: job.wav, output });
  await writeCover(tools, output, path.join(job.dir, 'cover.jpg'), undefined);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = cpuSeconds() - cpu0;
  if (job.strip) await strip(tools, index, composed.video, output, job.strip);
  process.stdout.write(JSON.stringify({
    seconds, cpu, maxRssMB: process.resourceUsage().maxRSS / 1024, mode: made.mode, changed: made.changedFrames, frames: composed.frames,
    selectS: made.selectMs / 1000, compositeS: made.compositeMs / 1000,
  }) + '\n');
}

/** CPU seconds of this process and of its finished children (ffmpeg), from /proc (Linux). */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // Fields 14-17 of stat (utime, stime, cutime, cstime) are at 11-14 after the command name.
  return fields.slice(11, 15).reduce((sum, v) => sum + Number(v), 0) / 100;
}

/** Every 6th frame of the first 48, base above output, cropped around the mouth of the first frame. */
async function strip(tools: Awaited<ReturnType<typeof locateMediaTools>>, index: BankIndex, base: string, output: string, file: string): Promise<void> {
  const f = index.frames.find((x) => x.points)!;
  const xs = f.points!.filter((_, i) => i % 2 === 0), ys = f.points!.filter((_, i) => i % 2 === 1);
  const w = 2 * Math.round((Math.max(...xs) - Math.min(...xs)) * 0.6), h = w;
  const x = Math.round((Math.min(...xs) + Math.max(...xs)) / 2 - w / 2), y = Math.round(Math.max(...ys) - 0.85 * h);
  const pick = `select='between(n\\,60\\,107)*not(mod(n\\,6))',crop=${w}:${h}:${x}:${y},scale=200:-2,tile=8x1`;
  await exec(tools.ffmpeg, ['-v', 'error', '-y', '-i', base, '-i', output, '-filter_complex', `[0:v]${pick}[a];[1:v]${pick}[b];[a][b]vstack`, '-frames:v', '1', file]);
}


async function main(): Promise<void> {
  if (process.argv[2] === 'render') return renderChild(JSON.parse(process.argv[3]) as RenderJob);
  const tools = await locateMediaTools();
  const tts = new EspeakEngine({ threads: 1 });
  const detector = new HumanFaceDetector();
  console.log(`load average at start: ${loadavg().map((v) => v.toFixed(2)).join(' ')} (2 cores, shared)`);
  const root = await mkdtemp(path.join(tmpdir(), 'dhp-bench-lipsync-'));
  try {
    const training = await speak(tts, TRAINING_TEXT, CLIP_SECONDS, path.join(root, 'training.wav'));
    const speech = await speak(tts, SPEECH_TEXT, SPEECH_SECONDS, path.join(root, 'speech.wav'));
    await writeFile(path.join(root, 'phonemes.json'), JSON.stringify(speech.phonemes));
    for (const [width, height] of SIZES) {
      const dir = path.join(root, `${width}x${height}`);
      await mkdir(dir, { recursive: true });
      const avatar = await renderAvatarVideo(tools.ffmpeg, { character: '-101', audioWav: path.join(root, 'training.wav'), phonemes: training.phonemes, durationMs: Math.min(training.durationMs, CLIP_SECONDS * 1000), width, height }, path.join(dir, 'avatar'));
      const assets = await buildSceneAssets(tools, avatar.video, path.join(dir, 'scene'), { compress: false });
      const t0 = process.hrtime.bigint();
      const cpu0 = cpuSeconds();
      const bank = await analyseClip({ tools, detector, clip: assets.forward, width: assets.width, height: assets.height, fps: assets.fps, frames: assets.frames, outDir: dir });
      const analysis = Number(process.hrtime.bigint() - t0) / 1e9;
      const analysisCpu = cpuSeconds() - cpu0;
      const job: RenderJob = {
        dir, index: bank.indexFile, bank: bank.video, forward: assets.forward, reverse: assets.reverse, frames: assets.frames,
        width: assets.width, height: assets.height, wav: path.join(root, 'speech.wav'), phonemes: path.join(root, 'phonemes.json'), durationMs: speech.durationMs,
        strip: width === SIZES[0][0] && process.env.BENCH_STRIP ? path.resolve(process.env.BENCH_STRIP) : undefined,
      };
      const { stdout } = await exec(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'render', JSON.stringify(job)], { maxBuffer: 1 << 20 });
      const r = JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; cpu: number; maxRssMB: number; mode: string; changed: number; frames: number; selectS: number; compositeS: number };
      const speechSeconds = speech.durationMs / 1000;
      console.log(`${width}x${height}: clip ${(assets.durationMs / 1000).toFixed(1)} s analysed in ${analysis.toFixed(1)} s (${(analysis / (assets.durationMs / 1000)).toFixed(2)}x clip length; `
        + `${bank.index.coverage.usableFrames}/${bank.index.coverage.frames} usable, coverage ${bank.index.coverage.coverage}); `
        + `${speechSeconds.toFixed(1)} s of speech rendered in ${r.seconds.toFixed(1)} s = ${(speechSeconds / r.seconds).toFixed(2)}x real time `
        + `(mode ${r.mode}, ${r.changed}/${r.frames} frames with a new mouth), render peak RSS ${r.maxRssMB.toFixed(0)} MB`);
      console.log(`  CPU: analysis ${analysisCpu.toFixed(1)} s (this process, its mesh thread and ffmpeg); render ${r.cpu.toFixed(1)} s = ${(r.cpu / speechSeconds).toFixed(2)} CPU-s per speech second `
        + `(wall time in unit selection + bank read ${r.selectS.toFixed(1)} s, in compositing ${r.compositeS.toFixed(1)} s)`);
    }
  } finally {
    await detector.close();
    await tts.close();
    await rm(root, { recursive: true, force: true });
    console.log(`load average at end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  }
}

await main();
