import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, download, removeDir, startDhp, startReceiver, waitFor, type Harness } from '../support/helpers.js';
import { AVATAR_CONSENT, CONSENT_VOICE, faceVideo, ffmpeg, ffmpegBin, probeFile, serveFolder, silentWav, Speech } from '../support/fixtures.js';
import { parseSrt } from '../../src/media/srt.js';
import { grayFrames, meanDiff } from '../support/frames.js';
import { mouthBox, CHARACTERS } from '../../src/engines/avatar2d/characters.js';
import { writeFileSync } from 'node:fs';

const media = mkdtempSync(path.join(tmpdir(), 'dhp-video-media-'));
let files: Awaited<ReturnType<typeof serveFolder>>;
let h: Harness;
let alice: Client;
let bob: Client;
let rx: Awaited<ReturnType<typeof startReceiver>>;
let sceneId = 0;
let clipFrames = 0;

before(async () => {
  const speech = new Speech();
  try {
    faceVideo(path.join(media, 'face.mp4'), 6);
    await speech.consent(path.join(media, 'consent.wav'), AVATAR_CONSENT, CONSENT_VOICE, path.join(media, 'consent.mp4'));
    await speech.wav(path.join(media, 'zh-consent.wav'), '我是张伟。我同意克隆我的形象用于视频合成。', 'cmn+m3');
    await speech.wav(path.join(media, 'speech.wav'), 'Hello! This is a video made by the platform. The avatar speaks this sentence.', 'en-us+f3');
    await speech.wav(path.join(media, 'long.wav'), 'This recording is much longer than the avatar clip, so the clip has to loop several times. '.repeat(5), 'en-us+m3');
    ffmpeg(['-i', path.join(media, 'speech.wav'), '-c:a', 'libmp3lame', path.join(media, 'speech.mp3')]);
    silentWav(path.join(media, 'silence.wav'), 3);
    writeFileSync(path.join(media, 'page.html'), '<html><body>not audio</body></html>');
  } finally {
    await speech.close();
  }
  files = await serveFolder(media);
  h = await startDhp();
  alice = await Client.create(h, 'alice', { fast_duration: 10 * 60_000 });
  bob = await Client.create(h, 'bob');
  rx = await startReceiver();
  const t = await alice.call('POST', '/openapi/video/v3/create/training', {
    name: 'jane', videoUrl: files.url('face.mp4'), authorizeUrl: files.url('consent.mp4'), authorizeText: AVATAR_CONSENT, level: 1,
  });
  const d = await alice.waitTraining(t.body.data.trainingId);
  assert.equal(d.status, 2, d.comment);
  sceneId = d.sceneId;
  clipFrames = Number((await h.app.services.db.selectFrom('scenes').select('frames').where('id', '=', sceneId).executeTakeFirstOrThrow()).frames);
});

after(async () => {
  await rx?.close();
  await files?.close();
  await h?.close();
  removeDir(media);
  if (h) removeDir(h.dir);
});

function ffprobe(file: string) {
  return probeFile(file);
}

async function fetchTo(url: string, name: string): Promise<string> {
  const file = path.join(media, name);
  writeFileSync(file, (await download(url)).body);
  return file;
}

async function create(c: Client, body: Record<string, unknown>) {
  const r = await c.call('POST', '/openapi/video/v3/simpleCreate', { callbackUrl: rx.url, ...body });
  assert.equal(r.body.code, '0', JSON.stringify(r.body));
  return r.body.data.videoId as number;
}

async function done(c: Client, id: number) {
  return waitFor(`video ${id}`, async () => {
    const v = (await c.call('GET', `/openapi/video/v2/get/${id}`)).body.data;
    return v && ![1, 2].includes(v.synthesisStatus) ? v : null;
  }, 180_000);
}

const account = async (c: Client) => (await c.call('GET', '/openapi/user/v2/get')).body.data.account;

