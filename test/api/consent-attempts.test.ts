import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from '../../src/store/schema.js';
import { removeDir, startDhp, type Harness } from '../support/helpers.js';

let h: Harness;
before(async () => { h = await startDhp(); });
after(async () => { await h?.close(); if (h) removeDir(h.dir); });

test('a retried training or cloning job reuses the consent its earlier attempt recorded; a new job records a new one', async () => {
  const { consent, db, apps } = h.app.services;
  const app = await apps.create({ name: 'consent-attempts' });
  const appPk = (await apps.byAppId(app.appId))!.id;
  const url = 'https://example.com/consent.mp4';
  const text = 'I am Jane Doe. I consent guiji clone my avatar for the synthesis of video.';
  const job = { created_at: Date.now() - 1_000 } as Job;

  const first = await consent.forJob(job, appPk, 'training', 7, url, text);
  const retry = await consent.forJob(job, appPk, 'training', 7, url, text);
  assert.equal(retry, first, 'the retry checks the same consent');

  const rerun = { created_at: Date.now() + 1 } as Job;
  await new Promise((r) => setTimeout(r, 5));
  const again = await consent.forJob(rerun, appPk, 'training', 7, url, text);
  assert.notEqual(again, first, 'a re-run (a new job) records a new consent');
  assert.notEqual(await consent.forJob(job, appPk, 'training', 7, `${url}?v=2`, text), again, 'other inputs: a new consent');
  assert.notEqual(await consent.forJob(job, appPk, 'voice', 7, url, text), first, 'another subject: a new consent');

  const rows = await db.selectFrom('consents').select('id').where('subject_id', '=', 7).execute();
  assert.equal(rows.length, 4);
});
