import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite, type Db } from '../../src/store/db.js';
import { QuotaService } from '../../src/services/quota.js';
import { AppsService } from '../../src/services/apps.js';
import { CHARACTERS } from '../../src/engines/avatar2d/characters.js';
import { Client, removeDir, startDhp, type Harness } from '../support/helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dhp-video-quota-'));
let db: Db;
const clock = { now: () => 1_000_000 };
before(async () => { db = await openSqlite(path.join(dir, 'q.sqlite')); });
after(async () => { await db.destroy(); removeDir(dir); });

async function held(d: Db, appPk: number) {
  const q = await d.selectFrom('quotas').select(['used', 'reserved', 'total']).where('app_pk', '=', appPk).where('kind', '=', 'fast_duration').executeTakeFirstOrThrow();
  return { used: Number(q.used), reserved: Number(q.reserved), total: Number(q.total) };
}

test('a re-run sets the reservation to what it needs now; the charge is the amount the task reports', async () => {
  const quota = new QuotaService(db, clock);
  const apps = new AppsService(db, quota, clock, { ttsWords: 0, fastDuration: 10_000, fastTraining: 0, voiceClone: 0 });
  const { userId } = await apps.create({ name: 'rerun' });
  const reserve = (ms: number, headroom?: number) => db.transaction().execute((tx) => quota.reserve(tx, userId, 'fast_duration', ms, 'video:1', headroom));
  await reserve(4000);
  assert.deepEqual(await held(db, userId), { used: 0, reserved: 4000, total: 10_000 });
  await reserve(4100); // the killed attempt's speech was 100 ms shorter than this run's
  assert.deepEqual(await held(db, userId), { used: 0, reserved: 4100, total: 10_000 });
  await reserve(3950);
  assert.deepEqual(await held(db, userId), { used: 0, reserved: 3950, total: 10_000 });
  await assert.rejects(reserve(10_001), /needs 10001, 6050 of 10000 remain/);
  assert.deepEqual(await held(db, userId), { used: 0, reserved: 3950, total: 10_000 }, 'a refused re-reserve keeps the hold');
  await db.transaction().execute((tx) => quota.charge(tx, userId, 'fast_duration', 'video:1', 3967));
  assert.deepEqual(await held(db, userId), { used: 3967, reserved: 0, total: 10_000 }, 'charged what the video reports');
  await reserve(5000);
  await db.transaction().execute((tx) => quota.charge(tx, userId, 'fast_duration', 'video:1', 9999));
  assert.deepEqual(await held(db, userId), { used: 3967, reserved: 0, total: 10_000 }, 'a settled reservation never changes again');

  // Headroom is held when free, and never makes a request fail.
  await db.transaction().execute((tx) => quota.reserve(tx, userId, 'fast_duration', 6000, 'video:2', 1000));
  assert.deepEqual(await held(db, userId), { used: 3967, reserved: 6033, total: 10_000 }, 'only 33 ms of headroom were free');
  await db.transaction().execute((tx) => quota.refund(tx, userId, 'fast_duration', 'video:2'));
  await db.transaction().execute((tx) => quota.reserve(tx, userId, 'fast_duration', 1000, 'video:3', 1000));
  assert.deepEqual(await held(db, userId), { used: 3967, reserved: 2000, total: 10_000 });
});

let h: Harness;
let alice: Client;
before(async () => {
  h = await startDhp({ workersEnabled: false });
  alice = await Client.create(h, 'alice');
});
after(async () => { await h?.close(); if (h) removeDir(h.dir); });

test('a video re-run after a kill is charged exactly the durationMs it reports, not the killed attempt\'s reservation', async () => {
  const s = h.app.services;
  const r = await alice.call('POST', '/openapi/video/v3/simpleCreate', {
    sceneId: String(CHARACTERS[0].id), text: 'One more time, after the kill.', speakerId: 'en-us-female',
  });
  assert.equal(r.body.code, '0', JSON.stringify(r.body));
  const id = r.body.data.videoId;
  const app = await s.db.selectFrom('apps').select('id').where('app_id', '=', alice.appId).executeTakeFirstOrThrow();
  const appPk = Number(app.id);
  const start = await held(s.db, appPk);
  // The first attempt reserved its own speech length and was killed before it finished.
  await s.db.transaction().execute((tx) => s.quota.reserve(tx, appPk, 'fast_duration', 4321, `video:${id}`));
  const job = await s.db.selectFrom('jobs').selectAll().where('type', '=', 'video.synthesize').where('ref_id', '=', id).executeTakeFirstOrThrow();
  await s.videos.run({ ...job, id: Number(job.id), ref_id: Number(job.ref_id), attempts: 2 });

  const v = (await alice.call('GET', `/openapi/video/v2/get/${id}`)).body.data;
  assert.equal(v.synthesisStatus, 3, v.failReason);
  const end = await held(s.db, appPk);
  assert.equal(end.used - start.used, Number(v.durationMs), `charged ${end.used - start.used} ms for a video of ${v.durationMs} ms`);
  assert.equal(end.reserved, start.reserved, 'nothing stays reserved');
  const ledger = await s.db.selectFrom('quota_ledger').select(['op', 'amount']).where('ref', '=', `video:${id}`).orderBy('id').execute();
  assert.deepEqual(ledger.find((l) => l.op === 'charge')?.amount, Number(v.durationMs));
  const account = (await alice.call('GET', '/openapi/user/v2/get')).body.data.account;
  assert.equal(start.total - end.used - end.reserved, account.fastDuration, 'the account shows the same remaining duration');
});
