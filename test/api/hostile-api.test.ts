/**
 * Issue 12, the HTTP and authentication part: what a hostile tenant or an anonymous
 * client can send. Requests that fetch() would normalise or refuse to send go over a raw
 * TCP socket (node:net), byte for byte as an attacker would send them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { Client, removeDir, startDhp, startReceiver, waitFor, type Harness } from '../support/helpers.js';
import { silentWav } from '../support/fixtures.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { signature } from '../../src/services/auth.js';
import { errorTable, type ErrorCode } from '../../src/domain/errors.js';

const root = path.resolve(import.meta.dirname, '../..');
const media = mkdtempSync(path.join(tmpdir(), 'dhp-hostile-media-'));
const wavFile = path.join(media, 'tone.wav');

/** Every log line the main server writes, at the most verbose level: none may carry a token. */
const logLines: string[] = [];
let h: Harness;
let port: number;
let alice: Client;

before(async () => {
  silentWav(wavFile, 1);
  const dir = mkdtempSync(path.join(tmpdir(), 'dhp-test-'));
  const config = loadConfig({}, {
    host: '127.0.0.1', port: 0, dataDir: dir, databaseFile: path.join(dir, 'dhp.sqlite'), logLevel: 'trace',
    allowPrivateNetwork: true, callbackBackoffBaseMs: 100, callbackBackoffMaxMs: 400, taskBackoffBaseMs: 100, taskBackoffMaxMs: 400,
  });
  const app = await createApp(config, { log: pino({ level: 'trace' }, { write: (line: string) => { logLines.push(line); } }) });
  h = { app, base: await app.listen(), dir, close: () => app.close() };
  port = Number(new URL(h.base).port);
  alice = await Client.create(h, 'alice');
});
after(async () => { await h?.close(); if (h) removeDir(h.dir); removeDir(media); });

interface RawAnswer { status: number; headers: Record<string, string>; text: string; body: any }

/** Sends bytes as they are and reads the answer until the server closes; status 0 when nothing came back in time. */
function raw(bytes: string | Buffer, opts: { timeoutMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), opts.timeoutMs ?? 15_000);
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = all.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      const text = rest.join('\r\n\r\n');
      let body: any = null;
      try { body = JSON.parse(text); } catch { /* not JSON: the assertion says so */ }
      resolve({ status, headers, text, body });
    });
    socket.write(bytes);
  });
}

function requestBytes(method: string, target: string, opts: { headers?: string[]; body?: Buffer | string } = {}): Buffer {
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...(opts.headers ?? [])];
  if (body) head.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body ?? Buffer.alloc(0)]);
}

function multipart(file: Buffer, name = 'tone.wav', boundary = 'dhpBoundary42'): { body: Buffer; header: string } {
  return {
    header: `Content-Type: multipart/form-data; boundary=${boundary}`,
    body: Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: audio/wav\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
  };
}

