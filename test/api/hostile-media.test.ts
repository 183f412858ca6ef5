import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, createDeflate } from 'node:zlib';
import { Client, removeDir, startDhp, waitFor, type Harness } from '../support/helpers.js';
import { ffmpeg, ffmpegBin, ffprobeBin, serveFolder, silentWav, Speech } from '../support/fixtures.js';
import { CHARACTERS } from '../../src/engines/avatar2d/characters.js';
import { EspeakEngine } from '../../src/engines/tts/espeak.js';
import { TtsInputError } from '../../src/engines/tts/engine.js';
import { tasks } from '../../src/domain/tasks.js';

/**
 * Hostile media (issue 12): markup in TTS text, decode bombs, demuxers that open other files,
 * foreign file URLs and drip-fed downloads. The server runs the real ffmpeg and ffprobe through
 * wrappers that record each run (arguments, peak memory, stdout size, start and end), so the tests
 * can say what was decoded and what it cost, not only what the API answered.
 */

const media = mkdtempSync(path.join(tmpdir(), 'dhp-hostile-media-'));
const runs = path.join(media, 'runs');
let h: Harness;
let alice: Client;
let files: Awaited<ReturnType<typeof serveFolder>>;
let drip: { url: string; close: () => Promise<void> };

interface Run { tool: string; args: string[]; rssKb: number; stdoutBytes: number; start: bigint; end: bigint }

/** A wrapper that runs the real tool and records the run in `runs`. */
function wrapper(tool: string, real: string): string {
  const file = path.join(media, tool);
  writeFileSync(file, `#!/bin/bash
set -o pipefail
id="${runs}/${tool}-$(date +%s%N)-$$"
printf '%s\\n' "$@" > "$id.args"
date +%s%N > "$id.start"
# Slow probes make their overlap visible to the concurrency test.
if [ "${tool}" = ffprobe ] && [ -e "${runs}/slow" ]; then sleep 0.3; fi
/usr/bin/time -f '%M' -o "$id.rss" "${real}" "$@" | tee "$id.stdout"
rc=$?
date +%s%N > "$id.end"
exit $rc
`);
  chmodSync(file, 0o755);
  return file;
}

function recordedRuns(): Run[] {
  const ids = readdirSync(runs).filter((f) => f.endsWith('.args')).map((f) => f.slice(0, -'.args'.length));
  return ids.filter((id) => existsSync(path.join(runs, `${id}.end`))).map((id) => {
    const read = (ext: string) => readFileSync(path.join(runs, `${id}.${ext}`), 'utf8');
    return {
      tool: id.split('-')[0],
      args: read('args').split('\n').slice(0, -1),
      rssKb: Number(read('rss').trim().split('\n').pop()),
      stdoutBytes: statSync(path.join(runs, `${id}.stdout`)).size,
      start: BigInt(read('start').trim()),
      end: BigInt(read('end').trim()),
    };
  });
}

/** Runs that read the given work file (by its name in the job's scratch folder). */
const runsOn = (name: string) => recordedRuns().filter((r) => r.args.some((a) => a.endsWith(`/${name}`)));

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid RGB PNG of side × side black pixels: 16000 gives 750 KB that decode to 768 MB. */
async function hugePng(file: string, side: number): Promise<void> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  const row = Buffer.alloc(1 + side * 3);
  for (let y = 0; y < side; y++) if (!deflate.write(row)) await once(deflate, 'drain');
  deflate.end();
  await once(deflate, 'end');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  writeFileSync(file, Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', Buffer.concat(parts)), chunk('IEND', Buffer.alloc(0))]));
}

/** Silence that is long but tiny: FLAC frames of 65535 samples of zeros are a few bytes each. */
function silentFlac(file: string, seconds: number, rate: number, container: 'flac' | 'wav') {
  ffmpeg(['-f', 'lavfi', '-i', `anullsrc=r=${rate}:cl=mono`, '-t', String(seconds), '-c:a', 'flac', '-frame_size', '65535', '-f', container, file]);
}

