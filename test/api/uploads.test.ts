import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, download, removeDir, startDhp, waitFor, type Harness } from '../support/helpers.js';
import { ffmpeg, Speech } from '../support/fixtures.js';
import { decodeWav } from '../../src/media/wav.js';
import { CHARACTERS } from '../../src/engines/avatar2d/characters.js';

const media = mkdtempSync(path.join(tmpdir(), 'dhp-upload-media-'));
let h: Harness;
let alice: Client;
let bob: Client;

before(async () => {
  const speech = new Speech();
  try { await speech.wav(path.join(media, 'speech.wav'), 'This file was uploaded, not hosted anywhere.', 'en-us+f3'); } finally { await speech.close(); }
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25:duration=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '0', path.join(media, 'big.mp4')]);
  writeFileSync(path.join(media, 'page.html'), '<!doctype html><html><body>hello</body></html>');
  // The strict default: no private-address allowance. Uploads must still work.
  h = await startDhp({ allowPrivateNetwork: false, maxVideoBytes: 1024 * 1024 });
  alice = await Client.create(h, 'alice');
  bob = await Client.create(h, 'bob');
});
after(async () => { await h?.close(); removeDir(media); if (h) removeDir(h.dir); });

async function upload(c: Client, file: string, field = 'file') {
  const form = new FormData();
  form.append(field, new Blob([readFileSync(path.join(media, file))]), file);
  const res = await fetch(`${h.base}/openapi/file/upload?access_token=${c.token}`, { method: 'POST', body: form });
  return { status: res.status, body: await res.json() as any };
}

async function video(c: Client, audioUrl: string) {
  const r = await c.call('POST', '/openapi/video/v3/simpleCreate', { sceneId: CHARACTERS[0].id, audioUrl });
  assert.equal(r.body.code, '0', JSON.stringify(r.body));
  return waitFor('video', async () => {
    const v = (await c.call('GET', `/openapi/video/v2/get/${r.body.data.videoId}`)).body.data;
    return [1, 2].includes(v.synthesisStatus) ? null : v;
  }, 120_000);
}

test('an uploaded WAV is served back and usable as audioUrl without the private-address allowance', async () => {
  const r = await upload(alice, 'speech.wav');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.code, '0');
  assert.equal(r.body.data.kind, 'audio');
  assert.equal(r.body.data.format, 'wav');
  assert.equal(r.body.data.size, readFileSync(path.join(media, 'speech.wav')).length);
  assert.match(r.body.data.url, /\/files\/uploads\/.+\.wav$/);
  const served = await download(r.body.data.url);
  assert.ok(decodeWav(served.body).durationMs > 1000);
  const v = await video(alice, r.body.data.url);
  assert.equal(v.synthesisStatus, 3, v.failReason);
});

test("another app's upload and this server's other files are refused as media at accept, naming the field", async () => {
  const r = await upload(alice, 'speech.wav');
  const foreign = await bob.call('POST', '/openapi/video/v3/simpleCreate', { sceneId: CHARACTERS[0].id, audioUrl: r.body.data.url });
  assert.equal(foreign.status, 400);
  assert.match(foreign.body.message, /^audioUrl is a file URL of this server that your app did not upload/);
  const own = await video(alice, r.body.data.url);
  assert.equal(own.synthesisStatus, 3, own.failReason);
  const generated = await alice.call('POST', '/openapi/video/v3/simpleCreate', { sceneId: CHARACTERS[0].id, audioUrl: own.videoUrl });
  assert.equal(generated.status, 400);
  assert.match(generated.body.message, /^audioUrl is a file URL of this server/);
  const voice = await bob.call('POST', '/openapi/speaker/v3/clone', {
    name: 'x', audioUrl: r.body.data.url, authorizeUrl: r.body.data.url, authorizeText: 'I consent.',
  });
  assert.equal(voice.status, 400);
  assert.match(voice.body.message, /^audioUrl is a file URL of this server/);
});

test('non-media, oversized, missing and unauthenticated uploads are refused', async () => {
  const html = await upload(alice, 'page.html');
  assert.equal(html.status, 400);
  assert.match(html.body.message, /^file is not a video, audio or image file/);
  const big = await upload(alice, 'big.mp4');
  assert.equal(big.status, 413);
  assert.equal(big.body.error, 'PAYLOAD_TOO_LARGE');
  assert.match(big.body.message, /^file is larger than the 1 MB/);
  const wrongField = await upload(alice, 'speech.wav', 'audio');
  assert.equal(wrongField.status, 400);
  assert.match(wrongField.body.message, /field named "file"/);
  const json = await alice.call('POST', '/openapi/file/upload', { file: 'x' });
  assert.equal(json.status, 400);
  const anonymous = await fetch(`${h.base}/openapi/file/upload`, { method: 'POST', body: new FormData() });
  assert.equal(anonymous.status, 401);
  const count = await h.app.services.db.selectFrom('uploads').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  assert.equal(Number(count.n), 2, 'only the good uploads were recorded');
});
