import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { HttpFetchError, SafeHttp, type SafeHttpOptions } from '../../src/net/http.js';
import { UnsafeUrlError, classifyAddress, isForbiddenAddress } from '../../src/net/address.js';

// ---------------------------------------------------------------------------
// A local server with one route per behaviour under test
// ---------------------------------------------------------------------------

const TWO_MB = 2 * 1024 * 1024;
const ONE_MB = 1024 * 1024;

let server: http.Server;
let port: number;
let base: string;
/** Requests that reached the server, so refusals can be shown to never connect. */
let hits = 0;

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  hits++;
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  if (path === '/hello') {
    res.end('hello');
  } else if (path === '/echo') {
    const body = await readBody(req);
    res.setHeader('content-type', 'application/json');
    res.statusCode = Number(url.searchParams.get('status') ?? 200);
    res.end(JSON.stringify({ method: req.method, headers: req.headers, body }));
  } else if (path.startsWith('/chain/')) {
    const n = Number(path.slice('/chain/'.length));
    if (n === 0) res.end('done');
    else res.writeHead(302, { location: `/chain/${n - 1}` }).end();
  } else if (path === '/loop') {
    res.writeHead(302, { location: '/loop' }).end();
  } else if (path === '/redirect-to') {
    await readBody(req);
    const status = Number(url.searchParams.get('status') ?? 302);
    res.writeHead(status, { location: url.searchParams.get('url') ?? '/' }).end();
  } else if (path === '/hang') {
    // Never answer; the socket is destroyed in after().
  } else if (path === '/slow-body') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk');
    // ...and never finish.
  } else if (path === '/big') {
    // Chunked, no content-length: the cap must be enforced while reading.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let sent = 0; sent < TWO_MB; sent += chunk.length) res.write(chunk);
    res.end();
  } else if (path === '/big-declared') {
    res.writeHead(200, { 'content-length': String(TWO_MB) });
    res.end(Buffer.alloc(TWO_MB, 1));
  } else {
    res.writeHead(404).end('not found');
  }
}

