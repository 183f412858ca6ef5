import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, download, removeDir, startDhp } from '../support/helpers.js';
import { encodeWavPcm16 } from '../../src/media/wav.js';
import { MediaWorkspace } from '../../src/services/workspace.js';
import { SafeHttp } from '../../src/net/http.js';
import { locateMediaTools } from '../../src/media/tools.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));
const tempDir = (prefix: string) => { const d = mkdtempSync(path.join(tmpdir(), prefix)); dirs.push(d); return d; };

function workspace(root: string) {
  const http = new SafeHttp({ allowPrivate: true, timeoutMs: 1000, maxResponseBytes: 1024, maxRedirects: 0, userAgent: 'test' });
  return new MediaWorkspace({ tools: () => locateMediaTools({}), http, root, limits: { maxVideoBytes: 1 << 20, maxAudioBytes: 1 << 20, downloadTimeoutMs: 1000 } });
}

/** A pid that belonged to a process which has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  assert.equal(r.status, 0);
  return r.pid!;
}

test('jobs started in the same millisecond each get a folder of their own', async () => {
  const ws = workspace(tempDir('dhp-scratch-'));
  const seen: string[] = [];
  await Promise.all(Array.from({ length: 20 }, (_, i) => ws.run('upload', async (dir) => {
    seen.push(dir);
    await writeFile(path.join(dir, 'upload'), `job ${i}`);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await readFile(path.join(dir, 'upload'), 'utf8'), `job ${i}`, 'nobody else wrote into my folder');
  })));
  assert.equal(new Set(seen).size, 20, `folders were shared: ${seen.join(', ')}`);
  assert.ok(seen.every((d) => !existsSync(d)), 'every folder is removed when its job ends');
});

test('a retried job removes the folder its killed attempt left, and only that one', async () => {
  const root = tempDir('dhp-scratch-');
  const dead = deadPid();
  mkdirSync(path.join(root, `video-12-${dead}-aB3dE9`));
  mkdirSync(path.join(root, `video-1-${dead}-zzzzzz`));
  mkdirSync(path.join(root, `video-12-${process.pid}-qqqqqq`), { recursive: true });
  await workspace(root).run('video-12', async () => undefined);
  assert.deepEqual(readdirSync(root).sort(), [`video-1-${dead}-zzzzzz`, `video-12-${process.pid}-qqqqqq`].sort(),
    "another job's folder and this live process's folder stay");
});

test('dhp removes scratch folders left by killed attempts when it starts, but not those of live processes', async () => {
  const dir = tempDir('dhp-scratch-start-');
  const work = path.join(dir, 'work');
  const dead = deadPid();
  const alive = spawn('sleep', ['60']);
  try {
    const left = [`video-3-${dead}-AbCdEf`, `upload-${dead}-123456`, `training-4-${process.pid}-x1y2z3`, 'consent-9-4242-1764921600000'];
    const kept = `upload-${alive.pid}-keepme`;
    for (const name of [...left, kept]) {
      mkdirSync(path.join(work, name, 'render'), { recursive: true });
      await writeFile(path.join(work, name, 'render', 'frame.png'), 'x');
    }
    const h = await startDhp({}, dir);
    try {
      assert.deepEqual(readdirSync(work), [kept]);
    } finally {
      await h.close();
    }
  } finally {
    alive.kill();
  }
});

test('concurrent uploads from two apps: every upload URL serves exactly the bytes its app sent', async () => {
  const h = await startDhp({ allowPrivateNetwork: false });
  dirs.push(h.dir);
  try {
    const apps = [await Client.create(h, 'alice'), await Client.create(h, 'bob')];
    // Distinct WAVs: a different tone per upload, so any mix-up shows in the bytes.
    const files = Array.from({ length: 16 }, (_, i) => {
      const samples = new Int16Array(8000 + i * 37);
      for (let s = 0; s < samples.length; s++) samples[s] = Math.round(8000 * Math.sin((2 * Math.PI * (200 + 40 * i) * s) / 16000));
      return { app: apps[i % 2], bytes: encodeWavPcm16(samples, 16000) };
    });
    // Every upload's first half goes out at once and the rest a moment later, so they
    // overlap; the wall clock is held still meanwhile, as if the server started them all
    // in one millisecond (on a busy machine a burst spreads over a few).
    const realNow = Date.now;
    const frozen = realNow();
    Date.now = () => frozen;
    let results: { status: number; body: any }[];
    try {
      const sending = files.map((f) => startUpload(`${h.base}/openapi/file/upload?access_token=${f.app.token}`, f.bytes));
      await new Promise((r) => setTimeout(r, 300));
      results = await Promise.all(sending.map((s) => s.finish()));
    } finally {
      Date.now = realNow;
    }
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 200, `upload ${i}: ${JSON.stringify(r.body)}`);
      const served = await download(r.body.data.url);
      assert.ok(served.body.equals(files[i].bytes), `upload ${i} serves other bytes than it sent`);
    }
    assert.equal(new Set(results.map((r) => r.body.data.url)).size, files.length);
    const db = h.app.services.db;
    const owners = await db.selectFrom('uploads').innerJoin('apps', 'apps.id', 'uploads.app_pk').select(['uploads.key', 'apps.app_id']).execute();
    for (const [i, r] of results.entries()) {
      const owner = owners.find((o) => r.body.data.url.endsWith(`/files/${o.key}`));
      assert.equal(owner?.app_id, files[i].app.appId, `upload ${i} belongs to the app that sent it`);
    }
    assert.deepEqual(readdirSync(path.join(h.dir, 'work')), [], 'no scratch folder outlives its upload');
  } finally {
    await h.close();
  }
});

/** A multipart upload sent in two halves: the second when `finish` is called. */
function startUpload(url: string, bytes: Buffer) {
  const boundary = `----dhp${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="speech.wav"\r\nContent-Type: audio/wav\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const half = bytes.length >> 1;
  let rest = () => {};
  const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + bytes.length + tail.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.write(Buffer.concat([head, bytes.subarray(0, half)]));
    rest = () => req.end(Buffer.concat([bytes.subarray(half), tail]));
  });
  return { finish: () => { rest(); return answer; } };
}
