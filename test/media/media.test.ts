import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { grayFrames, meanDiff } from '../support/frames.js';
import { extractFrames, runFfmpeg, toWav16kMono } from '../../src/media/ffmpeg.js';
import { downloadToFile, MediaFetchError } from '../../src/net/fetch-media.js';
import { SafeHttp, type SafeHttpOptions } from '../../src/net/http.js';
import { buildSceneAssets, concatSegments, countFrames, type SceneAssets } from '../../src/media/scene-assets.js';
import { locateMediaTools, MediaToolsError, parseEncoderNames, type MediaTools } from '../../src/media/tools.js';
import { MediaProbeError, probe } from '../../src/media/probe.js';
import { ToolError } from '../../src/process/run-tool.js';

const exec = promisify(execFile);
const grayFramesOf = (file: string) => grayFrames(tools.ffmpeg, file);

let tools: MediaTools;
let dir: string;
/** Inputs generated once in before(). */
const media = {
  clip6: '', // 6 s 360x640 at 30 fps, with a sine track
  clip12: '', // 12 s 360x640 at 30 fps, silent
  rotated: '', // 640x360 stored, tagged to display rotated by 90°
  wav: '',
  mp3: '', // '' when this ffmpeg has no MP3 encoder
  html: '',
  text: '',
  corrupt: '',
};

/** Run ffmpeg for fixtures and checks; resolves with stderr (empty when all went well). */
async function ff(args: string[], bin = tools.ffmpeg): Promise<string> {
  const { stderr } = await exec(bin, ['-hide_banner', '-nostdin', '-y', '-v', 'error', ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stderr;
}

async function ffprobe(args: string[]): Promise<any> {
  const { stdout } = await exec(tools.ffprobe, ['-v', 'error', '-print_format', 'json', ...args], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout);
}


async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

async function makeFixtures(): Promise<void> {
  const at = (name: string) => path.join(dir, name);
  const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

  media.clip6 = at('clip6.mp4');
  await ff(['-f', 'lavfi', '-i', 'testsrc2=s=360x640:r=30:d=6', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=6',
    ...x264, '-c:a', 'aac', '-shortest', media.clip6]);
  media.clip12 = at('clip12.mp4');
  await ff(['-f', 'lavfi', '-i', 'testsrc2=s=360x640:r=30:d=12', ...x264, media.clip12]);

  // Phones store landscape frames plus a display rotation. Stream-copying with
  // a `rotate` tag writes that matrix with ffmpeg <= 5.1; newer ones spell it
  // -display_rotation, so try both.
  const landscape = at('landscape.mp4');
  await ff(['-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=30:d=2', ...x264, landscape]);
  media.rotated = at('rotated.mp4');
  try {
    await ff(['-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', media.rotated]);
    if ((await probe(tools, media.rotated)).video?.rotation === 0) throw new Error('rotate tag ignored');
  } catch {
    await ff(['-display_rotation', '90', '-i', landscape, '-c', 'copy', media.rotated]);
  }

  media.wav = at('tone.wav');
  await ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'pcm_s16le', '-ar', '44100', media.wav]);
  const { stdout: encoders } = await exec(tools.ffmpeg, ['-hide_banner', '-encoders']);
  if (parseEncoderNames(encoders).has('libmp3lame')) {
    media.mp3 = at('tone.mp3');
    await ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'libmp3lame', '-b:a', '64k', media.mp3]);
  }

  media.html = at('page.html');
  await writeFile(media.html, '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><p>Please sign in.</p></body></html>\n');
  // ffprobe renders .txt files as ANSI-art "video"; that must not count as media.
  media.text = at('notes.txt');
  await writeFile(media.text, `${'This is a plain text file, not a video.\n'.repeat(200)}`);
  // ffmpeg writes the index (moov) at the end, so the first half alone is unreadable.
  media.corrupt = at('corrupt.mp4');
  await copyFile(media.clip6, media.corrupt);
  await truncate(media.corrupt, Math.floor((await stat(media.clip6)).size / 2));
}

// ---------------------------------------------------------------------------
// A local server for downloads
// ---------------------------------------------------------------------------

