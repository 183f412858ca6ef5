import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CHARACTERS, findCharacter, mouthBox } from '../../src/engines/avatar2d/characters.js';
import { blinkTrack, renderAvatarVideo, renderCover } from '../../src/engines/avatar2d/render.js';
import { energyTrack } from '../../src/engines/mouth/audio.js';
import { phonemeToViseme, visemesFromEnergy, visemeTrack } from '../../src/engines/mouth/visemes.js';
import type { PhonemeTiming } from '../../src/engines/tts/engine.js';
import { EspeakEngine } from '../../src/engines/tts/espeak.js';
import { decodeWav, encodeWavPcm16 } from '../../src/media/wav.js';
import { type Box } from '../../src/engines/avatar2d/frame.js';

const require = createRequire(import.meta.url);
const FFMPEG = existsSync('/usr/bin/ffmpeg') ? '/usr/bin/ffmpeg' : (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
const FFPROBE = existsSync('/usr/bin/ffprobe') ? '/usr/bin/ffprobe' : (require('@ffprobe-installer/ffprobe') as { path: string }).path;

const FPS = 25;
const FRAME_MS = 1000 / FPS;
// Small frames keep the test quick; the drawing is resolution independent.
const WIDTH = 360;
const HEIGHT = 640;

// ---------------------------------------------------------------------------------------------
// helpers

interface Speech {
  wavFile: string;
  durationMs: number;
  phonemes: PhonemeTiming[];
  /** The 1 s pause between the two sentences, from the end of the first one's last phoneme. */
  gap: { startMs: number; endMs: number };
  /** Phoneme spans of the two sentences. */
  spoken: Array<{ startMs: number; endMs: number }>;
}

/** Two espeak sentences joined by 1 s of digital silence, the second's phonemes shifted to match. */
async function makeSpeech(dir: string): Promise<Speech> {
  const engine = new EspeakEngine({ threads: 1 });
  try {
    const voice = { engine: 'espeak', voice: 'en-us+f3' } as const;
    const first = await engine.synthesize('Hello, I am Mira.', voice);
    const second = await engine.synthesize('I read the news for you every day.', voice);
    const a = decodeWav(first.wav);
    const b = decodeWav(second.wav);
    const silence = new Int16Array(a.sampleRate);
    const samples = new Int16Array(a.samples.length + silence.length + b.samples.length);
    samples.set(a.samples, 0);
    samples.set(b.samples, a.samples.length + silence.length);
    const wavFile = path.join(dir, 'speech.wav');
    writeFileSync(wavFile, encodeWavPcm16(samples, a.sampleRate));

    const offset = first.durationMs + 1000;
    const shifted = second.phonemes.map((p) => ({ ...p, startMs: p.startMs + offset, endMs: p.endMs + offset }));
    const spanOf = (ps: PhonemeTiming[]) => ({ startMs: ps[0].startMs, endMs: ps[ps.length - 1].endMs });
    const spoken = [spanOf(first.phonemes), spanOf(shifted)];
    return {
      wavFile,
      durationMs: (samples.length * 1000) / a.sampleRate,
      phonemes: [...first.phonemes, ...shifted],
      gap: { startMs: spoken[0].endMs, endMs: spoken[1].startMs },
      spoken,
    };
  } finally {
    await engine.close();
  }
}

interface Probe {
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number; pix_fmt?: string; nb_frames?: string }>;
  format: { duration: string };
}

function probe(file: string): Probe {
  const out = execFileSync(FFPROBE, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], { encoding: 'utf8' });
  return JSON.parse(out) as Probe;
}

/**
 * Every frame of a video (or an image) as grey levels, WIDTH x HEIGHT bytes each. Decoded as RGB
 * so that limited-range video and full-range JPEG come out on the same scale.
 */