/** Answers headers, then one byte every 200 ms, for as long as the client listens. */
async function startDrip(): Promise<{ url: string; close: () => Promise<void> }> {
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': String(10 * 1024 * 1024) });
    const timer = setInterval(() => res.write(Buffer.alloc(1)), 200);
    timers.add(timer);
    res.on('close', () => { clearInterval(timer); timers.delete(timer); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/speech.wav`,
    close: () => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

before(async () => {
  mkdirSync(runs);
  const speech = new Speech();
  try { await speech.wav(path.join(media, 'speech.wav'), 'Hello, this is a short sentence.', 'en-us+f3'); } finally { await speech.close(); }
  silentWav(path.join(media, 'consent.wav'), 2);
  // A server-local file a playlist or a concat list could name.
  ffmpeg(['-f', 'lavfi', '-i', 'sine=f=440:d=3', '-c:a', 'aac', path.join(media, 'secret.aac')]);
  writeFileSync(path.join(media, 'playlist.m3u8'),
    `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${path.join(media, 'secret.aac')}\n#EXT-X-ENDLIST\n`);
  writeFileSync(path.join(media, 'missing.m3u8'),
    `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${path.join(media, 'no-such-file.aac')}\n#EXT-X-ENDLIST\n`);
  writeFileSync(path.join(media, 'list.ffconcat'), `ffconcat version 1.0\nfile ${path.join(media, 'secret.aac')}\n`);
  silentFlac(path.join(media, 'ten-minutes-96k.wav'), 600, 96000, 'wav');
  silentFlac(path.join(media, 'two-hours.flac'), 7200, 8000, 'flac');
  silentFlac(path.join(media, 'five-minutes.flac'), 300, 8000, 'flac');
  await hugePng(path.join(media, 'huge.png'), 16000);
  // An 8 MB title tag: ffprobe's full JSON answer would carry all of it.
  writeFileSync(path.join(media, 'meta.txt'), `;FFMETADATA1\ntitle=${'A'.repeat(8 * 1024 * 1024)}\n`);
  ffmpeg(['-f', 'lavfi', '-i', 'sine=d=1', '-i', path.join(media, 'meta.txt'), '-map_metadata', '1', '-c:a', 'pcm_s16le', path.join(media, 'tagged.wav')]);

  files = await serveFolder(media);
  drip = await startDrip();
  h = await startDhp({
    ffmpegPath: wrapper('ffmpeg', ffmpegBin), ffprobePath: wrapper('ffprobe', ffprobeBin),
    consentRequired: false, downloadMinBytesPerSec: 1024, downloadRateWindowMs: 1000, downloadTimeoutMs: 20_000,
  });
  alice = await Client.create(h, 'alice');
});

after(async () => {
  await h?.close();
  await files?.close();
  await drip?.close();
  removeDir(media);
  if (h) removeDir(h.dir);
});

beforeEach(() => {
  for (const f of readdirSync(runs)) rmSync(path.join(runs, f), { force: true });
});

async function upload(c: Client, file: string) {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(path.join(media, file))]), file);
  const res = await fetch(`${h.base}/openapi/file/upload?access_token=${c.token}`, { method: 'POST', body: form });
  return { status: res.status, body: await res.json() as any };
}

async function video(c: Client, body: Record<string, unknown>) {
  const r = await c.call('POST', '/openapi/video/v3/simpleCreate', { sceneId: CHARACTERS[0].id, ...body });
  assert.equal(r.body.code, '0', JSON.stringify(r.body));
  return waitFor('video', async () => {
    const v = (await c.call('GET', `/openapi/video/v2/get/${r.body.data.videoId}`)).body.data;
    return [1, 2].includes(v.synthesisStatus) ? null : v;
  }, 120_000);
}

