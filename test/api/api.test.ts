import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Client, download, removeDir, startDhp, startReceiver, waitFor, type Harness } from '../support/helpers.js';
import { ABANDONED_AFTER_MS } from '../../src/api/idempotency.js';
import { decodeWav } from '../../src/media/wav.js';
import { parseSrt } from '../../src/media/srt.js';
import { signature } from '../../src/services/auth.js';
import { errorTable, type ErrorCode } from '../../src/domain/errors.js';
import { verifyCallback } from '../../src/callbacks/signing.js';

let h: Harness;
let alice: Client;
let bob: Client;

before(async () => {
  h = await startDhp();
  alice = await Client.create(h, 'alice');
  bob = await Client.create(h, 'bob');
});
after(async () => { await h.close(); removeDir(h.dir); });

const account = async (c: Client) => (await c.call('GET', '/openapi/user/v2/get')).body.data.account;

describe('token by signature', () => {
  test('a good signature gets a token in the envelope', async () => {
    const ts = Date.now();
    const r = await alice.raw('GET', `/openapi/oauth/token?grant_type=sign&appId=${alice.appId}&timestamp=${ts}&sign=${signature(alice.appId, ts, alice.secret)}`);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body).sort(), ['code', 'data', 'message', 'success']);
    assert.equal(r.body.code, '0');
    assert.equal(r.body.success, true);
    assert.equal(typeof r.body.data.access_token, 'string');
    assert.equal(r.body.data.expires_in, 7200);
    // Several tokens are valid at once: the old one still works.
    assert.equal((await alice.call('GET', '/openapi/user/v2/get')).body.code, '0');
    const other = new Client(h.base, alice.appId, alice.secret);
    other.token = r.body.data.access_token;
    assert.equal((await other.call('GET', '/openapi/user/v2/get')).body.code, '0');
  });

  test('the token is stored only as a hash', async () => {
    const rows = await h.app.services.db.selectFrom('tokens').select('token_hash').execute();
    assert.ok(rows.length > 0);
    assert.ok(!rows.some((r) => r.token_hash === alice.token));
    assert.ok(rows.some((r) => r.token_hash === createHash('sha256').update(alice.token).digest('hex')));
  });

  test('a forged signature is refused', async () => {
    const ts = Date.now();
    const r = await alice.raw('GET', `/openapi/oauth/token?grant_type=sign&appId=${alice.appId}&timestamp=${ts}&sign=${signature(alice.appId, ts, 'wrong-secret')}`);
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'SIGNATURE_INVALID');
    assert.equal(r.body.success, false);
    assert.match(r.body.message, /md5/);
  });

  test('an unknown appId is refused like a bad signature', async () => {
    const ts = Date.now();
    const r = await alice.raw('GET', `/openapi/oauth/token?grant_type=sign&appId=nope&timestamp=${ts}&sign=${signature('nope', ts, 'x')}`);
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'SIGNATURE_INVALID');
  });

  test('a stale timestamp is refused even with a correct signature', async () => {
    const ts = Date.now() - 6 * 60_000;
    const r = await alice.raw('GET', `/openapi/oauth/token?grant_type=sign&appId=${alice.appId}&timestamp=${ts}&sign=${signature(alice.appId, ts, alice.secret)}`);
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'TIMESTAMP_OUT_OF_WINDOW');
  });

  test('missing parameters name the field', async () => {
    const r = await alice.raw('GET', `/openapi/oauth/token?grant_type=sign&appId=${alice.appId}&timestamp=${Date.now()}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'INVALID_PARAMETER');
    assert.match(r.body.message, /sign is required/);
  });

  test('missing, unknown and expired tokens are refused', async () => {
    const none = await alice.raw('GET', '/openapi/user/v2/get');
    assert.equal(none.status, 401);
    assert.equal(none.body.error, 'UNAUTHORIZED');
    assert.equal(none.body.code, '40101');
    const bogus = await alice.raw('GET', '/openapi/user/v2/get?access_token=00000000-0000-4000-8000-000000000000');
    assert.equal(bogus.status, 401);
    const fresh = new Client(h.base, alice.appId, alice.secret);
    await fresh.login();
    const hash = createHash('sha256').update(fresh.token).digest('hex');
    await h.app.services.db.updateTable('tokens').set({ expires_at: Date.now() - 1000 }).where('token_hash', '=', hash).execute();
    const expired = await fresh.call('GET', '/openapi/user/v2/get');
    assert.equal(expired.status, 401);
    assert.equal(expired.body.error, 'TOKEN_EXPIRED');
    assert.equal(expired.body.code, '40102', 'an expired token has its own code, not the one of an unknown token');
  });
});

describe('account benefits', () => {
  test('has exactly the spec fields with integer values', async () => {
    const r = await alice.call('GET', '/openapi/user/v2/get');
    assert.equal(r.body.code, '0');
    assert.deepEqual(Object.keys(r.body.data).sort(), ['account', 'user']);
    assert.deepEqual(Object.keys(r.body.data.user).sort(), ['corpId', 'id']);
    assert.ok(Number.isInteger(r.body.data.user.id) && Number.isInteger(r.body.data.user.corpId));
    assert.deepEqual(Object.keys(r.body.data.account).sort(), [
      'fastDuration', 'fastTrainingAmount', 'totalFastDuration', 'totalFastTrainingAmount',
      'totalTtsWordsAmount', 'totalVoiceCloneAmount', 'ttsWordsAmount', 'voiceCloneAmount',
    ]);
    for (const v of Object.values(r.body.data.account)) assert.ok(Number.isInteger(v));
  });
});

describe('public catalog', () => {
  test('voices: spec fields, a real WAV audition, languages as an array, status 2', async () => {
    const r = await alice.call('POST', '/openapi/speaker/v2/fastPublicPageList', { page: 1, size: 100 });
    assert.equal(r.body.code, '0');
    const { records, totalRecord, pageNo, pageSize } = r.body.data;
    assert.equal(pageNo, 1);
    assert.equal(pageSize, 100);
    assert.ok(totalRecord >= 4);
    const langs = new Set(records.map((v: any) => `${v.languages[0]}-${v.sex}`));
    for (const need of ['en-1', 'en-2', 'zh-1', 'zh-2']) assert.ok(langs.has(need), `a ${need} voice`);
    for (const v of records) {
      assert.equal(typeof v.speakerId, 'string');
      assert.ok(Array.isArray(v.languages));
      assert.equal(v.status, 2);
      const wav = await download(v.ttsAudition);
      assert.equal(wav.status, 200);
      assert.equal(wav.type, 'audio/wav');
      const decoded = decodeWav(wav.body);
      assert.ok(decoded.durationMs > 1000, `${v.speakerId} audition is speech`);
    }
  });

  test('voices: paging, sex and name filters', async () => {
    const all = (await alice.call('POST', '/openapi/speaker/v2/fastPublicPageList', { page: 1, size: 100 })).body.data;
    const p2 = (await alice.call('POST', '/openapi/speaker/v2/fastPublicPageList', { page: 2, size: 2 })).body.data;
    assert.equal(p2.records.length, 2);
    assert.equal(p2.totalRecord, all.totalRecord);
    assert.deepEqual(p2.records.map((v: any) => v.speakerId), all.records.slice(2, 4).map((v: any) => v.speakerId));
    const women = (await alice.call('POST', '/openapi/speaker/v2/fastPublicPageList', { page: 1, size: 100, sex: 2 })).body.data;
    assert.ok(women.records.length > 0 && women.records.every((v: any) => v.sex === 2));
    const named = (await alice.call('POST', '/openapi/speaker/v2/fastPublicPageList', { page: 1, size: 100, name: 'mandarin' })).body.data;
    assert.ok(named.records.length >= 2 && named.records.every((v: any) => v.languages.includes('zh')));
  });

  test('page and size out of range name the field', async () => {
    for (const [body, field] of [[{ page: 0, size: 10 }, 'page'], [{ page: 1, size: 101 }, 'size'], [{ page: 1, size: 0 }, 'size'], [{ page: 1 }, 'size'], [{ page: '1', size: 10 }, 'page']] as const) {
      const r = await alice.call('POST', '/openapi/speaker/v2/fastPublicPageList', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error, 'INVALID_PARAMETER');
      assert.match(r.body.message, new RegExp(`^${field}\\b`));
    }
  });

  test('avatars: the list exists with its paging and is empty for now', async () => {
    const r = await alice.call('POST', '/openapi/robot/v2/fastPublicPageList', { page: 1, size: 10, name: 'x' });
    assert.equal(r.body.code, '0');
    assert.deepEqual(r.body.data, { pageSize: 10, pageNo: 1, totalRecord: 0, records: [] });
  });
});

async function ttsRoundTrip(c: Client, speakerId: string, content: string) {
  const before = await account(c);
  const r = await c.call('POST', '/openapi/speaker/v3/fastTts', { speakerId, content });
  assert.equal(r.body.code, '0', JSON.stringify(r.body));
  assert.equal(r.body.data.status, 0);
  assert.ok(Number.isInteger(r.body.data.id));
  const done = await c.waitTts(r.body.data.id);
  assert.equal(done.status, 2, JSON.stringify(done));
  const wav = await download(done.ttsUrl);
  assert.equal(wav.type, 'audio/wav');
  const decoded = decodeWav(wav.body);
  assert.ok(Math.abs(decoded.durationMs - done.duration) <= 1, `duration ${done.duration} vs WAV ${decoded.durationMs}`);
  const srt = await download(done.srtUrl);
  assert.equal(srt.status, 200);
  const cues = parseSrt(srt.body.toString('utf8'));
  assert.ok(cues.length >= 1);
  const last = cues[cues.length - 1];
  assert.ok(Math.abs(last.endMs - done.duration) <= 500, `last cue ends at ${last.endMs}, audio is ${done.duration} ms`);
  for (let i = 1; i < cues.length; i++) assert.ok(cues[i].startMs >= cues[i - 1].endMs);
  const after = await account(c);
  assert.equal(before.ttsWordsAmount - after.ttsWordsAmount, [...content].length, 'charged exactly the characters');
  assert.equal(after.totalTtsWordsAmount, before.totalTtsWordsAmount);
  return { done, decoded, cues };
}

describe('audio synthesis', () => {
  test('English: a decodable WAV whose length is duration, and timed subtitles', async () => {
    const { decoded, cues } = await ttsRoundTrip(alice, 'en-us-female',
      'Hello from dhp. This sentence is spoken by the embedded engine. The subtitles follow the real word timings.');
    assert.equal(decoded.sampleRate, 22050);
    assert.ok(cues.map((c) => c.text).join(' ').includes('embedded engine'));
  });

  test('Mandarin: a decodable WAV and subtitles from the word timings', async () => {
    const { cues } = await ttsRoundTrip(bob, 'zh-cn-male', '你好，欢迎使用数字人平台。这段语音由内置引擎合成。字幕来自真实的时间。');
    assert.ok(cues.map((c) => c.text).join('').includes('数字人平台'));
  });

  test('list and details use the spec fields; another app cannot read them', async () => {
    const r = await alice.call('POST', '/openapi/speaker/v2/tts/pageList', { page: 1, size: 10 });
    assert.equal(r.body.code, '0');
    assert.ok(r.body.data.totalRecord >= 1);
    const rec = r.body.data.records[0];
    for (const k of ['id', 'status', 'duration', 'ttsUrl', 'srtUrl']) assert.ok(k in rec, k);
    assert.equal(typeof rec.duration, 'number');
    assert.match(rec.createTime, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const mine = await alice.call('GET', `/openapi/speaker/v2/tts/${rec.id}`);
    assert.equal(mine.body.data.id, rec.id);
    const theirs = await bob.call('GET', `/openapi/speaker/v2/tts/${rec.id}`);
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.error, 'NOT_FOUND');
    const bobList = await bob.call('POST', '/openapi/speaker/v2/tts/pageList', { page: 1, size: 100 });
    assert.ok(!bobList.body.data.records.some((x: any) => x.id === rec.id));
  });

  test('bad input is refused with the field named, and creates nothing', async () => {
    const before = await account(alice);
    const count = (await alice.call('POST', '/openapi/speaker/v2/tts/pageList', { page: 1, size: 1 })).body.data.totalRecord;
    const cases: [unknown, number, string, RegExp][] = [
      ['{"speakerId": "en-us-female", "content": ', 400, 'INVALID_JSON', /not valid JSON/],
      [{ content: 'hi' }, 400, 'INVALID_PARAMETER', /^speakerId is required/],
      [{ speakerId: 'en-us-female' }, 400, 'INVALID_PARAMETER', /^content is required/],
      [{ speakerId: 'en-us-female', content: 5 }, 400, 'INVALID_PARAMETER', /^content must be a string/],
      [{ speakerId: 'en-us-female', content: '   ' }, 400, 'INVALID_PARAMETER', /^content .*empty/],
      [{ speakerId: 'en-us-female', content: 'x'.repeat(20001) }, 400, 'INVALID_PARAMETER', /^content is 20001 characters/],
      [{ speakerId: 'no-such-voice', content: 'hi' }, 400, 'INVALID_PARAMETER', /^speakerId "no-such-voice"/],
      [{ speakerId: 'en-us-female', content: 'hi', callbackUrl: 'ftp://example.com/x' }, 400, 'INVALID_PARAMETER', /^callbackUrl/],
      [{ speakerId: 'en-us-female', content: 'x'.repeat(2_000_000) }, 413, 'PAYLOAD_TOO_LARGE', /larger/],
    ];
    for (const [body, status, code, message] of cases) {
      const r = await alice.call('POST', '/openapi/speaker/v3/fastTts', body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error, code);
      assert.equal(r.body.code, errorTable[code as ErrorCode].code);
      assert.equal(r.body.success, false);
      assert.equal(r.body.data, null);
      assert.match(r.body.message, message);
    }
    const id = await alice.call('GET', '/openapi/speaker/v2/tts/abc');
    assert.equal(id.status, 400);
    assert.match(id.body.message, /^id must be a positive integer/);
    assert.deepEqual(await account(alice), before);
    assert.equal((await alice.call('POST', '/openapi/speaker/v2/tts/pageList', { page: 1, size: 1 })).body.data.totalRecord, count);
  });

  test('a task that cannot be spoken fails with a reason, refunds its quota and calls back', async () => {
    const rx = await startReceiver();
    try {
      const before = await account(alice);
      const r = await alice.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content: '...', callbackUrl: rx.url });
      assert.equal(r.body.code, '0');
      const done = await alice.waitTts(r.body.data.id);
      assert.equal(done.status, 3);
      assert.match(done.reason, /nothing that can be spoken/);
      assert.equal(done.ttsUrl, null);
      assert.deepEqual(await account(alice), before, 'reservation refunded');
      await waitFor('the failure callback', async () => rx.received.length > 0);
      const body = JSON.parse(rx.received[0].body);
      assert.equal(body.taskType, 'tts-synthesis');
      assert.equal(body.data.status, 3);
      assert.equal(body.data.id, r.body.data.id);
    } finally { await rx.close(); }
  });

  test('50 concurrent requests against a quota for 5 accept exactly 5', async () => {
    const carol = await Client.create(h, 'carol', { tts_words: 5 });
    const results = await Promise.all(Array.from({ length: 50 }, () =>
      carol.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-male', content: 'a' })));
    const accepted = results.filter((r) => r.body.code === '0');
    const refused = results.filter((r) => r.body.code !== '0');
    assert.equal(accepted.length, 5);
    assert.ok(refused.every((r) => r.status === 403 && r.body.error === 'QUOTA_EXCEEDED' && /quota/.test(r.body.message)));
    assert.equal((await carol.call('POST', '/openapi/speaker/v2/tts/pageList', { page: 1, size: 100 })).body.data.totalRecord, 5);
    for (const r of accepted) await carol.waitTts(r.body.data.id);
    const acc = await account(carol);
    assert.equal(acc.ttsWordsAmount, 0);
    assert.equal(acc.totalTtsWordsAmount, 5);
  });

  test('Idempotency-Key: same body answers the first result, another body is a 409', async () => {
    const key = `k-${Date.now()}`;
    const body = { speakerId: 'en-us-male', content: 'Only once, please.' };
    const a = await alice.call('POST', '/openapi/speaker/v3/fastTts', body, { 'idempotency-key': key });
    const b = await alice.call('POST', '/openapi/speaker/v3/fastTts', body, { 'idempotency-key': key });
    assert.equal(a.body.code, '0');
    assert.deepEqual(b.body, a.body);
    const c = await alice.call('POST', '/openapi/speaker/v3/fastTts', { ...body, content: 'Something else.' }, { 'idempotency-key': key });
    assert.equal(c.status, 409);
    assert.equal(c.body.error, 'IDEMPOTENCY_CONFLICT');
    // Another app may use the same key independently.
    const d = await bob.call('POST', '/openapi/speaker/v3/fastTts', body, { 'idempotency-key': key });
    assert.equal(d.body.code, '0');
    assert.notEqual(d.body.data.id, a.body.data.id);
  });
  test('Idempotency-Key left in progress by a process that died: refused while fresh, taken over once abandoned', async () => {
    const app = (await h.app.services.apps.byAppId(alice.appId))!;
    const body = { speakerId: 'en-us-male', content: 'After a crash.' };
    const hashOf = (b: unknown) => createHash('sha256').update(JSON.stringify(b)).digest('hex');
    const stuck = async (key: string, ageMs: number, b: unknown = body) => h.app.services.db.insertInto('idempotency').values({
      app_pk: app.id, route: 'fastTts', key, request_hash: hashOf(b), status_code: 0, response: '', created_at: Date.now() - ageMs,
    }).execute();
    await stuck('fresh-key', 1_000);
    const fresh = await alice.call('POST', '/openapi/speaker/v3/fastTts', body, { 'idempotency-key': 'fresh-key' });
    assert.equal(fresh.status, 409);
    await stuck('abandoned-key', ABANDONED_AFTER_MS + 1_000);
    const taken = await alice.call('POST', '/openapi/speaker/v3/fastTts', body, { 'idempotency-key': 'abandoned-key' });
    assert.equal(taken.body.code, '0', JSON.stringify(taken.body));
    const again = await alice.call('POST', '/openapi/speaker/v3/fastTts', body, { 'idempotency-key': 'abandoned-key' });
    assert.deepEqual(again.body, taken.body, 'and from then on it replays as usual');
    await stuck('abandoned-other-body', ABANDONED_AFTER_MS + 1_000, { ...body, content: 'Something else.' });
    const other = await alice.call('POST', '/openapi/speaker/v3/fastTts', body, { 'idempotency-key': 'abandoned-other-body' });
    assert.equal(other.status, 409, 'another body is never taken over');
  });
});


describe('callbacks', () => {
  test('tts-synthesis callback: spec body, signed with the app secret, callbackStatus 1', async () => {
    const rx = await startReceiver();
    try {
      const r = await alice.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content: 'Call me back.', callbackUrl: rx.url });
      const id = r.body.data.id;
      await waitFor('the callback', async () => rx.received.length > 0);
      const got = rx.received[0];
      const body = JSON.parse(got.body);
      assert.equal(body.taskType, 'tts-synthesis');
      assert.equal(body.data.id, id);
      assert.equal(body.data.status, 2);
      assert.ok(Number.isInteger(body.data.duration) && body.data.duration > 0);
      assert.match(body.data.ttsUrl, /^http:\/\/.*\.wav$/);
      assert.ok(verifyCallback(got.headers, got.body, alice.secret), 'signature verifies');
      assert.ok(!verifyCallback(got.headers, got.body, bob.secret), 'another secret does not verify');
      assert.ok(!verifyCallback(got.headers, got.body.replace('tts-synthesis', 'tts-synthesiz'), alice.secret), 'a changed body does not verify');
      const status = await waitFor('callbackStatus 1', async () => {
        const d = (await alice.call('GET', `/openapi/speaker/v2/tts/${id}`)).body.data;
        return d.callbackStatus === 1 ? d : null;
      });
      assert.equal(status.callbackStatus, 1);
    } finally { await rx.close(); }
  });

  test('a receiver that fails, then recovers: retried, callbackStatus 1', async () => {
    const rx = await startReceiver((n) => (n <= 2 ? { status: 500, body: 'oops' } : n === 3 ? { status: 200, body: '{"code":"1"}' } : { status: 200, body: '{"code":"0"}' }));
    try {
      const r = await alice.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content: 'Try again.', callbackUrl: rx.url });
      const d = await waitFor('callbackStatus 1', async () => {
        const x = (await alice.call('GET', `/openapi/speaker/v2/tts/${r.body.data.id}`)).body.data;
        return x.callbackStatus === 1 ? x : null;
      });
      assert.equal(d.callbackStatus, 1);
      assert.equal(rx.received.length, 4);
      // Each retry waited longer than the one before (capped exponential backoff).
      const gaps = rx.received.slice(1).map((x, i) => x.at - rx.received[i].at);
      assert.ok(gaps.every((g) => g >= 40), `gaps ${gaps}`);
    } finally { await rx.close(); }
  });

  test('a receiver that always fails: 6 attempts, then callbackStatus 2', async () => {
    const rx = await startReceiver(() => ({ status: 503, body: 'down' }));
    try {
      const r = await alice.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content: 'Nobody listens.', callbackUrl: rx.url });
      const d = await waitFor('callbackStatus 2', async () => {
        const x = (await alice.call('GET', `/openapi/speaker/v2/tts/${r.body.data.id}`)).body.data;
        return x.callbackStatus === 2 ? x : null;
      });
      assert.equal(d.status, 2, 'the synthesis itself succeeded');
      assert.equal(rx.received.length, 6);
    } finally { await rx.close(); }
  });
});

describe('operations', () => {
  test('health, readiness, metrics, OpenAPI and docs', async () => {
    assert.equal((await fetch(`${h.base}/healthz`)).status, 200);
    const ready = await (await fetch(`${h.base}/readyz`)).json();
    assert.equal(ready.data.status, 'ready');
    const metrics = await (await fetch(`${h.base}/metrics`)).text();
    for (const m of ['dhp_http_requests_total', 'dhp_tasks_total', 'dhp_task_duration_seconds', 'dhp_queue_depth', 'dhp_callbacks_total']) {
      assert.ok(metrics.includes(m), m);
    }
    assert.match(metrics, /dhp_tasks_total\{type="tts.synthesize",outcome="done"\} \d+/);
    const doc = await (await fetch(`${h.base}/openapi.json`)).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/openapi/oauth/token', '/openapi/user/v2/get', '/openapi/speaker/v3/fastTts', '/openapi/speaker/v2/tts/pageList',
      '/openapi/speaker/v2/tts/{id}', '/openapi/speaker/v2/fastPublicPageList', '/openapi/robot/v2/fastPublicPageList']) {
      assert.ok(doc.paths[p], p);
    }
    assert.equal((await fetch(`${h.base}/docs`, { redirect: 'follow' })).status, 200);
  });

  test('unknown endpoints and files answer 404 in the envelope', async () => {
    const r = await alice.call('GET', '/openapi/nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'NOT_FOUND');
    const f = await fetch(`${h.base}/files/tts/../../dhp.sqlite`);
    assert.equal(f.status, 404);
  });
});

describe('rate limit', () => {
  test('answers 429 in the envelope with Retry-After', async () => {
    const small = await startDhp({ rateLimitPerMinute: 5, workersEnabled: false });
    try {
      const c = await Client.create(small, 'limited');
      const codes: number[] = [];
      for (let i = 0; i < 7; i++) codes.push((await c.call('GET', '/openapi/user/v2/get')).status);
      assert.deepEqual(codes.slice(0, 5), [200, 200, 200, 200, 200]);
      const r = await c.call('GET', '/openapi/user/v2/get');
      assert.equal(r.status, 429);
      assert.equal(r.body.error, 'RATE_LIMITED');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    } finally { await small.close(); removeDir(small.dir); }
  });
});