function greyFrames(file: string): Buffer[] {
  const rgb = execFileSync(FFMPEG, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 30 });
  const pixels = WIDTH * HEIGHT;
  const frames: Buffer[] = [];
  for (let offset = 0; offset + pixels * 3 <= rgb.length; offset += pixels * 3) {
    const grey = Buffer.alloc(pixels);
    for (let i = 0, p = offset; i < pixels; i++, p += 3) grey[i] = (54 * rgb[p] + 183 * rgb[p + 1] + 19 * rgb[p + 2]) >> 8;
    frames.push(grey);
  }
  return frames;
}

/** Mean absolute difference in grey levels between the box in `a`, moved by (dx, dy), and the box in `b`. */
function difference(a: Buffer, b: Buffer, box: Box, dx = 0, dy = 0): number {
  let sum = 0;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x; x < box.x + box.width; x++) sum += Math.abs(a[(y + dy) * WIDTH + x + dx] - b[y * WIDTH + x]);
  }
  return sum / (box.width * box.height);
}

/** The difference after lining the two up, allowing for the idle sway of a pixel or two. */
function alignedDifference(a: Buffer, b: Buffer, box: Box): number {
  let best = Infinity;
  for (let dy = -2; dy <= 2; dy++) {
    for (let dx = -2; dx <= 2; dx++) best = Math.min(best, difference(a, b, box, dx, dy));
  }
  return best;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function variance(values: number[]): number {
  const m = mean(values);
  return mean(values.map((v) => (v - m) ** 2));
}

/** Mean darkness (255 - grey) of the box: an open mouth is a dark hole on light skin. */
function darkness(frame: Buffer, box: Box): number {
  let sum = 0;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x; x < box.x + box.width; x++) sum += 255 - frame[y * WIDTH + x];
  }
  return sum / (box.width * box.height);
}

/** Frames whose whole span lies inside [fromMs, toMs]. */
function framesWithin(fromMs: number, toMs: number): number[] {
  const frames: number[] = [];
  for (let f = Math.ceil(fromMs / FRAME_MS); (f + 1) * FRAME_MS <= toMs; f++) frames.push(f);
  return frames;
}

/**
 * The lip-sync property: the mouth region changes from frame to frame while words are spoken and
 * stays still and closed in the pause. `settleMs` skips the start of the pause, where a
 * loudness-driven mouth is still closing. `neutral` is the REST frame (the cover).
 */
function assertMouthFollowsSpeech(frames: Buffer[], neutral: Buffer, box: Box, speech: Speech, settleMs: number): void {
  const speechFrames = speech.spoken.flatMap((s) => framesWithin(s.startMs, s.endMs)).filter((f) => f > 0);
  const pauseFrames = framesWithin(speech.gap.startMs + settleMs, speech.gap.endMs - 2 * FRAME_MS);
  assert.ok(speechFrames.length > 40 && pauseFrames.length > 15, `${speechFrames.length} speech / ${pauseFrames.length} pause frames`);

  // Frame-to-frame change: the idle sway moves the mouth a pixel now and then, speech all the time.
  const motion = (list: number[]) => mean(list.map((f) => difference(frames[f], frames[f - 1], box)));
  const speechMotion = motion(speechFrames);
  const pauseMotion = motion(pauseFrames);
  // Distance from the closed, neutral mouth.
  const pauseOpen = Math.max(...pauseFrames.map((f) => alignedDifference(frames[f], neutral, box)));
  const speechOpen = speechFrames.map((f) => alignedDifference(frames[f], neutral, box)).sort((a, b) => a - b);
  const speechOpenMedian = speechOpen[speechOpen.length >> 1];
  const detail = `mouth motion ${speechMotion.toFixed(2)} speaking vs ${pauseMotion.toFixed(2)} in the pause; ` +
    `distance from closed up to ${pauseOpen.toFixed(2)} in the pause, median ${speechOpenMedian.toFixed(2)} speaking`;
  assert.ok(speechMotion > 2, `the mouth barely moves while speaking (${detail})`);
  assert.ok(speechMotion > 8 * pauseMotion, `the mouth moves in the pause (${detail})`);
  // Sub-pixel sway and two different lossy codecs keep the pause a few grey levels from the cover.
  assert.ok(speechOpenMedian > 3 * pauseOpen, `the mouth is not closed in the pause (${detail})`);
}