function assertEnvelope(r: RawAnswer, status: number, code: string, what: string) {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  assert.ok(r.body && typeof r.body === 'object', `${what}: not JSON: ${r.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(r.body).sort(), ['code', 'data', 'error', 'message', 'success'], what);
  assert.equal(r.body.error, code, `${what}: ${r.text}`);
  assert.equal(r.body.code, errorTable[code as ErrorCode].code, `${what}: the numeric code of ${code}`);
  assert.equal(r.body.success, false, what);
  assert.equal(r.body.data, null, what);
}

const storedUploads = () => {
  const dir = path.join(h.dir, 'files', 'uploads');
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).length : 0;
};
const uploadRows = async () => Number((await h.app.services.db.selectFrom('uploads')
  .select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

/** Every /openapi operation the server documents, from its own OpenAPI document: a new route is covered without editing this list. */
function operations(): Array<{ method: string; path: string }> {
  const doc = h.app.server.swagger() as { paths: Record<string, Record<string, unknown>> };
  const ops: Array<{ method: string; path: string }> = [];
  for (const [p, methods] of Object.entries(doc.paths)) {
    if (!p.startsWith('/openapi/')) continue;
    for (const m of Object.keys(methods)) ops.push({ method: m.toUpperCase(), path: p.replace(/\{[^}]+\}/g, '1') });
  }
  return ops;
}

describe('must-fix 1: authentication is decided on the route that matched', () => {
  /** Spellings of one request target that the router resolves to the same route. */
  const spellings = (p: string) => {
    const encodedFirst = p.replace('/openapi/', '/%6fpenapi/');
    const encodedAll = p.replace('/openapi/', '/%6F%70%65%6E%61%70%69/');
    const lastStatic = p.split('/').filter((seg) => /^[a-zA-Z]+$/.test(seg)).pop()!;
    const encodedLater = p.replace(`/${lastStatic}`, `/%${lastStatic.charCodeAt(0).toString(16)}${lastStatic.slice(1)}`);
    return {
      'absolute-form': `http://127.0.0.1:${port}${p}`,
      'absolute-form, other host': `http://example.com${p}`,
      'percent-encoded first letter': encodedFirst,
      'percent-encoded prefix': encodedAll,
      'percent-encoded later segment': encodedLater,
      'absolute-form and percent-encoded': `http://127.0.0.1:${port}${encodedFirst}`,
      'trailing slash': `${p}/`,
    };
  };

  test('every route, through every spelling, without a token: 401 in the envelope, and no file stored', async () => {
    const ops = operations();
    assert.ok(ops.length >= 19, `the OpenAPI document lists ${ops.length} /openapi operations`);
    const upload = multipart(readFileSync(wavFile));
    let checked = 0;
    for (const op of ops) {
      if (op.path === '/openapi/oauth/token') continue;
      for (const [how, target] of Object.entries(spellings(op.path))) {
        const body = op.path === '/openapi/file/upload' ? upload.body : op.method === 'POST' ? '{"page":1,"size":10}' : undefined;
        const headers = op.path === '/openapi/file/upload' ? [upload.header] : body ? ['Content-Type: application/json'] : [];
        const r = await raw(requestBytes(op.method, target, { headers, body }));
        assertEnvelope(r, 401, 'UNAUTHORIZED', `${op.method} ${target} (${how})`);
        checked++;
      }
      if (op.method === 'GET') {
        // HEAD is answered by the GET route: the same decision, without a body.
        const r = await raw(requestBytes('HEAD', `http://127.0.0.1:${port}${op.path}`));
        assert.equal(r.status, 401, `HEAD ${op.path}`);
      }
    }
    assert.equal(checked, (ops.length - 1) * 7);
    assert.equal(storedUploads(), 0, 'an unauthenticated upload was stored');
    assert.equal(await uploadRows(), 0);
  });

  test('the same spellings with a token reach the route (so the 401s above are the route deciding, not a parse failure)', async () => {
    for (const [how, target] of Object.entries(spellings('/openapi/user/v2/get'))) {
      const r = await raw(requestBytes('GET', `${target}?access_token=${alice.token}`));
      assert.equal(r.status, 200, `${how}: ${r.text}`);
      assert.equal(r.body.code, '0', how);
    }
    const upload = multipart(readFileSync(wavFile));
    const r = await raw(requestBytes('POST', `http://127.0.0.1:${port}/%6fpenapi/file/upload?access_token=${alice.token}`,
      { headers: [upload.header], body: upload.body }));
    assert.equal(r.body.code, '0', r.text);
    assert.equal(await uploadRows(), 1, 'the upload belongs to the app that sent it');
    const row = await h.app.services.db.selectFrom('uploads').select('app_pk').executeTakeFirstOrThrow();
    assert.equal(Number(row.app_pk), (await h.app.services.apps.byAppId(alice.appId))!.id);
  });

  test('the token endpoint stays public in every spelling', async () => {
    const ts = Date.now();
    const q = `grant_type=sign&appId=${alice.appId}&timestamp=${ts}&sign=${signature(alice.appId, ts, alice.secret)}`;
    const r = await raw(requestBytes('GET', `http://127.0.0.1:${port}/%6fpenapi/oauth/token?${q}`));
    assert.equal(r.body.code, '0', r.text);
  });
});