let server: http.Server;
let base: string;
const BIG_BYTES = 3 * 1024 * 1024;

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  switch (req.url) {
    case '/clip.mp4':
      res.writeHead(200, { 'content-type': 'video/mp4' }).end(await readFile(media.clip6));
      return;
    case '/page.html':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(await readFile(media.html));
      return;
    case '/big':
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BIG_BYTES) }).end(Buffer.alloc(BIG_BYTES));
      return;
    case '/big-streamed': {
      // No content-length: the size cap has to trip while the body streams in.
      res.writeHead(200, { 'content-type': 'video/mp4' });
      for (let i = 0; i < 48 && !res.destroyed; i++) {
        res.write(Buffer.alloc(64 * 1024));
        await new Promise((r) => setTimeout(r, 2));
      }
      res.end();
      return;
    }
    case '/hang':
      res.writeHead(200, { 'content-type': 'video/mp4' });
      res.write(Buffer.alloc(1024)); // ...and never finish
      return;
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

function safeHttp(allowPrivate: boolean): SafeHttp {
  const opts: SafeHttpOptions = { allowPrivate, timeoutMs: 10_000, maxResponseBytes: 1024 * 1024, maxRedirects: 3, userAgent: 'dhp-test' };
  return new SafeHttp(opts);
}