describe('built-in avatars', () => {
  test('are listed with real covers and their resolution', async () => {
    const r = (await alice.call('POST', '/openapi/robot/v2/fastPublicPageList', { page: 1, size: 10 })).body.data;
    assert.ok(r.totalRecord >= 2);
    for (const a of r.records) {
      assert.ok(a.id < 0);
      assert.equal(a.resolution, '720x1280');
      const cover = await download(a.coverUrl);
      assert.equal(cover.type, 'image/jpeg');
    }
  });

  test('text + public voice → MP4 with moving lips, subtitles and a cover; quota charged the real duration', async () => {
    const character = CHARACTERS[0];
    const before = await account(alice);
    const id = await create(alice, { videoName: 'hello', sceneId: String(character.id), text: 'Hello, I am an avatar drawn by code. I move my lips when I speak.', speakerId: 'en-us-female' });
    const v = await done(alice, id);
    assert.equal(v.synthesisStatus, 3, v.failReason);
    assert.equal(v.videoFormat, 'mp4');
    const file = await fetchTo(v.videoUrl, 'builtin.mp4');
    const p = ffprobe(file);
    const vs = p.streams.find((s: any) => s.codec_type === 'video');
    const as = p.streams.find((s: any) => s.codec_type === 'audio');
    assert.equal(vs.codec_name, 'h264');
    assert.equal(as.codec_name, 'aac');
    assert.equal(`${vs.width}x${vs.height}`, '720x1280');
    assert.ok(Math.abs(Number(v.durationMs) - Number(as.duration) * 1000) <= 40, `video ${v.durationMs} ms vs audio ${as.duration} s`);
    assert.ok(Math.abs(Number(vs.duration) - Number(as.duration)) <= 0.041);
    assert.equal(v.duration, (Number(v.durationMs) / 1000).toFixed(3));
    const cues = parseSrt((await download(v.srtUrl)).body.toString('utf8'));
    assert.ok(cues.length >= 1 && Math.abs(cues[cues.length - 1].endMs - Number(v.durationMs)) <= 500);
    assert.equal((await download(v.coverUrl)).type, 'image/jpeg');
    const charged = before.fastDuration - (await account(alice)).fastDuration;
    assert.equal(charged, Number(v.durationMs), `charged ${charged} ms for ${v.durationMs} ms`);

    const box = mouthBox(character, 720, 1280);
    const pad = 8;
    const crop = { x: Math.max(0, Math.round(box.x) - pad), y: Math.max(0, Math.round(box.y) - pad), width: Math.round(box.width) + 2 * pad, height: Math.round(box.height) + 2 * pad };
    const mouth = await grayFrames(ffmpegBin, file, { crop });
    const changes = mouth.slice(1).map((f, i) => meanDiff(f, mouth[i]));
    assert.ok(changes.filter((d) => d > 2).length > mouth.length / 10, 'the mouth moves while speaking');

    const cb = await waitFor('callback', async () => rx.received.map((x) => JSON.parse(x.body)).find((b) => b.taskType === 'video-synthesis' && b.data.id === id));
    for (const k of ['id', 'videoName', 'result', 'failReason', 'videoUrl', 'duration', 'coverUrl', 'createTime', 'updateTime', 'synthesisStatus']) assert.ok(k in cb.data, k);
    assert.equal(cb.data.result, 'success');
    assert.equal(cb.data.synthesisStatus, 3);
    assert.equal(typeof cb.data.duration, 'string');
  });

  test('progress (a dhp addition) rises while the video renders and is 100 once it succeeded', async () => {
    const text = 'Progress is reported while the frames are drawn and encoded. '.repeat(6);
    const id = await create(alice, { sceneId: String(CHARACTERS[1].id), text, speakerId: 'en-us-male' });
    const seen: Array<[number, number]> = [];
    const v = await waitFor(`video ${id}`, async () => {
      const r = (await alice.call('GET', `/openapi/video/v2/get/${id}`)).body.data;
      seen.push([r.synthesisStatus, r.progress]);
      return [1, 2].includes(r.synthesisStatus) ? null : r;
    }, 180_000);
    assert.equal(v.synthesisStatus, 3, v.failReason);
    assert.equal(v.progress, 100);
    const percents = seen.map(([, p]) => p);
    assert.deepEqual(percents, [...percents].sort((a, b) => a - b), `never backwards: ${percents.join(' ')}`);
    assert.ok(seen.some(([s, p]) => s === 2 && p > 10 && p < 100), `a value between seen while processing: ${JSON.stringify(seen)}`);
  });

  test('silent audio keeps the mouth closed', async () => {
    const character = CHARACTERS[0];
    const v = await done(alice, await create(alice, { sceneId: character.id, audioUrl: files.url('silence.wav') }));
    assert.equal(v.synthesisStatus, 3, v.failReason);
    assert.equal(v.srtUrl, null, 'no subtitles for audio input');
    const file = await fetchTo(v.videoUrl, 'silent.mp4');
    const box = mouthBox(character, 720, 1280);
    const crop = { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) };
    const mouth = await grayFrames(ffmpegBin, file, { crop });
    const changes = mouth.slice(1).map((f, i) => meanDiff(f, mouth[i]));
    assert.ok(changes.filter((d) => d > 2).length <= mouth.length / 20, `mouth still in silence (${changes.filter((d) => d > 2).length} changes)`);
  });
});

