import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { grayFrames, meanDiff } from '../support/frames.js';
import { composeVideo, planTimeline, type ComposeResult, type LoopDirection } from '../../src/media/compose.js';
import { buildSceneAssets, type SceneAssets } from '../../src/media/scene-assets.js';
import { locateMediaTools, type MediaTools } from '../../src/media/tools.js';
import { MediaProbeError } from '../../src/media/probe.js';

const exec = promisify(execFile);
const grayFramesOf = (file: string) => grayFrames(tools.ffmpeg, file);

let tools: MediaTools;
let dir: string;
let scene: SceneAssets;
/** Speech stand-ins, 22050 Hz mono 16-bit, measured against the 2 s (50 frame) clip. */
const speech = {
  short: { file: '', seconds: 1.3 }, // less than one clip: a single partial piece
  exact: { file: '', seconds: 4 }, // exactly two clips: no partial piece
  long: { file: '', seconds: 6.8 }, // 3.4 clips: three whole pieces and a partial one
};
type SpeechName = keyof typeof speech;

async function ff(args: string[]): Promise<string> {
  const { stderr } = await exec(tools.ffmpeg, ['-hide_banner', '-nostdin', '-y', '-v', 'error', ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stderr;
}

async function ffprobe(args: string[]): Promise<any> {
  const { stdout } = await exec(tools.ffprobe, ['-v', 'error', '-print_format', 'json', ...args]);
  return JSON.parse(stdout);
}

before(async () => {
  tools = await locateMediaTools();
  dir = await mkdtemp(path.join(tmpdir(), 'dhp-compose-'));
  // testsrc2 with a big white box sliding right: consecutive frames differ a
  // little, the first and the last frame a lot, so a jump is easy to measure.
  const source = path.join(dir, 'source.mp4');
  await ff([
    '-f', 'lavfi', '-i', 'testsrc2=s=360x640:r=25:d=2', '-f', 'lavfi', '-i', 'color=white:s=120x240:r=25',
    '-filter_complex', "[0][1]overlay=x='t*110':y=200:shortest=1", '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', source,
  ]);
  scene = await buildSceneAssets(tools, source, path.join(dir, 'scene'), { compress: false });
  for (const [name, s] of Object.entries(speech)) {
    s.file = path.join(dir, `${name}.wav`);
    await ff(['-f', 'lavfi', '-i', `anoisesrc=r=22050:a=0.1:d=${s.seconds}`, '-ac', '1', '-c:a', 'pcm_s16le', s.file]);
  }
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe('planTimeline', () => {
  it('pn 0 restarts the forward clip and ends on its first frames', () => {
    assert.deepEqual(planTimeline(50, 170, 0), [
      { source: 'forward', frames: 50 },
      { source: 'forward', frames: 50 },
      { source: 'forward', frames: 50 },
      { source: 'forward', frames: 20 },
    ]);
  });

  it('pn 1 alternates forward and reverse, the partial piece continuing the alternation', () => {
    assert.deepEqual(planTimeline(50, 170, 1), [
      { source: 'forward', frames: 50 },
      { source: 'reverse', frames: 50 },
      { source: 'forward', frames: 50 },
      { source: 'reverse', frames: 20 },
    ]);
    assert.deepEqual(planTimeline(50, 120, 1).map((p) => p.source), ['forward', 'reverse', 'forward']);
  });

  it('has no partial piece for an exact multiple, one for less than a clip, none for nothing', () => {
    assert.deepEqual(planTimeline(50, 100, 1), [{ source: 'forward', frames: 50 }, { source: 'reverse', frames: 50 }]);
    assert.deepEqual(planTimeline(50, 33, 0), [{ source: 'forward', frames: 33 }]);
    assert.deepEqual(planTimeline(50, 33, 1), [{ source: 'forward', frames: 33 }]);
    assert.deepEqual(planTimeline(50, 0, 1), []);
  });

  it('rejects counts that are not whole numbers and unknown directions', () => {
    assert.throws(() => planTimeline(0, 10, 0), RangeError);
    assert.throws(() => planTimeline(50, 10.5, 0), RangeError);
    assert.throws(() => planTimeline(50, -1, 0), RangeError);
    assert.throws(() => planTimeline(50, 10, 2 as LoopDirection), RangeError);
  });
});

// ---------------------------------------------------------------------------

describe('composeVideo', () => {
  const composed = new Map<string, ComposeResult>();
  const compose = async (name: SpeechName, pn: LoopDirection): Promise<ComposeResult> => {
    const key = `${name}-pn${pn}`;
    if (!composed.has(key)) composed.set(key, await composeVideo(tools, scene, speech[name].file, path.join(dir, key), { pn }));
    return composed.get(key)!;
  };

  for (const name of Object.keys(speech) as SpeechName[]) {
    for (const pn of [0, 1] as const) {
      it(`${name} speech (${speech[name].seconds} s), pn ${pn}: H.264 + AAC as long as the speech, moov first, decodes cleanly`, async () => {
        const r = await compose(name, pn);
        await assertPlayableVideo(r, speech[name].seconds);
        // Only the outputs are left behind: no concat list, no work directory.
        assert.deepEqual((await readdir(path.dirname(r.video))).sort(), ['cover.jpg', 'video.mp4']);
      });
    }
  }

  it('makes a JPEG cover of the first frame at the scene size', async () => {
    const r = await compose('short', 1);
    const info = await ffprobe(['-show_streams', '-show_format', r.cover]);
    assert.match(info.format.format_name, /image2|jpeg_pipe/);
    assert.equal(info.streams[0].codec_name, 'mjpeg');
    assert.equal(info.streams[0].width, scene.width);
    assert.equal(info.streams[0].height, scene.height);
    const [cover] = await grayFramesOf(r.cover);
    const [first] = await grayFramesOf(r.video);
    assert.ok(meanDiff(cover, first) < 2, 'the cover is the first frame');
  });

  it('pn 0 jumps back to the first frame at the loop point; pn 1 turns around without a jump', async () => {
    const clip = await grayFramesOf(scene.forward);
    const last = clip.length - 1;
    // How much one frame normally differs from the next in this clip.
    const step = median(clip.slice(1).map((f, i) => meanDiff(clip[i], f)));
    assert.ok(meanDiff(clip[0], clip[last]) > 8 * step, 'the fixture moves a lot over the clip');

    const forward = await grayFramesOf((await compose('long', 0)).video);
    const boundary = scene.frames; // first frame of the second piece
    assert.ok(meanDiff(forward[boundary], clip[0]) < 1, 'pn 0: the clip starts over');
    assert.ok(meanDiff(forward[boundary - 1], forward[boundary]) > 8 * step, 'pn 0: a visible jump');

    const pingPong = await grayFramesOf((await compose('long', 1)).video);
    assert.ok(meanDiff(pingPong[boundary], clip[last]) < 1, 'pn 1: the clip plays backwards from its last frame');
    assert.ok(meanDiff(pingPong[boundary + 1], clip[last - 1]) < 1, 'pn 1: ...and keeps going backwards');
    assert.ok(meanDiff(pingPong[boundary - 1], pingPong[boundary]) < step, 'pn 1: no jump');
    // At the second boundary it turns forward again.
    assert.ok(meanDiff(pingPong[2 * boundary], clip[0]) < 1);
  });

  it('fails on a speech file without sound and leaves nothing behind', async () => {
    const outDir = path.join(dir, 'silent');
    await assert.rejects(composeVideo(tools, scene, scene.forward, outDir, { pn: 1 }), MediaProbeError);
    assert.deepEqual(await readdir(outDir).catch(() => []), []);
  });

  it('stops when aborted and removes partial outputs and temporary files', async () => {
    const outDir = path.join(dir, 'aborted');
    await assert.rejects(composeVideo(tools, scene, speech.long.file, outDir, { pn: 1, signal: AbortSignal.abort() }), /aborted/);
    assert.deepEqual(await readdir(outDir), []);
  });
});

// ---------------------------------------------------------------------------

/** The checks every composed video must pass. */
async function assertPlayableVideo(r: ComposeResult, speechSeconds: number): Promise<void> {
  const info = await ffprobe(['-count_frames', '-show_entries', 'stream=codec_type,codec_name,width,height,nb_read_frames,duration', r.video]);
  const video = info.streams.find((s: any) => s.codec_type === 'video');
  const audio = info.streams.find((s: any) => s.codec_type === 'audio');
  assert.equal(info.streams.length, 2);
  assert.equal(video.codec_name, 'h264');
  assert.equal(audio.codec_name, 'aac');
  assert.equal(video.width, scene.width);
  assert.equal(video.height, scene.height);

  const expectedFrames = Math.ceil(speechSeconds * scene.fps - 1e-9);
  const frame = 1 / scene.fps;
  assert.equal(Number(video.nb_read_frames), expectedFrames);
  assert.equal(r.frames, expectedFrames);
  assert.equal(r.durationMs, Math.round((expectedFrames * 1000) / scene.fps));
  const videoSeconds = Number(video.nb_read_frames) / scene.fps;
  assert.ok(Math.abs(videoSeconds - speechSeconds) <= frame, `picture ${videoSeconds} s vs speech ${speechSeconds} s`);
  assert.ok(Math.abs(Number(audio.duration) - speechSeconds) <= frame, `sound ${audio.duration} s vs speech ${speechSeconds} s`);

  assert.deepEqual(await topLevelAtoms(r.video, ['moov', 'mdat']), ['moov', 'mdat'], 'faststart: moov before mdat');
  assert.equal(await ff(['-i', r.video, '-f', 'null', '-']), '', 'decodes without errors');
}

/** The order of the `wanted` top-level MP4 boxes, read from box headers only. */
async function topLevelAtoms(file: string, wanted: string[]): Promise<string[]> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const found: string[] = [];
    const header = Buffer.alloc(16);
    for (let at = 0; at + 8 <= size;) {
      await fh.read(header, 0, 16, at);
      const type = header.toString('latin1', 4, 8);
      let boxSize = header.readUInt32BE(0);
      if (boxSize === 1) boxSize = Number(header.readBigUInt64BE(8)); // 64-bit size follows the type
      if (boxSize === 0) boxSize = size - at; // runs to the end of the file
      if (boxSize < 8) throw new Error(`bad MP4 box "${type}" at ${at}`);
      if (wanted.includes(type)) found.push(type);
      at += boxSize;
    }
    return found;
  } finally {
    await fh.close();
  }
}


function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