before(async () => {
  tools = await locateMediaTools();
  dir = await mkdtemp(path.join(tmpdir(), 'dhp-media-'));
  await makeFixtures();
  server = http.createServer((req, res) => {
    handle(req, res).catch((err) => res.destroy(err as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe('locateMediaTools', () => {
  it('prefers the ffmpeg on PATH and checks its encoders', async () => {
    const { stdout } = await exec('sh', ['-c', 'command -v ffmpeg || true']);
    const onPath = stdout.trim();
    if (!onPath) return; // nothing on PATH here: the npm binary is the right answer, covered below
    assert.equal(tools.source, 'system');
    assert.equal(tools.ffmpeg, onPath);
    assert.match(tools.ffmpegVersion, /^ffmpeg version /);
  });

  it('refuses a configured path that does not exist, with a sentence an operator can act on', async () => {
    await assert.rejects(locateMediaTools({ ffmpegPath: '/nonexistent/bin/ffmpeg' }), (err: Error) => {
      assert.ok(err instanceof MediaToolsError);
      assert.match(err.message, /DHP_FFMPEG_PATH/);
      assert.match(err.message, /\/nonexistent\/bin\/ffmpeg does not exist/);
      assert.match(err.message, /install Debian's ffmpeg/);
      return true;
    });
  });

  it('names missing encoders, and falls back to npm when the PATH ffmpeg lacks them', async () => {
    // A stand-in ffmpeg that answers -version but has no libx264.
    const fakeDir = path.join(dir, 'fake-bin');
    await mkdir(fakeDir, { recursive: true });
    const fake = path.join(fakeDir, 'ffmpeg');
    await writeFile(fake, [
      '#!/bin/sh',
      'case "$*" in',
      '  *-version*) echo "ffmpeg version 0.0-fake" ;;',
      '  *-encoders*) printf " V..... mjpeg   MJPEG\\n A..... aac     AAC\\n" ;;',
      'esac',
      '',
    ].join('\n'));
    await chmod(fake, 0o755);

    await assert.rejects(locateMediaTools({ ffmpegPath: fake }), (err: Error) => {
      assert.ok(err instanceof MediaToolsError);
      assert.match(err.message, /lacks the libx264 encoder/);
      return true;
    });

    const savedPath = process.env.PATH;
    process.env.PATH = `${fakeDir}${path.delimiter}${savedPath}`;
    try {
      const found = await locateMediaTools();
      assert.equal(found.source, 'npm');
      assert.notEqual(found.ffmpeg, fake);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe('probe', () => {
  it('reads an MP4 video with sound', async () => {
    const p = await probe(tools, media.clip6);
    assert.match(p.formatName, /mp4/);
    assert.ok(Math.abs(p.durationMs - 6000) <= 100, `duration ${p.durationMs}`);
    assert.ok(p.sizeBytes > 0);
    assert.ok(p.bitRate && p.bitRate > 0);
    assert.deepEqual(p.video, { codec: 'h264', width: 360, height: 640, rotation: 0, fps: 30, pixFmt: 'yuv420p' });
    assert.equal(p.audio?.codec, 'aac');
    assert.equal(p.audio?.channels, 1);
  });

  it('reads WAV and MP3 audio', async () => {
    const wav = await probe(tools, media.wav);
    assert.equal(wav.formatName, 'wav');
    assert.equal(wav.video, null);
    assert.deepEqual(wav.audio, { codec: 'pcm_s16le', sampleRate: 44100, channels: 1 });
    assert.ok(Math.abs(wav.durationMs - 2000) <= 50);

    if (!media.mp3) return; // this ffmpeg cannot encode MP3, so there is no fixture to read
    const mp3 = await probe(tools, media.mp3);
    assert.equal(mp3.formatName, 'mp3');
    assert.equal(mp3.audio?.codec, 'mp3');
    assert.equal(mp3.video, null);
    assert.ok(Math.abs(mp3.durationMs - 2000) <= 100, `duration ${mp3.durationMs}`);
  });

  it('reports display dimensions and the rotation of a rotated video', async () => {
    const p = await probe(tools, media.rotated);
    assert.equal(p.video?.width, 360);
    assert.equal(p.video?.height, 640);
    assert.ok([90, -90].includes(p.video?.rotation ?? 0), `rotation ${p.video?.rotation}`);
  });

  for (const kind of ['html', 'text', 'corrupt'] as const) {
    it(`rejects a ${kind} file with MediaProbeError`, async () => {
      await assert.rejects(probe(tools, media[kind]), MediaProbeError);
    });
  }
});

describe('downloadToFile', () => {
  it('streams a file to disk', async () => {
    const dest = path.join(dir, 'dl', 'ok.mp4');
    const result = await downloadToFile(safeHttp(true), `${base}/clip.mp4`, dest, { field: 'videoUrl', maxBytes: 10 * 1024 * 1024, timeoutMs: 10_000 });
    assert.deepEqual(await readFile(dest), await readFile(media.clip6));
    assert.equal(result.bytes, (await stat(media.clip6)).size);
    assert.equal(result.contentType, 'video/mp4');
    assert.equal(await exists(`${dest}.part`), false);
  });

  it('turns a 404 into a sentence naming the field, leaving no file', async () => {
    const dest = path.join(dir, 'dl', 'missing.mp4');
    await assert.rejects(
      downloadToFile(safeHttp(true), `${base}/nothing-here.mp4`, dest, { field: 'videoUrl', maxBytes: 1024 * 1024, timeoutMs: 10_000 }),
      (err: Error) => err instanceof MediaFetchError && /^videoUrl answered HTTP 404; make sure the URL is reachable$/.test(err.message),
    );
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);
  });

  it('downloads an HTML page too; probing is what rejects it', async () => {
    const dest = path.join(dir, 'dl', 'page');
    const result = await downloadToFile(safeHttp(true), `${base}/page.html`, dest, { field: 'videoUrl', maxBytes: 1024 * 1024, timeoutMs: 10_000 });
    assert.match(result.contentType ?? '', /^text\/html/);
    await assert.rejects(probe(tools, dest), MediaProbeError);
  });

  for (const route of ['/big', '/big-streamed']) {
    it(`refuses a body over maxBytes (${route}) and removes the partial file`, async () => {
      const dest = path.join(dir, 'dl', `big${route.replace('/', '-')}.mp4`);
      await assert.rejects(
        downloadToFile(safeHttp(true), `${base}${route}`, dest, { field: 'audioUrl', maxBytes: 1024 * 1024, timeoutMs: 10_000 }),
        (err: Error) => err instanceof MediaFetchError && err.message === 'audioUrl is larger than the 1 MB limit',
      );
      assert.equal(await exists(dest), false);
      assert.equal(await exists(`${dest}.part`), false);
    });
  }

  it('gives up on a download that does not finish in time', async () => {
    const dest = path.join(dir, 'dl', 'slow.mp4');
    await assert.rejects(
      downloadToFile(safeHttp(true), `${base}/hang`, dest, { field: 'videoUrl', maxBytes: 1024 * 1024, timeoutMs: 300 }),
      (err: Error) => err instanceof MediaFetchError && /^videoUrl did not finish downloading within 0\.3 s/.test(err.message),
    );
    assert.equal(await exists(`${dest}.part`), false);
  });

  it('refuses private addresses unless the operator allows them', async () => {
    const dest = path.join(dir, 'dl', 'private.mp4');
    await assert.rejects(
      downloadToFile(safeHttp(false), `${base}/clip.mp4`, dest, { field: 'videoUrl', maxBytes: 1024 * 1024, timeoutMs: 10_000 }),
      (err: Error) => {
        assert.ok(err instanceof MediaFetchError);
        assert.match(err.message, /^videoUrl points to a private address \(127\.0\.0\.1\); dhp only downloads from public addresses$/);
        return true;
      },
    );
    assert.equal(await exists(dest), false);
  });
});

describe('runFfmpeg', () => {
  it('keeps the end of stderr when ffmpeg fails', async () => {
    await assert.rejects(runFfmpeg(tools, ['-i', path.join(dir, 'no-such-input.mp4'), '-f', 'null', '-']), (err: Error) => {
      assert.ok(err instanceof ToolError);
      assert.match(err.message, /exited with code/);
      assert.match(err.stderrTail, /no-such-input\.mp4/);
      return true;
    });
  });

  it('kills ffmpeg on timeout and on abort', async () => {
    const endless = ['-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=5', '-f', 'null', '-'];
    await assert.rejects(runFfmpeg(tools, endless, { timeoutMs: 300 }), /did not finish within/);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(runFfmpeg(tools, endless, { signal: controller.signal }), /was aborted/);
  });
});

describe('frames and audio', () => {
  it('extracts JPEG frames spread over the video', async () => {
    const frames = await extractFrames(tools, media.clip6, { count: 4, width: 180 });
    assert.equal(frames.length, 4);
    for (const jpeg of frames) assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    // Spread over time: testsrc2 moves, so no two samples are the same picture.
    assert.equal(new Set(frames.map((f) => f.toString('base64'))).size, 4);
    const one = path.join(dir, 'frame.jpg');
    await writeFile(one, frames[0]);
    const p = await probe(tools, one);
    assert.equal(p.video?.width, 180);
    assert.equal(p.video?.height, 320);
  });

  it('converts the sound track to 16 kHz mono WAV', async () => {
    const out = path.join(dir, 'speech.wav');
    await toWav16kMono(tools, media.clip6, out);
    const p = await probe(tools, out);
    assert.deepEqual(p.audio, { codec: 'pcm_s16le', sampleRate: 16000, channels: 1 });
    assert.equal(p.video, null);
    await assert.rejects(toWav16kMono(tools, media.clip12, path.join(dir, 'none.wav')), MediaProbeError);
  });
});

describe('buildSceneAssets', () => {
  let scene: SceneAssets;
  const sceneDir = () => path.join(dir, 'scene');

  before(async () => {
    scene = await buildSceneAssets(tools, media.clip6, sceneDir(), { compress: false });
  });

  it('encodes forward and reverse as 25 fps yuv420p H.264 without sound, with equal frame counts', async () => {
    assert.equal(scene.resolution, '360x640');
    assert.equal(scene.width, 360);
    assert.equal(scene.height, 640);
    assert.equal(scene.fps, 25);
    assert.equal(scene.frames, 150);
    assert.equal(scene.durationMs, 6000);
    assert.equal(scene.forward, path.join(sceneDir(), 'forward.mp4'));

    const streams = [];
    for (const file of [scene.forward, scene.reverse]) {
      const p = await probe(tools, file);
      assert.equal(p.audio, null, 'no sound track');
      assert.deepEqual(p.video, { codec: 'h264', width: 360, height: 640, rotation: 0, fps: 25, pixFmt: 'yuv420p' });
      const info = await ffprobe(['-select_streams', 'v:0', '-count_frames', '-show_data_hash', 'md5',
        '-show_entries', 'stream=nb_read_frames,extradata_hash,profile,level,time_base,r_frame_rate', file]);
      streams.push(info.streams[0]);
      assert.equal(Number(info.streams[0].nb_read_frames), scene.frames);
    }
    // Same SPS/PPS is what lets the concat demuxer join them by stream copy.
    assert.deepEqual(streams[0], streams[1]);
  });

  it('makes a JPEG cover of the first frame at the scene size', async () => {
    const p = await probe(tools, scene.cover);
    assert.match(p.formatName, /image2|jpeg_pipe/);
    assert.equal(p.video?.codec, 'mjpeg');
    assert.equal(p.video?.width, 360);
    assert.equal(p.video?.height, 640);
    const [cover] = await grayFramesOf(scene.cover);
    const [first] = await grayFramesOf(scene.forward);
    assert.ok(meanDiff(cover, first) < 2);
  });

  it('plays the forward clip backwards, frame for frame', async () => {
    const forward = await grayFramesOf(scene.forward);
    const reverse = await grayFramesOf(scene.reverse);
    const n = forward.length;
    assert.equal(reverse.length, n);
    // The join forward→reverse must be seamless...
    assert.ok(meanDiff(reverse[0], forward[n - 1]) < 1.5);
    // ...and that is not because all frames look alike.
    assert.ok(meanDiff(reverse[0], forward[0]) > 3 * meanDiff(reverse[0], forward[n - 1]) + 1);
  });

  it('joins forward and reverse by stream copy into one clean video', async () => {
    const joined = path.join(dir, 'joined.mp4');
    await concatSegments(tools, [scene.forward, scene.reverse, scene.forward, scene.reverse], joined);
    const p = await probe(tools, joined);
    const frameMs = 1000 / scene.fps;
    assert.ok(Math.abs(p.durationMs - 4 * scene.durationMs) <= 4 * frameMs, `duration ${p.durationMs}`);
    const info = await ffprobe(['-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', joined]);
    assert.equal(Number(info.streams[0].nb_read_frames), 4 * scene.frames);
    assert.equal(await ff(['-i', joined, '-f', 'null', '-']), '', 'decoding the joined video reports no errors');
  });

  it('quotes segment paths safely in the concat list', async () => {
    const odd = path.join(dir, "it's a clip; $HOME.mp4");
    await copyFile(scene.forward, odd);
    const joined = path.join(dir, 'joined-odd.mp4');
    await concatSegments(tools, [odd, scene.reverse], joined);
    assert.equal(await countFrames(tools, joined), 2 * scene.frames);
  });

  it('keeps a rotated video upright: portrait stays portrait', async () => {
    const s = await buildSceneAssets(tools, media.rotated, path.join(dir, 'scene-rotated'), { compress: true });
    assert.equal(s.resolution, '360x640');
    assert.equal(s.frames, 50);
    const p = await probe(tools, s.forward);
    assert.equal(p.video?.width, 360);
    assert.equal(p.video?.height, 640);
    assert.equal(p.video?.rotation, 0);
  });

  it('reverses long clips in pieces and still mirrors every frame', async () => {
    const outDir = path.join(dir, 'scene-long');
    // 1.8 s pieces = 45 frames: 300 frames make 6 full pieces and a last one of 30.
    const s = await buildSceneAssets(tools, media.clip12, outDir, { compress: false, reverseChunkSeconds: 1.8 });
    assert.equal(s.frames, 300);
    assert.equal(await countFrames(tools, s.reverse), 300);
    assert.deepEqual((await readdir(outDir)).sort(), ['cover.jpg', 'forward.mp4', 'reverse.mp4'], 'no scratch files left');

    // Each piece starts with its own IDR frame; the first piece of reverse.mp4
    // is the 30-frame tail, so a keyframe at 30 shows the pieces were joined.
    const packets = await ffprobe(['-select_streams', 'v:0', '-show_entries', 'packet=flags', s.reverse]);
    const keyframes = (packets.packets as Array<{ flags: string }>).flatMap((pkt, i) => (pkt.flags.startsWith('K') ? [i] : []));
    assert.ok(keyframes.includes(30), `keyframes at ${keyframes.join(',')}`);

    const forward = await grayFramesOf(s.forward);
    const reverse = await grayFramesOf(s.reverse);
    for (let i = 0; i < 300; i++) {
      const mirrored = meanDiff(reverse[i], forward[299 - i]);
      assert.ok(mirrored < 1.5, `reverse frame ${i} differs from forward frame ${299 - i} by ${mirrored}`);
    }
  });
});
