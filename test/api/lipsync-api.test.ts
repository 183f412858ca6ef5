import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, download, removeDir, startDhp, waitFor, type Harness } from '../support/helpers.js';
import { AVATAR_CONSENT, CONSENT_VOICE, faceVideo, ffmpeg, probeFile, serveFolder, Speech } from '../support/fixtures.js';

/**
 * Trained avatars lip-synced by a GPU engine. Nothing here can run the real model,
 * so a stand-in speaks Duix.Avatar face2face's protocol (submit, poll, result in a
 * shared folder) and "renders" by muxing the given video with the given audio.
 */
const media = mkdtempSync(path.join(tmpdir(), 'dhp-lipsync-media-'));
const shared = mkdtempSync(path.join(tmpdir(), 'dhp-lipsync-shared-'));
const REMOTE = '/code/data';
const submits: any[] = [];
let failNext = false;
let engine: Server;
let files: Awaited<ReturnType<typeof serveFolder>>;
let h: Harness;
let alice: Client;
let sceneId = 0;

function startStandIn(): Promise<string> {
  const tasks = new Map<string, { polls: number; result?: string; failed?: string }>();
  engine = createServer((req, res) => {
    const send = (body: unknown) => res.writeHead(200, { 'content-type': 'text/html' }).end(JSON.stringify(body));
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && url.pathname === '/easy/submit') {
      let raw = '';
      req.on('data', (c) => { raw += c; });
      req.on('end', () => {
        const body = JSON.parse(raw);
        submits.push(body);
        const local = (p: string) => path.join(shared, path.relative(REMOTE, p));
        if (!existsSync(local(body.video_url)) || !existsSync(local(body.audio_url))) return send({ code: 10002, msg: 'input files not found' });
        if (failNext) { failNext = false; tasks.set(body.code, { polls: 0, failed: 'face not detected in the video' }); return send({ code: 10000, success: true }); }
        const out = path.join(shared, `${body.code}-r.mp4`);
        ffmpeg(['-i', local(body.video_url), '-i', local(body.audio_url), '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', '-shortest', out]);
        tasks.set(body.code, { polls: 0, result: path.posix.join(REMOTE, path.basename(out)) });
        send({ code: 10000, success: true });
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/easy/query') {
      const t = tasks.get(url.searchParams.get('code') ?? '');
      if (!t) return send({ code: 10004, msg: 'task not found' });
      t.polls++;
      if (t.polls < 3) return send({ code: 10000, data: { status: 1, progress: t.polls * 30 } });
      tasks.delete(url.searchParams.get('code')!);
      return t.failed ? send({ code: 10000, data: { status: 3, msg: t.failed } }) : send({ code: 10000, data: { status: 2, progress: 100, result: t.result } });
    }
    res.writeHead(404).end();
  });
  return new Promise((r) => engine.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(engine.address() as AddressInfo).port}`)));
}

before(async () => {
  const speech = new Speech();
  try {
    faceVideo(path.join(media, 'face.mp4'), 6);
    await speech.consent(path.join(media, 'consent.wav'), AVATAR_CONSENT, CONSENT_VOICE, path.join(media, 'consent.mp4'));
    await speech.wav(path.join(media, 'speech.wav'), 'The lip sync engine makes my mouth follow these words.', 'en-us+f3');
  } finally { await speech.close(); }
  files = await serveFolder(media);
  const engineUrl = await startStandIn();
  mkdirSync(shared, { recursive: true });
  h = await startDhp({ lipsyncUrl: engineUrl, lipsyncLocalDir: shared, lipsyncRemoteDir: REMOTE });
  alice = await Client.create(h, 'alice');
  const t = await alice.call('POST', '/openapi/video/v3/create/training', { name: 'jane', videoUrl: files.url('face.mp4'), authorizeUrl: files.url('consent.mp4'), authorizeText: AVATAR_CONSENT, level: 1 });
  const d = await alice.waitTraining(t.body.data.trainingId);
  assert.equal(d.status, 2, d.comment);
  sceneId = d.sceneId;
});

after(async () => {
  await h?.close();
  await files?.close();
  await new Promise<void>((r) => (engine ? engine.close(() => r()) : r()));
  removeDir(media);
  removeDir(shared);
  if (h) removeDir(h.dir);
});

async function video(body: Record<string, unknown>) {
  const r = await alice.call('POST', '/openapi/video/v3/simpleCreate', body);
  assert.equal(r.body.code, '0', JSON.stringify(r.body));
  return waitFor('video', async () => {
    const v = (await alice.call('GET', `/openapi/video/v2/get/${r.body.data.videoId}`)).body.data;
    return [1, 2].includes(v.synthesisStatus) ? null : v;
  }, 120_000);
}

test('a trained avatar goes through the lip-sync engine: the submit carries the protocol fields, the result becomes the video', async () => {
  const before = submits.length;
  const v = await video({ sceneId, audioUrl: files.url('speech.wav'), pn: 0 });
  assert.equal(v.synthesisStatus, 3, v.failReason);
  assert.equal(submits.length, before + 1);
  const s = submits[submits.length - 1];
  assert.deepEqual(Object.keys(s).sort(), ['audio_url', 'chaofen', 'code', 'pn', 'video_url', 'watermark_switch']);
  assert.equal(s.pn, 0);
  assert.ok(s.video_url.startsWith(`${REMOTE}/`) && s.audio_url.startsWith(`${REMOTE}/`));
  const file = path.join(media, 'synced.mp4');
  writeFileSync(file, (await download(v.videoUrl)).body);
  const probe = probeFile(file, { countFrames: false });
  assert.deepEqual(probe.streams.map((x: any) => x.codec_name).sort(), ['aac', 'h264']);
});

test('an engine failure ends the video with status 4 and the engine\'s reason', async () => {
  failNext = true;
  const v = await video({ sceneId, audioUrl: files.url('speech.wav') });
  assert.equal(v.synthesisStatus, 4);
  assert.match(v.failReason, /lip-sync engine failed: face not detected/);
});
