// Video synthesis benchmark (not part of the test suite): `node --import tsx bench/video.ts`.
//
// Times composeVideo (pn 1: the ping-pong timeline joined by stream copy, speech to AAC) on a
// 1080x1920 scene against a baseline measured in the same run: ONE ffmpeg pass that decodes the
// very same timeline (the same concat demuxer script: forward, reverse, ... and the outpoint that
// cuts the last piece) and re-encodes it with the scene's x264 settings, plus the same AAC. That is
// what composing would cost without stream copy. Goals: compose ≥ 10× faster than the baseline and
// ≥ 30× real time.
//
// The speech is real: espeak (the embedded TTS) reading English, cut to BENCH_SPEECH_SECONDS.
// Its content matters, as AAC encoding is most of compose's work: ffmpeg's AAC encoder needs
// about 4× more CPU for speech than for noise.
//
// The scene is built once and cached in /tmp under a name made of its parameters (building it
// takes about as long as the clip lasts at this size), so reruns start measuring at once.
//
// Settings (environment):
//   BENCH_CLIP_SECONDS=10     length of the training clip (testsrc2, 1080x1920, 25 fps)
//   BENCH_SPEECH_SECONDS=60   length of the speech WAV
//   BENCH_COMPOSE_RUNS=3      measured compose runs (after one warm-up); the median is reported
//   BENCH_BASELINE=0          skip the (slow) baseline

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { composeVideo, planTimeline, type SceneClip } from '../src/media/compose.js';
import { EspeakEngine } from '../src/engines/tts/espeak.js';
import { buildSceneAssets, countFrames, type SceneAssets } from '../src/media/scene-assets.js';
import { envInt } from './env.js';
import { locateMediaTools, type MediaTools } from '../src/media/tools.js';

const exec = promisify(execFile);


const WIDTH = 1080;
const HEIGHT = 1920;
const FPS = 25;
const CLIP_SECONDS = envInt('BENCH_CLIP_SECONDS', 10);
const SPEECH_SECONDS = envInt('BENCH_SPEECH_SECONDS', 60);
const COMPOSE_RUNS = envInt('BENCH_COMPOSE_RUNS', 3);
const WITH_BASELINE = process.env.BENCH_BASELINE !== '0';
/** scene-assets' settings for compress: false (its encoderArgs is private; kept in step by hand). */
const SCENE_X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
  '-g', String(FPS), '-keyint_min', String(FPS), '-sc_threshold', '0', '-bf', '0', '-flags', '+cgop'];

const CACHE = path.join(tmpdir(), `dhp-bench-video-${WIDTH}x${HEIGHT}-${FPS}fps-${CLIP_SECONDS}s-crf20`);