describe('trained avatars', () => {
  test('audioUrl (MP3) + trained scene → MP4 at the scene resolution, as long as the audio', async () => {
    const v = await done(alice, await create(alice, { sceneId, audioUrl: files.url('speech.mp3') }));
    assert.equal(v.synthesisStatus, 3, v.failReason);
    const p = ffprobe(await fetchTo(v.videoUrl, 'trained.mp4'));
    const vs = p.streams.find((s: any) => s.codec_type === 'video');
    const as = p.streams.find((s: any) => s.codec_type === 'audio');
    assert.equal(`${vs.width}x${vs.height}`, '360x640');
    assert.ok(Math.abs(Number(vs.duration) - Number(as.duration)) <= 0.041);
  });

  test('pn 0 restarts the clip, pn 1 plays it backwards: visibly different at the loop point; audio > 3× the clip', async () => {
    const [v0, v1] = await Promise.all([
      create(alice, { sceneId, audioUrl: files.url('long.wav'), pn: 0 }).then((id) => done(alice, id)),
      create(alice, { sceneId, audioUrl: files.url('long.wav'), pn: 1 }).then((id) => done(alice, id)),
    ]);
    assert.equal(v0.synthesisStatus, 3, v0.failReason);
    assert.equal(v1.synthesisStatus, 3, v1.failReason);
    assert.ok(Number(v0.durationMs) > 3 * clipFrames * 40, 'the audio is longer than 3 clips');
    const f0 = await grayFrames(ffmpegBin, await fetchTo(v0.videoUrl, 'pn0.mp4'), { width: 90, height: 160 });
    const f1 = await grayFrames(ffmpegBin, await fetchTo(v1.videoUrl, 'pn1.mp4'), { width: 90, height: 160 });
    const n = clipFrames;
    assert.ok(Math.abs(f0.length - f1.length) <= 1);
    // pn 0 jumps back to the first frame; pn 1 continues smoothly from the last.
    assert.ok(meanDiff(f0[n], f0[0]) < 1.5, 'pn 0: frame after the loop is the first frame');
    assert.ok(meanDiff(f1[n], f1[n - 1]) < meanDiff(f0[n], f0[n - 1]), 'pn 1 is smoother at the loop point than pn 0');
    assert.ok(meanDiff(f0[n + 2], f1[n + 2]) > 1, 'the two directions differ after the loop point');
  });
});