before(async () => {
  server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function client(overrides: Partial<SafeHttpOptions> = {}): SafeHttp {
  return new SafeHttp({
    allowPrivate: true,
    timeoutMs: 5000,
    maxResponseBytes: ONE_MB,
    maxRedirects: 5,
    userAgent: 'dhp-test/1.0',
    ...overrides,
  });
}

/** A resolver hook: fake DNS for hostnames the test invents. */
function fakeDns(table: Record<string, string[]>) {
  return async (hostname: string): Promise<LookupAddress[]> => {
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

/** Policy hook: treat 127.0.0.1 (where the test server lives) as public, nothing else changes. */
const only127IsPublic = (ip: string) => ip !== '127.0.0.1' && isForbiddenAddress(ip);

function isUnsafe(pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UnsafeUrlError, `expected UnsafeUrlError, got ${String(err)}`);
    assert.equal(err.code, 'UNSAFE_URL');
    if (pattern) assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /\n\s+at /, 'no stack traces in messages');
    return true;
  };
}

function isFetchError(code: HttpFetchError['code'], pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof HttpFetchError, `expected HttpFetchError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /\n\s+at /, 'no stack traces in messages');
    return true;
  };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return p;
}

// ---------------------------------------------------------------------------
// Address policy
// ---------------------------------------------------------------------------

describe('isForbiddenAddress', () => {
  const forbidden = [
    // IPv4 special ranges
    '0.0.0.0', '0.1.2.3', '127.0.0.1', '127.255.255.254', '10.0.0.1', '10.255.255.255',
    '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.0.1', '169.254.169.254',
    '100.64.0.1', '100.127.255.254', '224.0.0.1', '239.255.255.250', '240.0.0.1',
    '255.255.255.255', '192.0.0.1', '198.18.0.1', '198.19.255.255', '192.0.2.1',
    '198.51.100.1', '203.0.113.1',
    // IPv6 special ranges
    '::', '::1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'fc00::1', 'fd00::1', 'fd00:ec2::254',
    'ff02::1', 'ff05::1:3', '2001:db8::1', 'fec0::1', '100::1',
    // IPv4 embedded in IPv6
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '::ffff:10.0.0.1',
    '::ffff:0:127.0.0.1', // IPv4-translated
    '64:ff9b::a9fe:a9fe', '64:ff9b::127.0.0.1', '64:ff9b::10.1.2.3', // NAT64
    '64:ff9b:1::8.8.8.8', // local-use NAT64 prefix, layout unknown
    '2002:7f00:1::1', '2002:a9fe:a9fe::', // 6to4 wrapping loopback / metadata
    '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo, client 127.0.0.1
    '::7f00:1', '::127.0.0.1', '::8.8.8.8', // deprecated IPv4-compatible
    // Garbage fails closed
    '', 'not-an-ip', '1.2.3', '::ffff:999.0.0.1',
  ];
  const allowed = [
    '8.8.8.8', '1.1.1.1', '93.184.216.34', '172.15.255.255', '172.32.0.1', '100.63.255.255',
    '100.128.0.1', '169.253.255.255', '11.0.0.1', '223.255.255.254',
    '2606:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1',
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7', // Teredo, client 8.8.8.8
  ];

  for (const ip of forbidden) {
    it(`forbids ${ip || '(empty)'}`, () => assert.equal(isForbiddenAddress(ip), true));
  }
  for (const ip of allowed) {
    it(`allows ${ip}`, () => assert.equal(isForbiddenAddress(ip), false));
  }

  it('names the kind of address for messages', () => {
    assert.equal(classifyAddress('127.0.0.1'), 'loopback');
    assert.equal(classifyAddress('169.254.169.254'), 'link-local');
    assert.equal(classifyAddress('10.1.1.1'), 'private');
    assert.equal(classifyAddress('::ffff:127.0.0.1'), 'IPv4-mapped loopback');
    assert.equal(classifyAddress('64:ff9b::a9fe:a9fe'), 'NAT64 link-local');
    assert.equal(classifyAddress('8.8.8.8'), null);
  });
});

// ---------------------------------------------------------------------------
// URL and address refusals
// ---------------------------------------------------------------------------

describe('refusals (allowPrivate=false)', () => {
  const strict = () => client({ allowPrivate: false });

  it('refuses a loopback IP literal without connecting', async () => {
    const before = hits;
    await assert.rejects(
      strict().request(`${base}/hello`),
      isUnsafe(/^URL points to a loopback address \(127\.0\.0\.1\); dhp refuses private, loopback and link-local targets$/),
    );
    assert.equal(hits, before);
  });

  it('refuses localhost because it resolves to loopback', async () => {
    await assert.rejects(strict().request(`http://localhost:${port}/hello`), isUnsafe(/host localhost resolves to .*loopback/));
  });

  it('refuses IPv6 and odd IPv4 spellings of loopback', async () => {
    await assert.rejects(strict().request(`http://[::1]:${port}/`), isUnsafe(/loopback address \(::1\)/));
    await assert.rejects(strict().request(`http://[::ffff:127.0.0.1]:${port}/`), isUnsafe(/IPv4-mapped loopback/));
    await assert.rejects(strict().request(`http://2130706433:${port}/`), isUnsafe(/127\.0\.0\.1/));
    await assert.rejects(strict().request(`http://0x7f.1:${port}/`), isUnsafe(/127\.0\.0\.1/));
  });

  it('refuses the cloud metadata address', async () => {
    await assert.rejects(
      strict().request('http://169.254.169.254/latest/meta-data/'),
      (err: unknown) => isUnsafe(/link-local/)(err) && (err as UnsafeUrlError).address === '169.254.169.254',
    );
  });

  it('refuses a host when ANY of its addresses is private', async () => {
    const http2 = client({ allowPrivate: false, hooks: { resolve: fakeDns({ 'mixed.test': ['93.184.216.34', '10.0.0.7'] }) } });
    await assert.rejects(http2.request('http://mixed.test/'), isUnsafe(/mixed\.test resolves to a private address \(10\.0\.0\.7\)/));
  });

  it('refuses non-http schemes, credentials and junk, even with allowPrivate', async () => {
    for (const c of [strict(), client({ allowPrivate: true })]) {
      await assert.rejects(c.request('ftp://example.com/file'), isUnsafe(/ftp scheme; only http and https/));
      await assert.rejects(c.request('file:///etc/passwd'), isUnsafe(/file scheme/));
      await assert.rejects(c.request('gopher://example.com/'), isUnsafe(/gopher scheme/));
      await assert.rejects(c.request(`http://user:pw@127.0.0.1:${port}/hello`), isUnsafe(/credentials/));
      await assert.rejects(c.request(`http://user@127.0.0.1:${port}/hello`), isUnsafe(/credentials/));
      await assert.rejects(c.request('not a url'), isUnsafe(/not a valid absolute URL/));
      await assert.rejects(c.request('http://'), isUnsafe(/not a valid absolute URL/));
    }
  });
});

// ---------------------------------------------------------------------------
// Happy paths
// ---------------------------------------------------------------------------