// ---------------------------------------------------------------------------------------------
// visemes

describe('visemes', () => {
  test('espeak phonemes map to mouth shapes, ignoring stress and length marks', () => {
    assert.equal(phonemeToViseme('m'), 'MBP');
    assert.equal(phonemeToViseme('b'), 'MBP');
    assert.equal(phonemeToViseme('ˈɑː'), 'AA');
    assert.equal(phonemeToViseme('f'), 'FV');
    assert.equal(phonemeToViseme('v'), 'FV');
    assert.equal(phonemeToViseme('ˈiː'), 'EE');
    assert.equal(phonemeToViseme('ˈuː'), 'OO');
    assert.equal(phonemeToViseme('ˌoʊ'), 'OH');
    assert.equal(phonemeToViseme('s'), 'S');
    assert.equal(phonemeToViseme('l'), 'L');
    assert.equal(phonemeToViseme('θ'), 'L');
    assert.equal(phonemeToViseme('ˈaɪ'), 'AA');
    assert.equal(phonemeToViseme('əl'), 'AH');
    // Unknown symbols get a neutral, half-open mouth rather than an error.
    assert.equal(phonemeToViseme('ʕ'), 'AH');
    assert.equal(phonemeToViseme(''), 'REST');
  });

  test('one viseme per frame, REST in silence, and short lip closures are not dropped', () => {
    const phonemes: PhonemeTiming[] = [
      { phoneme: 'ˈɑː', startMs: 0, endMs: 200 },
      // 'p' is shorter than a frame and straddles a frame boundary.
      { phoneme: 'p', startMs: 200, endMs: 230 },
      { phoneme: 'ˈɑː', startMs: 230, endMs: 400 },
      { phoneme: 'f', startMs: 1000, endMs: 1080 },
    ];
    const track = visemeTrack(phonemes, 1200, 25);
    assert.equal(track.length, 30);
    assert.equal(track[0], 'AA');
    assert.ok(track.slice(4, 7).includes('MBP'), `no lip closure in ${track.slice(4, 7).join(',')}`);
    assert.deepEqual(track.slice(11, 25), new Array(14).fill('REST'));
    assert.ok(track.slice(25, 27).every((v) => v === 'FV'));
    assert.equal(track[29], 'REST');
  });

  test('loudness opens the mouth, and the noise gate keeps silence closed', () => {
    const rate = 16000;
    const samples = new Int16Array(rate * 2);
    // 0.5-1.0 s: a loud tone; 1.5-2 s: faint hiss far below it.
    for (let i = rate / 2; i < rate; i++) samples[i] = Math.round(8000 * Math.sin(i / 5));
    for (let i = rate * 1.5; i < rate * 2; i++) samples[i] = (i * 7919) % 41 - 20;
    const open = energyTrack(samples, rate, 25);
    assert.equal(open.length, 50);
    assert.ok(open.slice(0, 12).every((o) => o === 0));
    assert.ok(Math.min(...open.slice(15, 24)) > 0.5);
    assert.ok(open.slice(40).every((o) => o === 0), 'hiss opened the mouth');
    assert.deepEqual(visemesFromEnergy([0, 0.2, 0.9]), ['REST', 'S', 'AA']);
  });

  test('blinks are reproducible and 2-6 s apart', () => {
    const a = blinkTrack(25 * 60, 25, 7);
    assert.deepEqual(blinkTrack(25 * 60, 25, 7), a);
    assert.notDeepEqual(blinkTrack(25 * 60, 25, 8), a);
    const starts = a.flatMap((e, f) => (e === 'half' && a[f + 1] === 'closed' ? [f] : []));
    assert.ok(starts.length >= 10 && starts.length <= 31, `${starts.length} blinks a minute`);
    for (let i = 1; i < starts.length; i++) {
      const gapMs = (starts[i] - starts[i - 1]) * 40;
      assert.ok(gapMs >= 2000 - 40 && gapMs <= 6000 + 40, `blinks ${gapMs} ms apart`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// rendering

describe('2D avatar rendering', () => {
  let dir: string;
  let speech: Speech;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dhp-avatar2d-'));
    speech = await makeSpeech(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('characters have unique negative ids and resolve by id or key', () => {
    const ids = CHARACTERS.map((c) => c.id);
    assert.ok(ids.every((id) => Number.isInteger(id) && id < 0));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(findCharacter('-101')?.key, 'mira');
    assert.equal(findCharacter(-102)?.key, 'kai');
    assert.equal(findCharacter('Mira')?.id, -101);
    assert.equal(findCharacter('-999'), undefined);
  });

  test('phoneme-driven video: H.264 + AAC at the asked size and length; the mouth follows the speech', async () => {
    const out = path.join(dir, 'phonemes');
    const result = await renderAvatarVideo(FFMPEG, {
      character: '-101', audioWav: speech.wavFile, phonemes: speech.phonemes, durationMs: speech.durationMs, width: WIDTH, height: HEIGHT,
    }, out);
    assert.equal(result.frames, Math.round((speech.durationMs * FPS) / 1000));

    const info = probe(result.video);
    const video = info.streams.find((s) => s.codec_type === 'video');
    const audio = info.streams.find((s) => s.codec_type === 'audio');
    assert.equal(video?.codec_name, 'h264');
    assert.equal(video?.pix_fmt, 'yuv420p');
    assert.equal(audio?.codec_name, 'aac');
    assert.equal(video?.width, WIDTH);
    assert.equal(video?.height, HEIGHT);
    const durationMs = Number(info.format.duration) * 1000;
    assert.ok(Math.abs(durationMs - speech.durationMs) <= FRAME_MS, `video is ${durationMs} ms, audio ${speech.durationMs} ms`);
    assert.ok(Math.abs(Number(video?.nb_frames) - result.frames) <= 1, `${video?.nb_frames} frames, expected ${result.frames}`);

    const cover = readFileSync(result.cover);
    assert.deepEqual([...cover.subarray(0, 3)], [0xff, 0xd8, 0xff], 'the cover is not a JPEG');

    const frames = greyFrames(result.video);
    const box = mouthBox('-101', WIDTH, HEIGHT);
    assertMouthFollowsSpeech(frames, greyFrames(result.cover)[0], box, speech, FRAME_MS);
    // On Mira's light skin the opening alone shows: darkness varies while speaking, not in the pause.
    const speechDark = variance(speech.spoken.flatMap((s) => framesWithin(s.startMs, s.endMs)).map((f) => darkness(frames[f], box)));
    const pauseDark = variance(framesWithin(speech.gap.startMs + FRAME_MS, speech.gap.endMs - 2 * FRAME_MS).map((f) => darkness(frames[f], box)));
    assert.ok(speechDark > 20 && speechDark > 100 * pauseDark, `darkness variance ${speechDark.toFixed(2)} speaking vs ${pauseDark.toFixed(3)} in the pause`);
  });

  test('audio-only video: the mouth follows the loudness', async () => {
    const out = path.join(dir, 'energy');
    const result = await renderAvatarVideo(FFMPEG, {
      character: 'kai', audioWav: speech.wavFile, durationMs: speech.durationMs, width: WIDTH, height: HEIGHT,
    }, out);
    const durationMs = Number(probe(result.video).format.duration) * 1000;
    assert.ok(Math.abs(durationMs - speech.durationMs) <= FRAME_MS, `video is ${durationMs} ms, audio ${speech.durationMs} ms`);
    // The smoothed envelope takes a few frames to close after the last word.
    assertMouthFollowsSpeech(greyFrames(result.video), greyFrames(result.cover)[0], mouthBox('kai', WIDTH, HEIGHT), speech, 200);
  });

  test('covers render for every character', async () => {
    for (const c of CHARACTERS) {
      const file = path.join(dir, `cover${c.id}.jpg`);
      await renderCover(String(c.id), file, { width: 180, height: 320 });
      const info = probe(file).streams[0];
      assert.equal(info.width, 180);
      assert.equal(info.height, 320);
    }
  });
});
