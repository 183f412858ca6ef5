import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite, type Db } from '../../src/store/db.js';
import { EmbeddedQueue } from '../../src/queue/embedded.js';
import { ApiError } from '../../src/domain/errors.js';
import type { Job } from '../../src/store/schema.js';
import { Client, removeDir, startDhp, startReceiver, waitFor, type Harness } from '../support/helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dhp-fair-'));
let db: Db;
let now = 1_000_000;
const clock = { now: () => now };
const A = 1;
const B = 2;
const C = 3;

before(async () => { db = await openSqlite(path.join(dir, 'q.sqlite')); });
after(async () => { await db.destroy(); removeDir(dir); });

async function freshQueue(limits?: ConstructorParameters<typeof EmbeddedQueue>[3]) {
  await db.deleteFrom('jobs').execute();
  return new EmbeddedQueue(db, clock, 3, limits);
}

const appOf = (j: Job | null) => j?.app_pk;

test('one app floods the queue: the next free slot goes to another app, not to the flood', async () => {
  const q = await freshQueue();
  for (let i = 0; i < 300; i++) await q.enqueue(db, 'consent.verify', i, { appPk: A });
  now += 1;
  await q.enqueue(db, 'tts.synthesize', 1, { appPk: B });
  const types = ['consent.verify', 'tts.synthesize'] as const;
  // Two slots, both taken by the flood while B's job was not there yet would be FIFO; here B is
  // already queued, so the second slot goes to B (A has one running, B none).
  const first = await q.claim(types, 'w1', 60_000);
  now += 1;
  const second = await q.claim(types, 'w2', 60_000);
  assert.deepEqual([appOf(first), appOf(second)], [A, B]);
  assert.equal(second?.type, 'tts.synthesize');
});

test('with one slot, apps take turns: the app served longest ago goes first', async () => {
  const q = await freshQueue();
  for (let i = 0; i < 5; i++) await q.enqueue(db, 'tts.synthesize', i, { appPk: A });
  for (let i = 0; i < 2; i++) await q.enqueue(db, 'tts.synthesize', 100 + i, { appPk: B });
  const order: (number | null | undefined)[] = [];
  for (let i = 0; i < 7; i++) {
    now += 10;
    const job = await q.claim(['tts.synthesize'], 'w', 60_000);
    order.push(appOf(job));
    await q.complete(job!.id, 'w');
  }
  assert.deepEqual(order, [A, B, A, B, A, A, A]);
});

test('the app with the fewest running jobs is served first; expired leases do not count as running', async () => {
  const q = await freshQueue();
  for (let i = 0; i < 3; i++) await q.enqueue(db, 'video.synthesize', i, { appPk: A });
  for (let i = 0; i < 3; i++) await q.enqueue(db, 'video.synthesize', 10 + i, { appPk: B });
  await q.enqueue(db, 'video.synthesize', 20, { appPk: C });
  const claims: (number | null | undefined)[] = [];
  for (let i = 0; i < 5; i++) { now += 1; claims.push(appOf(await q.claim(['video.synthesize'], `w${i}`, 1000))); }
  assert.deepEqual(claims, [A, B, C, A, B]);
  now += 5000; // every lease ran out: the workers died
  const again = await q.claim(['video.synthesize'], 'w9', 1000);
  assert.equal(appOf(again), C, 'C was served longest ago and nothing of anyone is running any more');
});

test('a per-app cap on running jobs skips apps at the cap (callbacks of a slow receiver)', async () => {
  const q = await freshQueue();
  for (let i = 0; i < 5; i++) await q.enqueue(db, 'callback.deliver', i, { appPk: A });
  await q.enqueue(db, 'callback.deliver', 9, { appPk: B });
  const cap = { maxRunningPerApp: 2 };
  const got = [];
  for (let i = 0; i < 4; i++) { now += 1; got.push(appOf(await q.claim(['callback.deliver'], `w${i}`, 60_000, cap))); }
  assert.deepEqual(got, [A, B, A, undefined], 'A holds two deliveries at most; the fourth slot stays free');
});

test('each app may queue only so many tasks and authorize submissions; callbacks are always accepted', async () => {
  const q = await freshQueue({ activePerApp: 4, perType: { 'consent.verify': 2 } });
  await q.enqueue(db, 'consent.verify', 1, { appPk: A });
  await q.enqueue(db, 'consent.verify', 2, { appPk: A });
  const refused = await q.enqueue(db, 'consent.verify', 3, { appPk: A }).catch((e) => e);
  assert.ok(refused instanceof ApiError);
  assert.equal(refused.code, 'TOO_MANY_TASKS');
  assert.equal(refused.httpStatus, 429);
  assert.match(refused.message, /already has 2 authorize submissions \(consent checks\) queued or running/);
  await q.enqueue(db, 'tts.synthesize', 1, { appPk: A });
  await q.enqueue(db, 'video.synthesize', 1, { appPk: A });
  const full = await q.enqueue(db, 'tts.synthesize', 2, { appPk: A }).catch((e) => e);
  assert.equal(full.code, 'TOO_MANY_TASKS');
  assert.match(full.message, /already has 4 tasks queued or running/);
  await q.enqueue(db, 'callback.deliver', 1, { appPk: A });
  await q.enqueue(db, 'tts.synthesize', 3, { appPk: B });
  const job = await q.claim(['tts.synthesize'], 'w', 60_000);
  assert.equal(appOf(job), A);
  await q.complete(job!.id, 'w');
  await q.enqueue(db, 'tts.synthesize', 4, { appPk: A });
});

