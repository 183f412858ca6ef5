import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite, type Db } from '../../src/store/db.js';
import { EmbeddedQueue } from '../../src/queue/embedded.js';
import { QuotaService } from '../../src/services/quota.js';
import { AppsService } from '../../src/services/apps.js';
import { backoffMs } from '../../src/domain/backoff.js';
import { removeDir } from '../support/helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dhp-queue-'));
let db: Db;
let now = 1_000_000;
const clock = { now: () => now };

before(async () => { db = await openSqlite(path.join(dir, 'q.sqlite')); });
after(async () => { await db.destroy(); removeDir(dir); });

test('a claimed job is leased to one worker; an expired lease makes it claimable again', async () => {
  const q = new EmbeddedQueue(db, clock, 3);
  const id = await q.enqueue(db, 'tts.synthesize', 7, { appPk: 1 });
  const a = await q.claim(['tts.synthesize'], 'worker-a', 1000);
  assert.equal(a?.id, id);
  assert.equal(a?.attempts, 1);
  assert.equal(await q.claim(['tts.synthesize'], 'worker-b', 1000), null, 'leased: nobody else gets it');
  now += 500;
  assert.equal(await q.heartbeat(id, 'worker-a', 1000), true);
  now += 900;
  assert.equal(await q.claim(['tts.synthesize'], 'worker-b', 1000), null, 'the heartbeat extended the lease');
  now += 200;
  const b = await q.claim(['tts.synthesize'], 'worker-b', 1000);
  assert.equal(b?.id, id, 'the lease ran out: worker-b takes over');
  assert.equal(b?.attempts, 2);
  assert.equal(await q.heartbeat(id, 'worker-a', 1000), false, 'worker-a lost the lease');
  await q.complete(id, 'worker-a');
  assert.equal((await db.selectFrom('jobs').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state, 'running', 'a stale worker cannot finish it');
  await q.complete(id, 'worker-b');
  assert.equal((await db.selectFrom('jobs').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state, 'done');
});

test('retry waits until run_at; requeueRunning returns interrupted jobs', async () => {
  const q = new EmbeddedQueue(db, clock, 3);
  const id = await q.enqueue(db, 'callback.deliver', 9, { appPk: 1 });
  await q.claim(['callback.deliver'], 'w', 1000);
  await q.retry(id, 'w', now + 5000, 'receiver down');
  assert.equal(await q.claim(['callback.deliver'], 'w', 1000), null);
  now += 5000;
  assert.equal((await q.claim(['callback.deliver'], 'w', 60_000))?.id, id);
  assert.equal(await q.requeueRunning(), 1);
  const again = await q.claim(['callback.deliver'], 'w2', 1000);
  assert.equal(again?.id, id);
  assert.equal(again?.attempts, 3);
  assert.deepEqual(await q.depth(), [{ type: 'callback.deliver', state: 'running', count: 1 }]);
});

test('quota ledger: reserve is conditional, charge and refund happen once', async () => {
  const quota = new QuotaService(db, clock);
  const apps = new AppsService(db, quota, clock, { ttsWords: 10, fastDuration: 0, fastTraining: 0, voiceClone: 0 });
  const created = await apps.create({ name: 'ledger' });
  await db.transaction().execute((tx) => quota.reserve(tx, created.userId, 'tts_words', 6, 'tts:1'));
  await assert.rejects(db.transaction().execute((tx) => quota.reserve(tx, created.userId, 'tts_words', 5, 'tts:2')), /QUOTA|quota/);
  assert.deepEqual((await quota.lines(created.userId)).tts_words, { total: 10, remaining: 4 });
  await db.transaction().execute((tx) => quota.charge(tx, created.userId, 'tts_words', 'tts:1'));
  await db.transaction().execute((tx) => quota.charge(tx, created.userId, 'tts_words', 'tts:1'));
  await db.transaction().execute((tx) => quota.refund(tx, created.userId, 'tts_words', 'tts:1'));
  assert.deepEqual((await quota.lines(created.userId)).tts_words, { total: 10, remaining: 4 }, 'charged once, no refund after charge');
  await db.transaction().execute((tx) => quota.reserve(tx, created.userId, 'tts_words', 4, 'tts:3'));
  await db.transaction().execute((tx) => quota.refund(tx, created.userId, 'tts_words', 'tts:3'));
  await db.transaction().execute((tx) => quota.refund(tx, created.userId, 'tts_words', 'tts:3'));
  assert.deepEqual((await quota.lines(created.userId)).tts_words, { total: 10, remaining: 4 }, 'refunded once');
  await apps.setQuota(created.appId, { tts_words: 20 });
  assert.deepEqual((await quota.lines(created.userId)).tts_words, { total: 20, remaining: 14 }, 'raising the total keeps what was used');
});

test('backoff grows exponentially and is capped', () => {
  const mid = () => 0.5;
  assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map((a) => backoffMs(a, 100, 1000, mid)), [75, 150, 300, 600, 750, 750, 750]);
  for (let i = 0; i < 100; i++) {
    const v = backoffMs(3, 100, 1000);
    assert.ok(v >= 200 && v <= 400);
  }
});
