import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DhpClient, DhpError, Page, _setTokenStateForTesting, verifyCallback, type Tts } from '../../src/client/index.js';
import { encodeWavPcm16 } from '../../src/media/wav.js';
import { removeDir, startDhp, startReceiver, waitFor, type Harness } from '../support/helpers.js';

/** A fetch that counts token requests, so tests can see when the SDK signs. */
function countingFetch() {
  const calls: string[] = [];
  const f: typeof fetch = (input, init) => {
    calls.push(new URL(String(input)).pathname);
    return fetch(input, init);
  };
  return { f, tokenCalls: () => calls.filter((p) => p === '/openapi/oauth/token').length, calls };
}

describe('SDK against a real dhp server', () => {
  let h: Harness;
  let appId: string;
  let secret: string;
  let client: DhpClient;

  before(async () => {
    h = await startDhp();
    ({ appId, secret } = await h.app.services.apps.create({ name: 'sdk' }));
    client = new DhpClient({ baseUrl: h.base, appId, secret });
  });
  after(async () => {
    await h.close();
    removeDir(h.dir);
  });

  it('signs for a token and reads the account', async () => {
    const acc = await client.account.get();
    assert.equal(typeof acc.user.id, 'number');
    assert.equal(typeof acc.account.ttsWordsAmount, 'number');
    assert.ok(client._token);
    assert.ok(client._tokenExpiresAt > Date.now() + 60_000);
  });

  it('two clients share nothing', async () => {
    const other = await h.app.services.apps.create({ name: 'other' });
    const a = new DhpClient({ baseUrl: h.base, appId, secret });
    const b = new DhpClient({ baseUrl: h.base, appId: other.appId, secret: other.secret });
    const [accA, accB] = await Promise.all([a.account.get(), b.account.get()]);
    assert.notEqual(accA.user.id, accB.user.id);
    assert.notEqual(a._token, b._token);
    const created = await a.tts.create({ speakerId: 'en-us-female', content: 'Mine only.' });
    const bPage = await b.tts.list({ size: 10 });
    assert.equal(bPage.totalRecord, 0);
    await assert.rejects(b.tts.get(created.id), (e: unknown) => e instanceof DhpError && e.status >= 400 && e.status < 500);
    await a.waitFor('tts', created.id, { intervalMs: 50, timeoutMs: 60_000 });
  });

  it('refreshes the token when it is about to expire, and once on a 401', async () => {
    const cf = countingFetch();
    const c = new DhpClient({ baseUrl: h.base, appId, secret, fetch: cf.f });
    await c.account.get();
    await c.account.get();
    assert.equal(cf.tokenCalls(), 1, 'a fresh token is reused');
    const first = c._token;

    // Less than 60 s left: the SDK signs again before calling.
    _setTokenStateForTesting(c, { expiresAt: Date.now() + 30_000 });
    await c.account.get();
    assert.equal(cf.tokenCalls(), 2);
    assert.notEqual(c._token, first);

    // The server rejects the token (401 UNAUTHORIZED): the SDK signs once more and retries.
    _setTokenStateForTesting(c, { token: 'not-a-real-token', expiresAt: Date.now() + 3_600_000 });
    const acc = await c.account.get();
    assert.equal(typeof acc.user.id, 'number');
    assert.equal(cf.tokenCalls(), 3);
    assert.notEqual(c._token, 'not-a-real-token');
  });

  it('a bad secret is a typed error, not a refresh loop', async () => {
    const cf = countingFetch();
    const c = new DhpClient({ baseUrl: h.base, appId, secret: 'wrong', fetch: cf.f });
    await assert.rejects(c.account.get(), (e: unknown) => e instanceof DhpError && e.code === 'SIGNATURE_INVALID' && e.status >= 400);
    assert.equal(cf.tokenCalls(), 1);
  });

  it('lists public voices and avatars', async () => {
    const voices = await client.voices.listPublic({ page: 1, size: 5 });
    assert.ok(voices instanceof Page);
    assert.ok(voices.records.length > 0);
    assert.ok(voices.records.some((v) => v.speakerId === 'en-us-female'));
    assert.equal(voices.pageNo, 1);
    const avatars = await client.avatars.listPublic();
    assert.ok(avatars.records.length > 0);
    assert.equal(typeof avatars.records[0].id, 'number');
  });

  it('tts.create then waitFor resolves with status 2', async () => {
    const created = await client.tts.create({ speakerId: 'en-us-female', content: 'Hello from the SDK.' }, { idempotencyKey: 'sdk-hello-1' });
    const again = await client.tts.create({ speakerId: 'en-us-female', content: 'Hello from the SDK.' }, { idempotencyKey: 'sdk-hello-1' });
    assert.equal(again.id, created.id, 'the idempotency key is sent');
    const seen: number[] = [];
    const done = await client.waitFor('tts', created.id, { intervalMs: 50, timeoutMs: 60_000, onProgress: (_r, s) => seen.push(s) });
    assert.equal(done.status, 2);
    assert.ok(done.ttsUrl);
    assert.equal(seen.at(-1), 2);
    assert.equal(new Set(seen).size, seen.length, 'onProgress only on changes');
  });

  it('iterates every record across pages', async () => {
    const other = await h.app.services.apps.create({ name: 'pages' });
    const c = new DhpClient({ baseUrl: h.base, appId: other.appId, secret: other.secret });
    const ids: number[] = [];
    for (const text of ['One.', 'Two.', 'Three.']) ids.push((await c.tts.create({ speakerId: 'en-us-male', content: text })).id);

    const first = await c.tts.list({ size: 2 });
    assert.equal(first.records.length, 2);
    assert.equal(first.totalRecord, 3);
    assert.equal(first.hasNextPage(), true);
    const second = await first.getNextPage();
    assert.equal(second.records.length, 1);
    assert.equal(second.hasNextPage(), false);

    const all: Tts[] = [];
    for await (const t of c.tts.list({ size: 2 })) all.push(t);
    assert.deepEqual(all.map((t) => t.id).sort((x, y) => x - y), [...ids].sort((x, y) => x - y));
    for (const id of ids) await c.waitFor('tts', id, { intervalMs: 50, timeoutMs: 60_000 });
  });

  it('throws DhpError INVALID_PARAMETER (400) on a bad request', async () => {
    await assert.rejects(client.tts.create({ speakerId: 'en-us-female', content: '   ' }), (e: unknown) => {
      assert.ok(e instanceof DhpError);
      assert.equal(e.code, 'INVALID_PARAMETER', 'the symbolic name, from the envelope\'s error field');
      assert.equal(e.apiCode, '40001', 'the envelope\'s numeric code');
      assert.equal(e.status, 400);
      assert.match(e.message, /content/);
      return true;
    });
    await assert.rejects(client.tts.get(999999), (e: unknown) => e instanceof DhpError && e.status === 404);
  });

  it('waitFor stops at once when aborted, even in the middle of a poll that hangs', async () => {
    // A stand-in whose task endpoint never answers; the token endpoint goes to dhp.
    const server: Server = createServer(async (req, res) => {
      if (!req.url?.startsWith('/openapi/oauth/')) return; // hangs
      const r = await fetch(h.base + req.url);
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const c = new DhpClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, appId, secret, maxRetries: 0 });
      const abort = new AbortController();
      setTimeout(() => abort.abort(new Error('stopped by the caller')), 300);
      const t0 = Date.now();
      await assert.rejects(c.waitFor('video', 1, { signal: abort.signal }), /stopped by the caller/);
      assert.ok(Date.now() - t0 < 2000, `aborted after ${Date.now() - t0} ms`);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('retries 503 with Retry-After, and never retries a 400', async () => {
    // A stand-in that answers the account endpoint 503 twice, then proxies everything to dhp.
    let accountHits = 0;
    let fastTtsHits = 0;
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/openapi/user/v2/get' && ++accountHits <= 2) {
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' })
            .end('{"code":"50301","success":false,"message":"busy","data":null,"error":"UNAVAILABLE"}');
          return;
        }
        if (url.pathname === '/openapi/speaker/v3/fastTts') fastTtsHits++;
        const body = Buffer.concat(chunks);
        const r = await fetch(h.base + req.url, {
          method: req.method,
          headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json') },
          body: body.length ? body : undefined,
        });
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await r.arrayBuffer()));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const c = new DhpClient({ baseUrl: base, appId, secret, maxRetries: 3 });
      const t0 = Date.now();
      const acc = await c.account.get();
      assert.equal(typeof acc.user.id, 'number');
      assert.equal(accountHits, 3);
      assert.ok(Date.now() - t0 < 2000, 'Retry-After: 0 is honoured rather than the default backoff');

      await assert.rejects(c.tts.create({ speakerId: 'en-us-female', content: '' }), (e: unknown) => e instanceof DhpError && e.status === 400);
      assert.equal(fastTtsHits, 1);

      // Out of retries: the last 503 surfaces as a DhpError.
      accountHits = 0;
      const strict = new DhpClient({ baseUrl: base, appId, secret, maxRetries: 1 });
      await assert.rejects(strict.account.get(), (e: unknown) => e instanceof DhpError && e.status === 503 && e.code === 'UNAVAILABLE');
      assert.equal(accountHits, 2);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a create carries an Idempotency-Key, so its retry after a lost answer creates once; a POST without a key is not retried', async () => {
    // A stand-in that forwards the first fastTts to dhp but answers 502 (the answer "lost"),
    // and answers every cancel with 503.
    const keys: string[] = [];
    let cancels = 0;
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname.startsWith('/openapi/video/v2/cancel/')) {
          cancels++;
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"code":"50301","success":false,"message":"busy","data":null,"error":"UNAVAILABLE"}');
          return;
        }
        const headers: Record<string, string> = { 'content-type': String(req.headers['content-type'] ?? 'application/json') };
        if (req.headers['idempotency-key']) headers['idempotency-key'] = String(req.headers['idempotency-key']);
        const body = Buffer.concat(chunks);
        const r = await fetch(h.base + req.url, { method: req.method, headers, body: body.length ? body : undefined });
        const answer = Buffer.from(await r.arrayBuffer());
        if (url.pathname === '/openapi/speaker/v3/fastTts' && keys.push(String(req.headers['idempotency-key'])) === 1) {
          res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
          return;
        }
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(answer);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const c = new DhpClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, appId, secret, maxRetries: 2, retryBaseMs: 1, retryMaxMs: 5 });
      const before = (await client.tts.list({ size: 100 })).totalRecord;
      const created = await c.tts.create({ speakerId: 'en-us-female', content: 'Created once, answered twice.' });
      assert.equal(keys.length, 2);
      assert.match(keys[0], /^[0-9a-f]{32}$/);
      assert.equal(keys[1], keys[0], 'the retry sends the same key');
      assert.equal((await client.tts.list({ size: 100 })).totalRecord, before + 1, 'one task, not two');
      assert.equal((await client.tts.get(created.id)).id, created.id);

      await assert.rejects(c.videos.cancel(1), (e: unknown) => e instanceof DhpError && e.status === 503);
      assert.equal(cancels, 1, 'a POST without a key is not repeated');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('retries network errors and then gives up with a DhpError', async () => {
    let n = 0;
    const failing: typeof fetch = async () => { n++; throw new TypeError('fetch failed'); };
    const c = new DhpClient({ baseUrl: h.base, appId, secret, fetch: failing, maxRetries: 2, retryBaseMs: 1, retryMaxMs: 5 });
    await assert.rejects(c.account.get(), (e: unknown) => e instanceof DhpError && e.code === 'NETWORK_ERROR' && e.status === 0);
    assert.equal(n, 3);
  });

  it('verifyCallback accepts a real callback and rejects a tampered one', async () => {
    const rx = await startReceiver();
    try {
      const created = await client.tts.create({ speakerId: 'en-us-female', content: 'Call me back.', callbackUrl: rx.url });
      await client.waitFor('tts', created.id, { intervalMs: 50, timeoutMs: 60_000 });
      const got = await waitFor('callback', async () => rx.received[0]);
      assert.equal(await verifyCallback(got.headers, got.body, secret), true);
      const asHeaders = new Headers();
      for (const [k, v] of Object.entries(got.headers)) if (typeof v === 'string') asHeaders.set(k, v);
      assert.equal(await verifyCallback(asHeaders, got.body, secret), true);
      assert.equal(await verifyCallback(got.headers, got.body.replace(/\d/, (d) => String((Number(d) + 1) % 10)), secret), false);
      assert.equal(await verifyCallback(got.headers, got.body, 'other-secret'), false);
      assert.equal(await verifyCallback(got.headers, got.body, secret, 0 - 1), false, 'stale beyond the tolerance');
      assert.equal(await verifyCallback({}, got.body, secret), false);
    } finally {
      await rx.close();
    }
  });

  it('files.upload sends a WAV and returns a url', async () => {
    const rate = 22050;
    const samples = new Int16Array(rate);
    for (let i = 0; i < rate; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 12000);
    const wav = encodeWavPcm16(samples, rate);
    const up = await client.files.upload(new Uint8Array(wav), 'tone.wav');
    assert.match(up.url, /^https?:\/\//);
    assert.equal(up.kind, 'audio');
    assert.equal(up.size, wav.length);
    const fromBlob = await client.files.upload(new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'tone2.wav');
    assert.match(fromBlob.url, /^https?:\/\//);
  });

  it('files.upload streams a file: a Node stream and a web ReadableStream, read in small chunks', async () => {
    const rate = 22050;
    const samples = new Int16Array(rate * 3);
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * 330 * i) / rate) * 9000);
    const file = path.join(h.dir, 'streamed.wav');
    writeFileSync(file, encodeWavPcm16(samples, rate));
    const size = statSync(file).size;
    const fromNode = await client.files.upload(createReadStream(file, { highWaterMark: 4096 }), 'streamed.wav');
    assert.equal(fromNode.kind, 'audio');
    assert.equal(fromNode.size, size);
    assert.ok(Math.abs(fromNode.durationMs! - 3000) < 50, String(fromNode.durationMs));
    const fromWeb = await client.files.upload(Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>, 'we"ird\nname.wav');
    assert.equal(fromWeb.size, size);
    // What was stored is byte for byte the file.
    assert.deepEqual(Buffer.from(await (await fetch(fromWeb.url)).arrayBuffer()), readFileSync(file));
    // A stream that is not media is refused like any upload.
    await assert.rejects(client.files.upload((async function* () { yield new TextEncoder().encode('not media at all'); })(), 'x.wav'),
      (e: unknown) => e instanceof DhpError && e.status === 400);
  });
});