async function ff(tools: MediaTools, args: string[]): Promise<void> {
  await exec(tools.ffmpeg, ['-hide_banner', '-nostdin', '-y', '-v', 'error', ...args], { maxBuffer: 16 * 1024 * 1024 });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

/** The scene from the cache, or built now (and cached; scene.json is written last, so a half-built cache is rebuilt). */
async function cachedScene(tools: MediaTools): Promise<SceneAssets> {
  const manifest = path.join(CACHE, 'scene.json');
  if (existsSync(manifest)) {
    const scene = JSON.parse(await readFile(manifest, 'utf8')) as SceneAssets;
    if (existsSync(scene.forward) && existsSync(scene.reverse)) {
      console.log(`scene: cached in ${CACHE}`);
      return scene;
    }
  }
  await rm(CACHE, { recursive: true, force: true });
  await mkdir(CACHE, { recursive: true });
  const source = path.join(CACHE, 'training.mp4');
  // A near-lossless source, so the scene build is what a real upload would cost.
  await ff(tools, ['-f', 'lavfi', '-i', `testsrc2=s=${WIDTH}x${HEIGHT}:r=${FPS}:d=${CLIP_SECONDS}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '10', '-pix_fmt', 'yuv420p', source]);
  const built = await timed(() => buildSceneAssets(tools, source, path.join(CACHE, 'scene'), { compress: false, fps: FPS }));
  console.log(`scene: built in ${built.seconds.toFixed(1)} s (${CLIP_SECONDS} s of ${WIDTH}x${HEIGHT}), cached in ${CACHE}`);
  await writeFile(manifest, JSON.stringify(built.value), 'utf8');
  return built.value;
}

/** SPEECH_SECONDS of espeak speech (22050 Hz mono 16-bit WAV), cached beside the scene. */
async function cachedSpeech(tools: MediaTools): Promise<string> {
  const wav = path.join(CACHE, `speech-${SPEECH_SECONDS}s.wav`);
  if (existsSync(wav)) return wav;
  const engine = new EspeakEngine({ threads: 1 });
  try {
    const sentence = 'The quick brown fox jumps over the lazy dog. My voice is calm and clear, and I speak at an even pace. ';
    const r = await engine.synthesize(sentence.repeat(Math.ceil(SPEECH_SECONDS / 5)), { engine: 'espeak', voice: 'en-us+m3' });
    const raw = path.join(CACHE, 'speech-raw.wav');
    await writeFile(raw, r.wav);
    await ff(tools, ['-i', raw, '-t', String(SPEECH_SECONDS), '-c:a', 'pcm_s16le', `${wav}.tmp.wav`]);
    await rm(raw);
    await rename(`${wav}.tmp.wav`, wav);
  } finally {
    await engine.close();
  }
  return wav;
}

/** The concat script composeVideo writes for pn 1 (paths here are plain, so simple quoting does). */
function pingPongList(clip: SceneClip, totalFrames: number): string {
  return planTimeline(clip.frames, totalFrames, 1).map((p) => {
    const entry = `file '${clip[p.source]}'\n`;
    return p.frames < clip.frames ? `${entry}outpoint ${((p.frames - 0.5) / clip.fps).toFixed(6)}\n` : entry;
  }).join('');
}

/** The same timeline and sound in one decode + re-encode pass. */
async function baseline(tools: MediaTools, clip: SceneClip, wav: string, workDir: string): Promise<string> {
  const list = path.join(workDir, 'baseline.txt');
  await writeFile(list, pingPongList(clip, Math.ceil(SPEECH_SECONDS * clip.fps)), 'utf8');
  const output = path.join(workDir, 'baseline.mp4');
  await ff(tools, ['-f', 'concat', '-safe', '0', '-i', list, '-i', wav, '-map', '0:v:0', '-map', '1:a:0',
    ...SCENE_X264, '-c:a', 'aac', '-aac_coder', 'fast', '-b:a', '128k', '-ar', '48000', '-movflags', '+faststart', output]);
  return output;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const tools = await locateMediaTools();
  console.log(`${tools.ffmpegVersion}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const scene = await cachedScene(tools);
  const workDir = await mkdtemp(path.join(tmpdir(), 'dhp-bench-video-run-'));
  try {
    const wav = await cachedSpeech(tools);

    const outDir = path.join(workDir, 'compose');
    await composeVideo(tools, scene, wav, outDir, { pn: 1 }); // warm-up: page cache, binaries
    const runs: number[] = [];
    let frames = 0;
    for (let i = 0; i < COMPOSE_RUNS; i++) {
      const r = await timed(() => composeVideo(tools, scene, wav, outDir, { pn: 1 }));
      runs.push(r.seconds);
      frames = r.value.frames;
    }
    const compose = median(runs);
    console.log(`compose (pn 1, ${SPEECH_SECONDS} s speech, ${frames} frames ${scene.resolution}): ${compose.toFixed(2)} s median of ${runs.map((s) => s.toFixed(2)).join(', ')}`);
    console.log(`  ${(SPEECH_SECONDS / compose).toFixed(0)}× real time (goal ≥ 30×)`);

    if (!WITH_BASELINE) return;
    const base = await timed(() => baseline(tools, scene, wav, workDir));
    const baseFrames = await countFrames(tools, base.value);
    if (baseFrames !== frames) throw new Error(`the baseline has ${baseFrames} frames, compose ${frames}: not the same work`);
    console.log(`baseline (one pass: concat demuxer over the same ping-pong timeline, decode, libx264 veryfast crf 20 + the same AAC): ${base.seconds.toFixed(1)} s`);
    console.log(`  ${(SPEECH_SECONDS / base.seconds).toFixed(2)}× real time`);
    console.log(`compose is ${(base.seconds / compose).toFixed(0)}× faster than the baseline (goal ≥ 10×)`);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