describe('requests (allowPrivate=true)', () => {
  it('GETs a body and status', async () => {
    const res = await client().request(`${base}/hello`);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello');
    assert.equal(res.url, `${base}/hello`);
  });

  it('returns non-2xx statuses rather than throwing', async () => {
    const res = await client().request(`${base}/nope`);
    assert.equal(res.status, 404);
    assert.equal(res.body.toString(), 'not found');
  });

  it('POSTs a JSON body with content-length and user-agent', async () => {
    const payload = JSON.stringify({ taskId: 't1', status: 'SUCCESS', note: 'héllo' });
    const res = await client().request(`${base}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Sig': 'abc' },
      body: payload,
    });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body.toString());
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, payload);
    assert.equal(seen.headers['content-length'], String(Buffer.byteLength(payload)));
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers['user-agent'], 'dhp-test/1.0');
    assert.equal(seen.headers['x-sig'], 'abc');
  });

  it('HEAD works and returns an empty body', async () => {
    const res = await client().request(`${base}/hello`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
  });

  it('connects to the vetted address, not a fresh DNS answer, and keeps the Host name', async () => {
    // callback.test is not in real DNS: success proves the pinned lookup was used.
    const c = client({ allowPrivate: false, hooks: { resolve: fakeDns({ 'callback.test': ['127.0.0.1'] }), isForbidden: only127IsPublic } });
    const res = await c.request(`http://callback.test:${port}/echo`);
    assert.equal(JSON.parse(res.body.toString()).headers.host, `callback.test:${port}`);
  });

  it('reports connection failures as NETWORK with a short sentence', async () => {
    const closed = await freePort();
    await assert.rejects(
      client().request(`http://127.0.0.1:${closed}/`),
      isFetchError('NETWORK', new RegExp(`^could not connect to 127\\.0\\.0\\.1:${closed}: ECONNREFUSED$`)),
    );
    const c = client({ hooks: { resolve: fakeDns({}) } });
    await assert.rejects(c.request('http://nowhere.test/'), isFetchError('NETWORK', /^could not resolve nowhere\.test: ENOTFOUND$/));
  });
});

// ---------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------

describe('redirects', () => {
  it('follows a chain and reports the final URL', async () => {
    const res = await client().request(`${base}/chain/3`);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'done');
    assert.equal(res.url, `${base}/chain/0`);
  });

  it('gives up past maxRedirects', async () => {
    await client({ maxRedirects: 3 }).request(`${base}/chain/3`); // exactly at the limit is fine
    await assert.rejects(client({ maxRedirects: 2 }).request(`${base}/chain/3`), isFetchError('TOO_MANY_REDIRECTS', /after 2 redirects/));
    await assert.rejects(client().request(`${base}/loop`), isFetchError('TOO_MANY_REDIRECTS'));
  });

  it('re-validates every hop: an allowed host redirecting to a forbidden one is refused', async () => {
    const c = client({
      allowPrivate: false,
      hooks: { resolve: fakeDns({ 'evil.test': ['10.0.0.5'], 'ok.test': ['127.0.0.1'] }), isForbidden: only127IsPublic },
    });
    const via = (target: string) => `${base}/redirect-to?url=${encodeURIComponent(target)}`;

    // Sanity: the first hop itself is allowed under this policy.
    assert.equal((await c.request(via(`http://ok.test:${port}/hello`))).body.toString(), 'hello');

    await assert.rejects(
      c.request(via('http://169.254.169.254/latest/meta-data/')),
      isUnsafe(/^redirect target points to a link-local address \(169\.254\.169\.254\)/),
    );
    await assert.rejects(c.request(via('http://[::1]/')), isUnsafe(/loopback address \(::1\)/));
    await assert.rejects(c.request(via('http://evil.test/')), isUnsafe(/evil\.test resolves to a private address \(10\.0\.0\.5\)/));
    await assert.rejects(c.request(via('file:///etc/passwd')), isUnsafe(/file scheme/));
    await assert.rejects(c.request(via('http://u:p@ok.test/')), isUnsafe(/credentials/));
  });

  it('303, and 301/302 after POST, turn into a GET without body', async () => {
    for (const status of [301, 302, 303]) {
      const res = await client().request(`${base}/redirect-to?status=${status}&url=/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      const seen = JSON.parse(res.body.toString());
      assert.equal(seen.method, 'GET', `status ${status}`);
      assert.equal(seen.body, '');
      assert.equal(seen.headers['content-length'], undefined);
      assert.equal(seen.headers['content-type'], undefined);
    }
  });

  it('307/308 re-send the body to the same host', async () => {
    for (const status of [307, 308]) {
      const res = await client().request(`${base}/redirect-to?status=${status}&url=/echo`, { method: 'POST', body: '{"a":1}' });
      const seen = JSON.parse(res.body.toString());
      assert.equal(seen.method, 'POST');
      assert.equal(seen.body, '{"a":1}');
    }
  });

  it('does not send the body to another host: a cross-host 307 is returned, not followed', async () => {
    const c = client({ hooks: { resolve: fakeDns({ 'other.test': ['127.0.0.1'] }) } });
    const before = hits;
    const res = await c.request(`${base}/redirect-to?status=307&url=${encodeURIComponent(`http://other.test:${port}/echo`)}`, {
      method: 'POST',
      body: 'secret payload',
    });
    assert.equal(res.status, 307);
    assert.equal(hits, before + 1);
  });

  it('drops Authorization and Cookie across origins, keeps them on the same origin', async () => {
    const c = client({ hooks: { resolve: fakeDns({ 'other.test': ['127.0.0.1'] }) } });
    const headers = { authorization: 'Bearer s3cret', cookie: 'a=b', 'x-keep': '1' };

    const cross = await c.request(`${base}/redirect-to?url=${encodeURIComponent(`http://other.test:${port}/echo`)}`, { headers });
    const crossSeen = JSON.parse(cross.body.toString()).headers;
    assert.equal(crossSeen.authorization, undefined);
    assert.equal(crossSeen.cookie, undefined);
    assert.equal(crossSeen['x-keep'], '1');

    const same = await c.request(`${base}/redirect-to?url=/echo`, { headers });
    assert.equal(JSON.parse(same.body.toString()).headers.authorization, 'Bearer s3cret');
  });
});

// ---------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------

describe('timeouts', () => {
  it('times out a server that never answers, naming host and limit', async () => {
    const started = Date.now();
    await assert.rejects(
      client({ timeoutMs: 300 }).request(`${base}/hang`),
      isFetchError('TIMEOUT', new RegExp(`^request to 127\\.0\\.0\\.1:${port} did not complete within the 0\\.3 s time limit$`)),
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 280 && elapsed < 1500, `took ${elapsed} ms`);
  });

  it('per-call timeout overrides the default', async () => {
    const started = Date.now();
    await assert.rejects(client({ timeoutMs: 10_000 }).request(`${base}/hang`, { timeoutMs: 200 }), isFetchError('TIMEOUT', /0\.2 s/));
    assert.ok(Date.now() - started < 1500);
  });

  it('the deadline covers the body, not just the headers', async () => {
    await assert.rejects(client({ timeoutMs: 300 }).request(`${base}/slow-body`), isFetchError('TIMEOUT'));
    const res = await client({ timeoutMs: 300 }).stream(`${base}/slow-body`, { maxBytes: ONE_MB });
    assert.equal(res.status, 200);
    await assert.rejects(readStream(res.body), isFetchError('TIMEOUT'));
  });
});

// ---------------------------------------------------------------------------
// Size caps
// ---------------------------------------------------------------------------

async function readStream(body: NodeJS.ReadableStream): Promise<number> {
  let total = 0;
  for await (const chunk of body) total += (chunk as Buffer).length;
  return total;
}

describe('size caps', () => {
  it('request() rejects a body over maxResponseBytes', async () => {
    await assert.rejects(client().request(`${base}/big`), isFetchError('TOO_LARGE', /larger than the 1 MB limit/));
  });

  it('per-call maxResponseBytes override lets a bigger body through', async () => {
    const res = await client().request(`${base}/big`, { maxResponseBytes: 3 * ONE_MB });
    assert.equal(res.body.length, TWO_MB);
  });

  it('refuses early when content-length exceeds the cap', async () => {
    await assert.rejects(client().request(`${base}/big-declared`), isFetchError('TOO_LARGE'));
    await assert.rejects(client().stream(`${base}/big-declared`, { maxBytes: ONE_MB }), isFetchError('TOO_LARGE'));
  });

  it('stream() errors mid-stream once maxBytes is exceeded', async () => {
    const res = await client().stream(`${base}/big`, { maxBytes: ONE_MB });
    assert.equal(res.status, 200);
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of res.body) received += (chunk as Buffer).length;
      })(),
      isFetchError('TOO_LARGE'),
    );
    assert.ok(received > 0 && received <= ONE_MB, `received ${received} bytes before the error`);
  });

  it('stream() delivers a body under the cap in full', async () => {
    const res = await client().stream(`${base}/big`, { maxBytes: 3 * ONE_MB });
    assert.equal(await readStream(res.body), TWO_MB);
  });

  it('abandoning a stream early releases the connection', async () => {
    const res = await client().stream(`${base}/big`, { maxBytes: 3 * ONE_MB });
    res.body.destroy();
    await new Promise((resolve) => res.body.once('close', resolve));
  });
});