describe('TTS text is spoken as written', () => {
  const markup = 'a<break time="600s"/>b';

  test('SSML in TTS content and in video text makes speech of normal length', async () => {
    const r = await alice.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content: markup });
    assert.equal(r.body.code, '0', JSON.stringify(r.body));
    const done = await alice.waitTts(r.body.data.id, 120_000);
    assert.equal(done.status, 2, JSON.stringify(done));
    // Spoken as written ("a break time equals 600 s b"): seconds, not the 10 minutes the tag asks for.
    assert.ok(Number(done.duration) < 10_000, `duration ${done.duration} ms`);
    const v = await video(alice, { text: markup, speakerId: 'en-us-male' });
    assert.equal(v.synthesisStatus, 3, v.failReason);
    assert.ok(Number(v.durationMs) < 10_000, `video of ${v.durationMs} ms`);
  });

  test('word timings point into the text as written, around the escaped markup', async () => {
    const engine = new EspeakEngine({ threads: 1 });
    try {
      const text = 'Tom & Jerry say <hello> to you.';
      const r = await engine.synthesize(text, { engine: 'espeak', voice: 'en-us' });
      const words = r.words.map((w) => w.text);
      for (const w of r.words) assert.equal(text.slice(w.charStart, w.charEnd), w.text);
      const spoken = ['Tom', 'Jerry', 'say', 'hello', 'to', 'you'];
      assert.deepEqual(words.filter((w) => spoken.includes(w)), spoken, words.join('|'));
    } finally {
      await engine.close();
    }
  });

  test('the engine stops a text that makes more speech than its length allows', async () => {
    const engine = new EspeakEngine({ threads: 1, secondsPerChar: 0.001 });
    try {
      // 500 characters of words make about 30 s; the cap here is 10.5 s.
      await assert.rejects(engine.synthesize('word '.repeat(100), { engine: 'espeak', voice: 'en-us' }),
        (err: Error) => err instanceof TtsInputError && /more speech than a text of its length can \(over 11 s\)/.test(err.message));
      const short = await engine.synthesize('Hello there.', { engine: 'espeak', voice: 'en-us' });
      assert.ok(short.durationMs > 300);
    } finally {
      await engine.close();
    }
  });
});