describe('must-fix 7: fuzzing findings', () => {
  const huge = ['1e30', '9007199254740993', '-1e30', '1e308'];
  const integerFields: Array<{ path: string; body: (x: string) => string; field: string }> = [];
  for (const p of ['/openapi/speaker/v2/tts/pageList', '/openapi/video/v2/pageList', '/openapi/video/v2/training/pageList',
    '/openapi/speaker/v2/clonePageList', '/openapi/robot/v2/fastPublicPageList', '/openapi/speaker/v2/fastPublicPageList']) {
    integerFields.push({ path: p, field: 'page', body: (x) => `{"page":${x},"size":10}` });
    integerFields.push({ path: p, field: 'size', body: (x) => `{"page":1,"size":${x}}` });
  }
  integerFields.push({ path: '/openapi/speaker/v2/clonePageList', field: 'status', body: (x) => `{"page":1,"size":10,"status":${x}}` });
  const training = (id: string, level: string) =>
    `{"id":${id},"name":"n","videoUrl":"http://example.com/v.mp4","authorizeUrl":"http://example.com/a.mp4","authorizeText":"I consent.","level":${level}}`;
  integerFields.push({ path: '/openapi/video/v3/create/training', field: 'id', body: (x) => training(x, '1') });
  integerFields.push({ path: '/openapi/video/v3/create/training', field: 'level', body: (x) => training('null', x) });
  integerFields.push({ path: '/openapi/video/v3/simpleCreate', field: 'sceneId', body: (x) => `{"sceneId":${x},"text":"Hi.","speakerId":"en-us-female"}` });
  integerFields.push({ path: '/openapi/video/v3/simpleCreate', field: 'pn', body: (x) => `{"sceneId":-101,"text":"Hi.","speakerId":"en-us-female","pn":${x}}` });
  integerFields.push({ path: '/openapi/video/v3/authorize', field: 'sceneId', body: (x) => `{"sceneId":${x},"authorizeUrl":"http://example.com/a.mp4","authorizeText":"I consent."}` });

  test('huge integers in every integer field answer 400 naming the field, never 500', async () => {
    const fuzzer = await Client.create(h, 'fuzzer');
    for (const c of integerFields) {
      for (const x of huge) {
        const r = await fuzzer.call('POST', c.path, c.body(x));
        assert.equal(r.status, 400, `${c.path} ${c.field}=${x}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error, 'INVALID_PARAMETER');
        assert.ok(r.body.message.includes(c.field), `${c.path} ${c.field}=${x}: ${r.body.message}`);
      }
    }
  });

  test('every integer a client sends has a minimum and a maximum, every string a length limit', () => {
    const doc = h.app.server.swagger() as { paths: Record<string, Record<string, any>> };
    const unbounded: string[] = [];
    const walk = (s: any, where: string) => {
      if (!s || typeof s !== 'object') return;
      if ((s.type === 'integer' || s.type === 'number') && s.const === undefined && s.enum === undefined) {
        if (s.maximum === undefined || s.minimum === undefined) unbounded.push(where);
      }
      if (s.type === 'string' && s.maxLength === undefined && !(typeof s.pattern === 'string' && /\{\d+(,\d+)?\}\$$/.test(s.pattern))) unbounded.push(where);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${where}.${k}`);
      for (const v of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) walk(v, where);
      if (s.items) walk(s.items, `${where}[]`);
    };
    for (const [p, methods] of Object.entries(doc.paths)) {
      if (!p.startsWith('/openapi/')) continue;
      for (const [m, op] of Object.entries(methods)) {
        for (const param of op.parameters ?? []) walk(param.schema, `${m} ${p} ${param.in} ${param.name}`);
        for (const [type, content] of Object.entries<any>(op.requestBody?.content ?? {})) walk(content.schema, `${m} ${p} body (${type})`);
      }
    }
    assert.deepEqual(unbounded, []);
  });

  test('videoName and other strings are length-limited', async () => {
    const r = await alice.call('POST', '/openapi/video/v3/simpleCreate', { videoName: 'x'.repeat(201), sceneId: -101, text: 'Hi.', speakerId: 'en-us-female' });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /videoName must be at most 200 characters/);
  });

  test('multipart without a boundary answers 400 in the envelope', async () => {
    for (const type of ['multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; charset=utf-8']) {
      const r = await raw(requestBytes('POST', `/openapi/file/upload?access_token=${alice.token}`, { headers: [`Content-Type: ${type}`], body: 'abcd' }));
      assertEnvelope(r, 400, 'INVALID_PARAMETER', type);
    }
  });

  test('a multipart body that ends early is answered 400 and its partial file removed', async () => {
    const before = await uploadRows();
    const file = readFileSync(wavFile);
    const { header, body } = multipart(file);
    // Cut in the part's headers, inside the file, and inside the closing delimiter. (Cut after the
    // delimiter, only its final "--" missing, the file is whole and busboy rightly accepts it.)
    for (const cut of [100, 200, Math.floor(body.length / 2), body.length - 20]) {
      const r = await raw(requestBytes('POST', `/openapi/file/upload?access_token=${alice.token}`, { headers: [header], body: body.subarray(0, cut) }));
      assertEnvelope(r, 400, 'INVALID_PARAMETER', `cut at ${cut} of ${body.length}`);
      // Cut in the headers there is no file part at all; cut later, the file is known to be incomplete.
      assert.match(r.body.message, cut === 100 ? /file is required/ : /ended before the file did/);
    }
    // Chunked, with the last chunk sent and no closing boundary.
    const chunked = Buffer.concat([
      Buffer.from(`POST /openapi/file/upload?access_token=${alice.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${header}\r\nTransfer-Encoding: chunked\r\n\r\n`),
      Buffer.from(`${(1000).toString(16)}\r\n`), body.subarray(0, 1000), Buffer.from('\r\n0\r\n\r\n'),
    ]);
    assertEnvelope(await raw(chunked), 400, 'INVALID_PARAMETER', 'chunked');
    assert.equal(await uploadRows(), before, 'nothing recorded');
    const work = path.join(h.dir, 'work');
    await waitFor('scratch folders removed', async () => !existsSync(work) || readdirSync(work).length === 0, 10_000);
  });

  test('router and HTTP-parser refusals answer in the envelope and never echo the token', async () => {
    const t = alice.token;
    const cases: Array<[string, Buffer, number, string]> = [
      ['bad percent-encoding', requestBytes('GET', `/openapi/video/v2/get/%zz?access_token=${t}`), 400, 'MALFORMED_REQUEST'],
      ['bad percent-encoding in the query', requestBytes('GET', `/openapi/user/v2/get?access_token=${t}&x=%zz`), 200, '0'],
      ['path id over 100 characters', requestBytes('GET', `/openapi/video/v2/get/${'1'.repeat(150)}?access_token=${t}`), 400, 'INVALID_PARAMETER'],
      ['speakerId over 100 characters', requestBytes('GET', `/openapi/speaker/v2/clone/${'C'.repeat(101)}?access_token=${t}`), 400, 'INVALID_PARAMETER'],
      ['header over the limit', requestBytes('GET', `/openapi/user/v2/get?access_token=${t}`, { headers: [`X-Big: ${'a'.repeat(20_000)}`] }), 431, 'REQUEST_HEADERS_TOO_LARGE'],
      ['lowercase method', requestBytes('get', `/openapi/user/v2/get?access_token=${t}`), 400, 'MALFORMED_REQUEST'],
      ['unknown method', requestBytes('FROB', `/openapi/user/v2/get?access_token=${t}`), 400, 'MALFORMED_REQUEST'],
      ['raw non-ASCII in the URL', Buffer.concat([Buffer.from('GET /openapi/video/v2/get/'), Buffer.from('é'), requestBytes('', `?access_token=${t}`).subarray(1)]), 400, 'MALFORMED_REQUEST'],
      ['space in a header name', requestBytes('GET', `/openapi/user/v2/get?access_token=${t}`, { headers: ['Bad Header: x'] }), 400, 'MALFORMED_REQUEST'],
      ['control character in a header value', requestBytes('GET', `/openapi/user/v2/get?access_token=${t}`, { headers: ['X-A: a\u0001b'] }), 400, 'MALFORMED_REQUEST'],
      ['no Host', Buffer.from(`GET /openapi/user/v2/get?access_token=${t} HTTP/1.1\r\nConnection: close\r\n\r\n`), 400, 'MALFORMED_REQUEST'],
      ['Content-Length and Transfer-Encoding', requestBytes('POST', `/openapi/video/v2/pageList?access_token=${t}`, { headers: ['Transfer-Encoding: chunked', 'Content-Type: application/json'], body: '0\r\n\r\n' }), 400, 'MALFORMED_REQUEST'],
      ['unknown endpoint', requestBytes('GET', `/openapi/nope?access_token=${t}`), 404, 'NOT_FOUND'],
      ['unknown endpoint, token in the path', requestBytes('GET', `/nope/x?y=1&access_token=${t}`), 404, 'NOT_FOUND'],
    ];
    for (const [what, bytes, status, code] of cases) {
      const r = await raw(bytes);
      assert.ok(!r.text.includes(t), `${what}: the answer echoes the token: ${r.text}`);
      if (code === '0') { assert.equal(r.body?.code, '0', `${what}: ${r.text}`); continue; }
      assertEnvelope(r, status, code, what);
      assert.ok(r.body.message.length > 20, `${what}: a sentence, not a parser code: ${r.body.message}`);
    }
    assert.ok(logLines.length > 0, 'the server logs at trace level');
    const leaked = logLines.filter((l) => l.includes(t));
    assert.deepEqual(leaked, [], 'log lines carry the token');
  });

  test('cancelling an ended video has its own code, not IDEMPOTENCY_CONFLICT', async () => {
    const app = (await h.app.services.apps.byAppId(alice.appId))!;
    const now = Date.now();
    const row = await h.app.services.db.insertInto('videos').values({
      app_pk: app.id, video_name: null, scene_id: -101, audio_url: null, text: 'Hi.', speaker_id: 'en-us-female', pn: 1, callback_url: null,
      status: 3, fail_reason: null, video_key: null, srt_key: null, cover_key: null, duration_ms: 1000, callback_status: 0, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    const r = await alice.call('POST', `/openapi/video/v2/cancel/${row.id}`);
    assert.equal(r.status, 409);
    assert.equal(r.body.error, 'VIDEO_ALREADY_ENDED');
    assert.match(r.body.message, /already ended/);
  });

  test('re-running a training that is still running has its own code, not IDEMPOTENCY_CONFLICT', async () => {
    const app = (await h.app.services.apps.byAppId(alice.appId))!;
    const now = Date.now();
    const row = await h.app.services.db.insertInto('trainings').values({
      app_pk: app.id, title: 't', video_url: 'http://example.com/v.mp4', authorize_url: 'http://example.com/a.mp4', authorize_text: 'I consent.',
      level: 1, compress: 0, callback_url: null, status: 1, comment: '', run: 1, scene_id: null, cover_key: null, authorize_status: 0,
      callback_status: 0, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    const r = await alice.call('POST', '/openapi/video/v3/create/training', {
      id: Number(row.id), name: 't', videoUrl: 'http://example.com/v.mp4', authorizeUrl: 'http://example.com/a.mp4', authorizeText: 'I consent.', level: 1,
    });
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.error, 'TRAINING_STILL_RUNNING');
  });
});

describe('should-fix: tokens, revocation, replay', () => {
  /**
   * A second server on the same database (as a second process would be), with small limits:
   * what one server or the CLI changes, the other must see.
   */
  let lim: Harness;
  before(async () => {
    lim = await startDhp({
      workersEnabled: false, rateLimitPerMinute: 4, tokenRateLimitPerMinute: 12, maxTokensPerApp: 2, authCacheMs: 1000,
      metricsToken: 'metrics-secret-0123456789',
    }, h.dir);
  });
  after(async () => { await lim?.close(); });

  const tokenUrl = (c: Client, ts: number, secret = c.secret) =>
    `/openapi/oauth/token?grant_type=sign&appId=${c.appId}&timestamp=${ts}&sign=${signature(c.appId, ts, secret)}`;
  const limClient = async (name: string) => {
    const a = await lim.app.services.apps.create({ name });
    const c = new Client(lim.base, a.appId, a.secret);
    await c.login();
    return c;
  };

  test('the rate limit counts per app: a fresh token per call buys no fresh allowance', async () => {
    const c = await limClient('many-tokens');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await c.call('GET', '/openapi/user/v2/get')).status);
    await c.login();
    const fresh = await c.call('GET', '/openapi/user/v2/get');
    assert.deepEqual([...statuses, fresh.status], [200, 200, 200, 200, 429]);
    assert.match(fresh.body.message, /this app/);
  });

  test('the token endpoint is limited per client address', async () => {
    // From another loopback address, so that the other tests' tokens (from 127.0.0.1) do not count.
    const get = (p: string) => new Promise<{ status: number; body: any; retryAfter?: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: Number(new URL(lim.base).port), path: p, localAddress: '127.0.0.9' }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text), retryAfter: res.headers['retry-after'] as string | undefined }));
      });
      req.on('error', reject);
      req.end();
    });
    const c = new Client(lim.base, 'no-such-app', 'x');
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof get>> | undefined;
    // The bucket refills at 12 a minute: on a slow machine one more may pass before the refusal.
    for (let i = 0; i < 20 && last?.status !== 429; i++) { last = await get(tokenUrl(c, Date.now())); statuses.push(last.status); }
    assert.deepEqual(statuses.slice(0, 12), Array(12).fill(401), 'signatures are checked until the address has used its allowance');
    assert.ok(statuses.length <= 14, statuses.join());
    assert.equal(last!.body.error, 'RATE_LIMITED');
    assert.ok(Number(last!.retryAfter) >= 1);
  });

  test('an app holds at most maxTokensPerApp live tokens: signing for one more ends the oldest', async () => {
    const c = await limClient('capped');
    const first = c.token;
    await c.login();
    const second = c.token;
    await c.login();
    const use = async (token: string) => { const k = new Client(lim.base, c.appId, c.secret); k.token = token; const b = (await k.call('GET', '/openapi/user/v2/get')).body; return b.code === '0' ? '0' : b.error; };
    assert.equal(await use(first), 'UNAUTHORIZED');
    assert.equal(await use(second), '0');
    assert.equal(await use(c.token), '0');
  });

  test('a signed token URL is good for one token, and timestamps ahead of the clock are refused', async () => {
    const ts = Date.now();
    const first = await alice.raw('GET', tokenUrl(alice, ts));
    assert.equal(first.body.code, '0');
    const replay = await alice.raw('GET', tokenUrl(alice, ts));
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error, 'SIGNATURE_INVALID');
    assert.match(replay.body.message, /already used/);
    const ahead = await alice.raw('GET', tokenUrl(alice, Date.now() + 60_000));
    assert.equal(ahead.body.error, 'TIMESTAMP_OUT_OF_WINDOW');
    assert.match(ahead.body.message, /ahead/);
    assert.equal((await alice.raw('GET', tokenUrl(alice, Date.now() + 10_000))).body.code, '0', 'small drift is tolerated');
    assert.equal((await alice.raw('GET', tokenUrl(alice, Date.now() - 200_000))).body.code, '0', 'past skew within the window is accepted');
  });

  test('revocation in this process is immediate: disable, enable, revoke-tokens, rotate-secret', async () => {
    const c = await Client.create(h, 'revoked');
    const apps = h.app.services.apps;
    assert.equal((await c.call('GET', '/openapi/user/v2/get')).body.code, '0');
    await apps.disable(c.appId);
    const refused = await c.call('GET', '/openapi/user/v2/get');
    assert.equal(refused.status, 401);
    assert.match(refused.body.message, /disabled/);
    assert.match((await c.raw('GET', tokenUrl(c, Date.now()))).body.message, /disabled/);
    await apps.enable(c.appId);
    assert.equal((await c.call('GET', '/openapi/user/v2/get')).body.code, '0', 'enabled again, the token works');

    assert.equal(await apps.revokeTokens(c.appId), 1);
    assert.equal((await c.call('GET', '/openapi/user/v2/get')).body.error, 'UNAUTHORIZED');
    await c.login();
    assert.equal((await c.call('GET', '/openapi/user/v2/get')).body.code, '0');

    const { secret } = await apps.rotateSecret(c.appId);
    assert.equal((await c.call('GET', '/openapi/user/v2/get')).body.error, 'UNAUTHORIZED', 'tokens signed with the old secret end');
    assert.equal((await c.raw('GET', tokenUrl(c, Date.now()))).body.error, 'SIGNATURE_INVALID', 'the old secret is refused');
    assert.equal((await c.raw('GET', tokenUrl(c, Date.now(), secret))).body.code, '0');
  });

  test('a token deleted or an app disabled by another process stops working within authCacheMs', async () => {
    const c = await limClient('elsewhere');
    assert.equal((await c.call('GET', '/openapi/user/v2/get')).body.code, '0', 'cached by the second server');
    // The main server plays the other process: its change reaches the second server only through the database.
    const hash = createHash('sha256').update(c.token).digest('hex');
    await h.app.services.db.deleteFrom('tokens').where('token_hash', '=', hash).execute();
    await waitFor('the deleted token refused', async () => (await c.call('GET', '/openapi/user/v2/get')).body.error === 'UNAUTHORIZED', 10_000);
    const d = await limClient('disabled-elsewhere');
    assert.equal((await d.call('GET', '/openapi/user/v2/get')).body.code, '0');
    await h.app.services.apps.disable(d.appId);
    await waitFor('the disabled app refused', async () => /disabled/.test((await d.call('GET', '/openapi/user/v2/get')).body.message), 10_000);
  });

  test('dhp app disable / revoke-tokens / rotate-secret on the command line', async () => {
    const c = await Client.create(h, 'cli-revoked');
    const dhp = async (...args: string[]) => (await promisify(execFile)(process.execPath, ['bin/dhp.js', 'app', ...args], {
      cwd: root, env: { ...process.env, DHP_DATA_DIR: h.dir, DHP_FROM_SOURCE: '1' }, encoding: 'utf8',
    })).stdout;
    assert.equal((await c.call('GET', '/openapi/user/v2/get')).body.code, '0');
    assert.deepEqual(JSON.parse(await dhp('disable', c.appId, '--json')), { appId: c.appId, disabled: true });
    await waitFor('disabled app refused', async () => /disabled/.test((await c.call('GET', '/openapi/user/v2/get')).body.message), 10_000);
    assert.ok(JSON.parse(await dhp('list', '--json')).some((a: any) => a.appId === c.appId && a.disabled));
    await dhp('enable', c.appId);
    await waitFor('enabled app accepted', async () => (await c.call('GET', '/openapi/user/v2/get')).body.code === '0', 10_000);
    assert.deepEqual(JSON.parse(await dhp('revoke-tokens', c.appId, '--json')), { appId: c.appId, revoked: 1 });
    await waitFor('revoked token refused', async () => (await c.call('GET', '/openapi/user/v2/get')).body.error === 'UNAUTHORIZED', 10_000);
    const rotated = JSON.parse(await dhp('rotate-secret', c.appId, '--json'));
    assert.equal(rotated.appId, c.appId);
    assert.notEqual(rotated.secret, c.secret);
    assert.equal((await c.raw('GET', tokenUrl(c, Date.now(), rotated.secret))).body.code, '0');
  });

  test('/metrics: loopback only without DHP_METRICS_TOKEN, the bearer token with it', async () => {
    assert.equal((await fetch(`${h.base}/metrics`)).status, 200);
    const proxied = await fetch(`${h.base}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(proxied.status, 401);
    assert.equal(((await proxied.json()) as any).error, 'UNAUTHORIZED');
    assert.equal((await fetch(`${lim.base}/metrics`)).status, 401, 'with a token set, loopback needs it too');
    assert.equal((await fetch(`${lim.base}/metrics`, { headers: { authorization: 'Bearer wrong-secret-0123456789' } })).status, 401);
    const ok = await fetch(`${lim.base}/metrics`, { headers: { authorization: 'Bearer metrics-secret-0123456789' } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /dhp_http_requests_total/);
  });

  test('/files answers as a download that browsers never run as a page', async () => {
    const r = await fetch(`${h.base}/files/voices/en-us-female.wav`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.headers.get('content-security-policy') ?? '', /^sandbox/);
    assert.equal(r.headers.get('content-disposition'), 'attachment; filename="en-us-female.wav"');
  });
});

describe('should-fix: callbacks', () => {
  test('the verification snippet in docs/callbacks.md refuses a multi-byte signature instead of throwing', () => {
    const doc = readFileSync(path.join(root, 'docs', 'callbacks.md'), 'utf8');
    const js = /```js\n([\s\S]*?)```/.exec(doc)![1].replace(/^import .*$/m, '');
    const verify = new Function('createHmac', 'timingSafeEqual', `${js}\nreturn verify;`)(createHmac, timingSafeEqual);
    const ts = String(Date.now());
    const body = '{"taskType":"tts-synthesis","data":{"id":1}}';
    const good = `v1=${createHmac('sha256', 's3cret').update(`${ts}.${body}`).digest('hex')}`;
    assert.equal(verify({ 'x-dhp-timestamp': ts, 'x-dhp-signature': good }, body, 's3cret'), true);
    // As many characters as a real signature, more bytes.
    const forged = `v1=${'é'.repeat(64)}`;
    assert.equal(forged.length, good.length);
    assert.equal(verify({ 'x-dhp-timestamp': ts, 'x-dhp-signature': forged }, body, 's3cret'), false);
    assert.equal(verify({ 'x-dhp-timestamp': ts }, body, 's3cret'), false);
  });

  test('each callback carries a delivery id, the same on every attempt, and the body is unchanged', async () => {
    const receiver = await startReceiver((n) => (n === 1 ? { status: 500, body: 'busy' } : { status: 200, body: '{"code":"0"}' }));
    try {
      const c = await Client.create(h, 'callbacks');
      for (const content of ['First.', 'Second.']) {
        const r = await c.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content, callbackUrl: receiver.url });
        assert.equal(r.body.code, '0');
      }
      await waitFor('three deliveries', async () => receiver.received.length >= 3, 60_000);
      const ids = receiver.received.map((x) => x.headers['x-dhp-delivery-id'] as string);
      assert.ok(ids.every((id) => /^\d+$/.test(id)), ids.join());
      const byTask = new Map<number, Set<string>>();
      for (const x of receiver.received) {
        const b = JSON.parse(x.body);
        assert.deepEqual(Object.keys(b).sort(), ['data', 'taskType']);
        byTask.set(b.data.id, (byTask.get(b.data.id) ?? new Set()).add(x.headers['x-dhp-delivery-id'] as string));
      }
      assert.equal(byTask.size, 2);
      for (const set of byTask.values()) assert.equal(set.size, 1, 'one id per callback, whatever the attempt');
      assert.equal(new Set(ids).size, 2, 'two callbacks, two ids');
    } finally { await receiver.close(); }
  });
});