describe('bad inputs and cancel', () => {
  test('refused at accept with the field named, nothing created', async () => {
    const before = await account(alice);
    const count = (await alice.call('POST', '/openapi/video/v2/pageList', { page: 1, size: 1 })).body.data.totalRecord;
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ sceneId: 987654, text: 'hi', speakerId: 'en-us-male' }, 400, /^sceneId 987654 is not an avatar you can use/],
      [{ sceneId, text: 'hi' }, 400, /^speakerId is required when text is used/],
      [{ sceneId, text: '   ', speakerId: 'en-us-male' }, 400, /^text must contain the words to speak/],
      [{ sceneId, text: 'hi', speakerId: 'nope' }, 400, /^speakerId "nope"/],
      [{ sceneId: 'abc', text: 'hi', speakerId: 'en-us-male' }, 400, /^sceneId must be a scene id/],
      [{ sceneId, audioUrl: 'ftp://x/y.wav' }, 400, /^audioUrl uses the ftp scheme/],
      [{ sceneId, text: 'hi', speakerId: 'en-us-male', pn: 3 }, 400, /^pn must be 0/],
    ];
    for (const [body, status, message] of cases) {
      const r = await alice.call('POST', '/openapi/video/v3/simpleCreate', body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.message, message);
    }
    const theirs = await bob.call('POST', '/openapi/video/v3/simpleCreate', { sceneId, text: 'hi', speakerId: 'en-us-male' });
    assert.equal(theirs.status, 400, "another app's scene");
    const poor = await Client.create(h, 'poor', { fast_duration: 0 });
    const q = await poor.call('POST', '/openapi/video/v3/simpleCreate', { sceneId: CHARACTERS[0].id, text: 'hi', speakerId: 'en-us-male' });
    assert.equal(q.status, 403);
    assert.equal(q.body.error, 'QUOTA_EXCEEDED');
    assert.deepEqual(await account(alice), before);
    assert.equal((await alice.call('POST', '/openapi/video/v2/pageList', { page: 1, size: 1 })).body.data.totalRecord, count);
  });

  test('unusable inputs end with status 7 and a reason, no charge', async () => {
    const before = await account(alice);
    const html = await done(alice, await create(alice, { sceneId, audioUrl: files.url('page.html') }));
    assert.equal(html.synthesisStatus, 7);
    assert.match(html.failReason, /audioUrl/);
    const missing = await done(alice, await create(alice, { sceneId, audioUrl: files.url('nope.wav') }));
    assert.equal(missing.synthesisStatus, 7);
    assert.match(missing.failReason, /404/);
    assert.deepEqual(await account(alice), before);
    const small = await Client.create(h, 'small', { fast_duration: 1000 });
    const v = await done(small, await small.call('POST', '/openapi/video/v3/simpleCreate', { sceneId: CHARACTERS[0].id, audioUrl: files.url('speech.wav') }).then((r) => r.body.data.videoId));
    assert.equal(v.synthesisStatus, 7);
    assert.match(v.failReason, /quota/);
    assert.equal((await account(small)).fastDuration, 1000);
  });

  test('unverified consent: a scene whose consent waits for review cannot be used', async () => {
    const t = await alice.call('POST', '/openapi/video/v3/create/training', {
      name: 'zh', videoUrl: files.url('face.mp4'), authorizeUrl: files.url('zh-consent.wav'), authorizeText: '我是张伟。我同意克隆我的形象用于视频合成。', level: 1,
    });
    const d = await alice.waitTraining(t.body.data.trainingId);
    assert.equal(d.status, 2);
    assert.equal(d.authorizeStatus, 0);
    const r = await alice.call('POST', '/openapi/video/v3/simpleCreate', { sceneId: d.sceneId, text: 'hi', speakerId: 'en-us-male' });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /consent/);
  });

  test('cancel while a built-in avatar renders stops the encoder', async () => {
    // ffmpeg processes this test process started (the server runs in it), from /proc.
    const encoders = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return /\(ffmpeg\)/.test(stat) && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch { return false; }
    });
    const id = await create(alice, { sceneId: String(CHARACTERS[0].id), audioUrl: files.url('long.wav') });
    await waitFor('the render to be under way', async () => {
      const v = (await alice.call('GET', `/openapi/video/v2/get/${id}`)).body.data;
      return v.synthesisStatus === 2 && v.progress > 15 && encoders().length > 0;
    }, 60_000);
    assert.equal((await alice.call('POST', `/openapi/video/v2/cancel/${id}`)).body.data.synthesisStatus, 6);
    await waitFor('the encoder to stop', async () => encoders().length === 0, 2_500);
    assert.equal((await alice.call('GET', `/openapi/video/v2/get/${id}`)).body.data.synthesisStatus, 6);
  });

  test('cancel: a queued or processing video becomes 6 and is refunded; a finished one cannot be canceled', async () => {
    const before = await account(alice);
    const id = await create(alice, { sceneId, audioUrl: files.url('long.wav') });
    const c = await alice.call('POST', `/openapi/video/v2/cancel/${id}`);
    assert.equal(c.body.code, '0', JSON.stringify(c.body));
    assert.equal(c.body.data.synthesisStatus, 6);
    await new Promise((r) => setTimeout(r, 1500));
    const v = (await alice.call('GET', `/openapi/video/v2/get/${id}`)).body.data;
    assert.equal(v.synthesisStatus, 6, 'stays canceled');
    assert.deepEqual(await account(alice), before);
    const again = await alice.call('POST', `/openapi/video/v2/cancel/${id}`);
    assert.equal(again.status, 409);
    assert.equal((await bob.call('POST', `/openapi/video/v2/cancel/${id}`)).status, 404);
  });
});