describe('decode bombs are refused on their probed length, before decoding', () => {
  test('a 10-minute 96 kHz "WAV" of 40 KB as a voice sample is refused without being decoded', async () => {
    const r = await alice.call('POST', '/openapi/speaker/v3/clone', {
      name: 'bomb', audioUrl: files.url('ten-minutes-96k.wav'), authorizeUrl: files.url('consent.wav'), authorizeText: 'I consent.',
    });
    assert.equal(r.body.code, '0', JSON.stringify(r.body));
    const d = await waitFor('voice', async () => {
      const v = (await alice.call('GET', `/openapi/speaker/v2/clone/${r.body.data.speakerId}`)).body.data;
      return !tasks.voice.active.includes(v.status) ? v : null;
    }, 120_000);
    assert.equal(d.status, 3);
    assert.match(d.reason, /the sample is 600 s long; it must be 3 to 60 s/);
    assert.deepEqual(runsOn('sample').filter((run) => run.tool === 'ffmpeg'), [], 'no ffmpeg run decoded the sample');
  });

  test('a 2-hour FLAC as audioUrl is refused past the video length limit without being decoded', async () => {
    const v = await video(alice, { audioUrl: files.url('two-hours.flac') });
    assert.equal(v.synthesisStatus, 7);
    assert.equal(v.failReason, 'audioUrl is 7200 s long; a video can be at most 3600 s long.');
    assert.deepEqual(runsOn('audio-source').filter((run) => run.tool === 'ffmpeg'), [], 'no ffmpeg run decoded the audio');
  });

  test('an audioUrl longer than the remaining duration quota is refused before it is decoded', async () => {
    const small = await Client.create(h, 'small', { fast_duration: 60_000 });
    const v = await video(small, { audioUrl: files.url('five-minutes.flac') });
    assert.equal(v.synthesisStatus, 7);
    assert.match(v.failReason, /^audioUrl is 300 s long, more than the 60 s of video synthesis duration \(fastDuration\) that remain/);
    assert.deepEqual(runsOn('audio-source').filter((run) => run.tool === 'ffmpeg'), []);
  });

  test('audio that is used is decoded with a bound, in an accepted container, from local files only', async () => {
    const v = await video(alice, { audioUrl: files.url('speech.wav') });
    assert.equal(v.synthesisStatus, 3, v.failReason);
    const decodes = runsOn('audio-source').filter((run) => run.tool === 'ffmpeg');
    assert.equal(decodes.length, 1);
    const args = decodes[0].args;
    assert.ok(args.includes('-t'), args.join(' '));
    assert.equal(args[args.indexOf('-protocol_whitelist') + 1], 'file');
    const formats = args[args.indexOf('-format_whitelist') + 1].split(',');
    assert.ok(formats.includes('wav') && !formats.includes('hls') && !formats.includes('concat'), formats.join(','));
    for (const run of runsOn('audio-source')) assert.ok(run.args.includes('-format_whitelist'), `${run.tool} ${run.args.join(' ')}`);
  });

  test('a 16000 × 16000 PNG upload is refused by name, and ffprobe does not allocate the picture', async () => {
    const r = await upload(alice, 'huge.png');
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.message, /^file is not a video, audio or image file that can be read \(the picture is 16000 × 16000 pixels; at most/);
    const probes = recordedRuns().filter((run) => run.tool === 'ffprobe');
    assert.ok(probes.length >= 1);
    // Decoding it takes 800 MB; refusing it on its size takes well under 200.
    for (const run of probes) assert.ok(run.rssKb < 200 * 1024, `ffprobe peaked at ${Math.round(run.rssKb / 1024)} MB`);
  });

  test('a WAV with an 8 MB tag uploads with a small probe answer', async () => {
    const r = await upload(alice, 'tagged.wav');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.kind, 'audio');
    const probes = recordedRuns().filter((run) => run.tool === 'ffprobe');
    assert.ok(probes.length >= 1);
    for (const run of probes) assert.ok(run.stdoutBytes < 64 * 1024, `ffprobe printed ${run.stdoutBytes} bytes for the main thread to parse`);
  });

  test('no more than two probes run at once, however many uploads arrive together', async () => {
    writeFileSync(path.join(runs, 'slow'), '');
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, () => upload(alice, 'speech.wav')));
      for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    } finally {
      rmSync(path.join(runs, 'slow'));
    }
    const probes = recordedRuns().filter((run) => run.tool === 'ffprobe');
    assert.equal(probes.length, 6);
    const most = Math.max(...probes.map((p) => probes.filter((q) => q.start <= p.start && p.start < q.end).length));
    assert.ok(most <= 2, `${most} probes ran at once`);
  });
});

describe('ffmpeg opens only the accepted containers', () => {
  test('an HLS playlist naming a server file is refused at upload and as audioUrl', async () => {
    const up = await upload(alice, 'playlist.m3u8');
    assert.equal(up.status, 400, JSON.stringify(up.body));
    assert.match(up.body.message, /^file is not a video, audio or image file that can be read \(the file is (text|a playlist)/);
    const v = await video(alice, { audioUrl: files.url('playlist.m3u8') });
    assert.equal(v.synthesisStatus, 7);
    assert.match(v.failReason, /^audioUrl is not an audio file that can be read \(the file is (text|a playlist)/);
    // The answer does not tell whether the named file exists.
    const missing = await upload(alice, 'missing.m3u8');
    assert.equal(missing.body.message, up.body.message);
    // Nothing ever opened the file the playlist names.
    assert.deepEqual(recordedRuns().filter((run) => run.args.some((a) => a.includes('secret.aac'))), []);
  });

  test('a concat list is refused at upload', async () => {
    const up = await upload(alice, 'list.ffconcat');
    assert.equal(up.status, 400, JSON.stringify(up.body));
    assert.match(up.body.message, /^file is not a video, audio or image file that can be read \(the file is (text|a concat list)/);
  });
});

describe('downloads', () => {
  test('a drip-fed audioUrl fails on the minimum transfer rate, long before the download timeout', async () => {
    const v = await video(alice, { audioUrl: drip.url });
    assert.equal(v.synthesisStatus, 7);
    assert.equal(v.failReason, 'audioUrl arrived more slowly than 1 KB per second over 1 s; use a faster host');
  });
});
