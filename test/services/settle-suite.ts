// The task lifecycle's invariant, "a task settles once, and its quota with it", checked on a real
// database through the services alone (no HTTP). The suite takes the database to run on, so the
// same tests run unchanged against another store when one is added.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CallbackService } from '../../src/callbacks/callbacks.js';
import { tasks, type TaskKind } from '../../src/domain/tasks.js';
import { SafeHttp } from '../../src/net/http.js';
import { EmbeddedQueue } from '../../src/queue/embedded.js';
import { AppsService } from '../../src/services/apps.js';
import { TaskLifecycle } from '../../src/services/lifecycle.js';
import { QuotaService } from '../../src/services/quota.js';
import type { Db } from '../../src/store/db.js';

export interface SettleStore { db: Db; close(): Promise<void> }

const AMOUNT = { tts: 40, voice: 1, training: 1, video: 5000 } as const;

export function settleSuite(store: string, open: () => Promise<SettleStore>): void {
  describe(`task lifecycle on ${store}`, () => {
    const clock = { now: () => Date.now() };
    const harness = async () => {
      const { db, close } = await open();
      const queue = new EmbeddedQueue(db, clock, 3, { activePerApp: 1000 });
      const quota = new QuotaService(db, clock);
      const http = new SafeHttp({ allowPrivate: true, timeoutMs: 1000, maxResponseBytes: 1024, maxRedirects: 0, userAgent: 'test' });
      const callbacks = new CallbackService({ db, queue, http, clock, metrics: { callbackOutcome: () => undefined }, opts: { maxAttempts: 1, timeoutMs: 1000 } });
      const lifecycle = new TaskLifecycle({ quota, callbacks, clock });
      const apps = new AppsService(db, quota, clock, { ttsWords: 1000, fastDuration: 100_000, fastTraining: 10, voiceClone: 10 }, () => undefined);
      const app = await apps.byAppId((await apps.create({ name: 'settle' })).appId);
      const appPk = app!.id;

      /** A task of `kind` as its service creates it: the row, its reservation and its job. */
      const create = async (kind: TaskKind, callbackUrl: string | null = 'http://127.0.0.1:9/cb') => db.transaction().execute(async (tx) => {
        const now = clock.now();
        const common = { app_pk: appPk, callback_url: callbackUrl, callback_status: 0, created_at: now, updated_at: now };
        const id = Number((kind === 'tts'
          ? await tx.insertInto('tts_syntheses').values({ ...common, speaker_id: 'en-us-female', content: 'x'.repeat(AMOUNT.tts), char_count: AMOUNT.tts, status: 0, duration_ms: null, audio_key: null, srt_key: null, reason: null }).returning('id').executeTakeFirstOrThrow()
          : kind === 'voice'
            ? await tx.insertInto('voices').values({ ...common, name: 'v', audio_url: 'u', authorize_url: 'u', authorize_text: 't', sex: null, languages: '["en"]', features: '', status: 0, reason: null, profile: null, audition_key: null, authorize_status: 0, expire_at: null }).returning('id').executeTakeFirstOrThrow()
            : kind === 'training'
              ? await tx.insertInto('trainings').values({ ...common, title: 't', video_url: 'u', authorize_url: 'u', authorize_text: 't', level: 1, compress: 0, status: 0, comment: '', run: 1, scene_id: null, cover_key: null, authorize_status: 0, lipsync: null }).returning('id').executeTakeFirstOrThrow()
              : await tx.insertInto('videos').values({ ...common, video_name: null, scene_id: -1, audio_url: null, text: 'hi', speaker_id: 'en-us-female', pn: 1, status: 1, fail_reason: null, video_key: null, srt_key: null, cover_key: null, duration_ms: null, output: null }).returning('id').executeTakeFirstOrThrow()
        ).id);
        await quota.reserve(tx, appPk, tasks[kind].quota, AMOUNT[kind], `${kind}:${id}`);
        return id;
      });
      const line = async (kind: TaskKind) => db.selectFrom('quotas').select(['used', 'reserved']).where('app_pk', '=', appPk).where('kind', '=', tasks[kind].quota).executeTakeFirstOrThrow()
        .then((r) => ({ used: Number(r.used), reserved: Number(r.reserved) }));
      const ledger = async (kind: TaskKind, id: number) => (await db.selectFrom('quota_ledger').select(['op', 'amount']).where('ref', '=', `${kind}:${id}`).orderBy('id').execute())
        .map((r) => `${r.op} ${Number(r.amount)}`);
      const callbacksOf = async (kind: TaskKind, id: number) => (await db.selectFrom('callbacks').select('body')
        .where('task_type', '=', tasks[kind].callbackType).where('resource_id', '=', id).execute()).map((r) => JSON.parse(r.body));
      const statusOf = async (kind: TaskKind, id: number) => Number((await db.selectFrom(tasks[kind].table as 'videos').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status);
      const settle = (kind: TaskKind, id: number, status: number, extra: { chargeAmount?: number; fields?: object } = {}) =>
        db.transaction().execute((tx) => lifecycle.settle(tx, kind, id, {
          status, quotaRef: `${kind}:${id}`, chargeAmount: extra.chargeAmount, fields: extra.fields as never,
          callbackData: (row) => ({ id: Number(row.id), status: Number(row.status) }),
        }));
      return { db, close, lifecycle, create, line, ledger, callbacksOf, statusOf, settle };
    };

    for (const kind of Object.keys(tasks) as TaskKind[]) {
      const t = tasks[kind];
      const failed = t.final.find((s) => s !== t.success)!;

      test(`${kind}: success charges the reservation once and schedules one callback; a second settle changes nothing`, async () => {
        const h = await harness();
        try {
          const id = await h.create(kind);
          assert.deepEqual(await h.line(kind), { used: 0, reserved: AMOUNT[kind] });
          const first = await h.settle(kind, id, t.success);
          assert.equal(Number(first?.status), t.success);
          for (const again of [t.success, failed]) assert.equal(await h.settle(kind, id, again), null, `a second settle (${again}) is refused`);
          assert.equal(await h.statusOf(kind, id), t.success);
          assert.deepEqual(await h.line(kind), { used: AMOUNT[kind], reserved: 0 });
          assert.deepEqual(await h.ledger(kind, id), [`reserve ${AMOUNT[kind]}`, `charge ${AMOUNT[kind]}`]);
          assert.deepEqual(await h.callbacksOf(kind, id), [{ taskType: t.callbackType, data: { id, status: t.success } }]);
        } finally { await h.close(); }
      });

      test(`${kind}: failure refunds the reservation, writes its fields in the same step, and later settles change nothing`, async () => {
        const h = await harness();
        try {
          const id = await h.create(kind);
          const reasonField = kind === 'video' ? 'fail_reason' : kind === 'training' ? 'comment' : 'reason';
          const settled = await h.settle(kind, id, failed, { fields: { [reasonField]: 'it broke' } });
          assert.equal((settled as Record<string, unknown>)[reasonField], 'it broke');
          assert.equal(await h.settle(kind, id, t.success), null, 'a late success cannot reopen a failed task');
          assert.deepEqual(await h.line(kind), { used: 0, reserved: 0 });
          assert.deepEqual(await h.ledger(kind, id), [`reserve ${AMOUNT[kind]}`, `refund ${AMOUNT[kind]}`]);
          assert.equal((await h.callbacksOf(kind, id)).length, 1);
        } finally { await h.close(); }
      });

      test(`${kind}: settles racing each other: exactly one wins, the quota moves once`, async () => {
        const h = await harness();
        try {
          const id = await h.create(kind);
          const results = await Promise.all([h.settle(kind, id, t.success), h.settle(kind, id, failed), h.settle(kind, id, t.success)]);
          assert.equal(results.filter((r) => r !== null).length, 1);
          const won = Number(results.find((r) => r !== null)!.status);
          const after = await h.line(kind);
          assert.deepEqual(after, won === t.success ? { used: AMOUNT[kind], reserved: 0 } : { used: 0, reserved: 0 });
          assert.equal((await h.ledger(kind, id)).length, 2, 'one reserve, one charge or refund');
          assert.equal((await h.callbacksOf(kind, id)).length, 1);
        } finally { await h.close(); }
      });
    }

    test('a settle inside a transaction that rolls back leaves the task running, its quota held and no callback', async () => {
      const h = await harness();
      try {
        const id = await h.create('video');
        await assert.rejects(h.db.transaction().execute(async (tx) => {
          await h.lifecycle.settle(tx, 'video', id, { status: tasks.video.success, quotaRef: `video:${id}`, callbackData: () => ({}) });
          throw new Error('the caller failed after settling');
        }), /the caller failed/);
        assert.equal(await h.statusOf('video', id), tasks.video.active[1]);
        assert.deepEqual(await h.line('video'), { used: 0, reserved: AMOUNT.video });
        assert.deepEqual(await h.callbacksOf('video', id), []);
        assert.ok(await h.settle('video', id, tasks.video.success), 'it can still settle afterwards');
      } finally { await h.close(); }
    });

    test('a video is charged what it reports, not what was held; without a callbackUrl no callback is scheduled', async () => {
      const h = await harness();
      try {
        const id = await h.create('video', null);
        await h.settle('video', id, tasks.video.success, { chargeAmount: 4321 });
        assert.deepEqual(await h.line('video'), { used: 4321, reserved: 0 });
        assert.deepEqual(await h.callbacksOf('video', id), []);
      } finally { await h.close(); }
    });

    test('a status that does not end the task is refused, and nothing changes', async () => {
      const h = await harness();
      try {
        const id = await h.create('tts');
        await assert.rejects(h.settle('tts', id, tasks.tts.active[1]), /does not end an? audio synthesis/);
        assert.equal(await h.statusOf('tts', id), tasks.tts.active[0]);
        assert.equal(await h.settle('tts', 999_999, tasks.tts.success), null, 'an unknown task settles nothing');
      } finally { await h.close(); }
    });
  });
}