/** An HTTP server that answers nothing until told to: a slow download or a slow callback receiver. */
async function startHanging() {
  const waiting: ServerResponse[] = [];
  let total = 0;
  let most = 0;
  const server = createServer((req, res) => {
    req.resume();
    total++;
    waiting.push(res);
    most = Math.max(most, waiting.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`;
  const answer = (res: ServerResponse) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"404"}');
  return {
    url,
    get total() { return total; },
    get waiting() { return waiting.length; },
    get most() { return most; },
    releaseOne() { const res = waiting.shift(); if (res) answer(res); },
    async close() { waiting.splice(0).forEach(answer); server.closeAllConnections(); await new Promise<void>((r) => server.close(() => r())); },
  };
}

/** Runs `fn` against a real server; `hanging` servers are released first, since closing dhp waits for running jobs. */
async function withServer(overrides: Parameters<typeof startDhp>[0], hanging: { close(): Promise<void> }[], fn: (h: Harness) => Promise<void>) {
  const h = await startDhp(overrides);
  try {
    await fn(h);
  } finally {
    for (const s of hanging) await s.close();
    await h.close();
    removeDir(h.dir);
  }
}

test('authorize flood: refused past the cap with TOO_MANY_TASKS, and another app\'s TTS takes the next free slot', async () => {
  const slow = await startHanging();
  await withServer({ workerConcurrency: 2, maxPendingAuthorizePerApp: 6, downloadTimeoutMs: 600_000 }, [slow], async (h) => {
    const alice = await Client.create(h, 'alice');
    const bob = await Client.create(h, 'bob');
    const db = h.app.services.db;
    const now = Date.now();
    const voice = await db.insertInto('voices').values({
      app_pk: (await db.selectFrom('apps').select('id').where('app_id', '=', alice.appId).executeTakeFirstOrThrow()).id,
      name: 'mine', audio_url: slow.url, authorize_url: slow.url, authorize_text: 'I consent.', sex: null, languages: '["en"]',
      features: '[]', status: 2, reason: null, profile: null, audition_key: null, authorize_status: 0, callback_url: null,
      callback_status: 0, expire_at: null, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    const claimed: Job[] = [];
    const queue = h.app.services.queue;
    const claim = queue.claim.bind(queue);
    queue.claim = async (...args) => { const j = await claim(...args); if (j) claimed.push(j); return j; };

    const authorize = () => alice.call('POST', '/openapi/speaker/v3/authorize', { speakerId: `C_${voice.id}`, authorizeUrl: slow.url, authorizeText: 'I consent to this.' });
    for (let i = 0; i < 6; i++) assert.equal((await authorize()).body.code, '0');
    const refused = await authorize();
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error, 'TOO_MANY_TASKS');
    assert.equal(refused.body.success, false);
    assert.match(refused.body.message, /authorize submissions .* queued or running.*submit again/);
    const consents = await db.selectFrom('consents').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(consents.n), 6, 'the refused submission left nothing behind');

    await waitFor('both worker slots downloading for alice', async () => slow.waiting === 2);
    const tts = await bob.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content: 'Hi.' });
    assert.equal(tts.body.code, '0', JSON.stringify(tts.body));
    const before = claimed.length;
    slow.releaseOne();
    const done = await bob.waitTts(tts.body.data.id, 120_000);
    assert.equal(done.status, 2);
    const next = claimed[before];
    assert.equal(next.type, 'tts.synthesize', 'the slot alice freed went to bob, not to alice\'s backlog');
    assert.ok(slow.total <= 3, `alice's backlog kept going ahead of bob (${slow.total} downloads started)`);
  });
});

test('a slow callback receiver of one app does not delay another app\'s callback', async () => {
  const slow = await startHanging();
  const fast = await startReceiver();
  await withServer({ workerConcurrency: 2, callbackConcurrency: 3, callbackConcurrencyPerApp: 2, callbackTimeoutMs: 600_000 }, [slow, fast], async (h) => {
    const alice = await Client.create(h, 'alice');
    const bob = await Client.create(h, 'bob');
    for (let i = 0; i < 5; i++) {
      const r = await alice.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content: `Number ${i}.`, callbackUrl: slow.url });
      assert.equal(r.body.code, '0');
    }
    await waitFor('alice\'s receiver holding two deliveries', async () => slow.waiting === 2, 120_000);
    const r = await bob.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content: 'Hi.', callbackUrl: fast.url });
    assert.equal(r.body.code, '0');
    await waitFor('bob\'s callback', async () => fast.received.length === 1, 120_000);
    assert.equal(JSON.parse(fast.received[0].body).data.id, r.body.data.id);
    assert.equal(slow.waiting, 2, 'alice\'s deliveries are still hanging while bob\'s arrived');
    assert.equal(slow.most, 2, 'alice never held more than her two delivery slots');
  });
});
