import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SafeHttp } from '../../src/net/http.js';
import { LipsyncError, type LipsyncJob } from '../../src/engines/lipsync/engine.js';
import { DuixFace2FaceEngine, checkDuix, type DuixOptions } from '../../src/engines/lipsync/duix.js';

// ---------------------------------------------------------------------------
// A stand-in for Duix.Avatar's face2face service, speaking its HTTP protocol.
// Like the real container it sees its data folder as REMOTE, answers JSON with a
// text/html content type, and forgets a task once it has reported it finished.
// ---------------------------------------------------------------------------

const REMOTE = '/code/data';

interface Scenario {
  /** Queries answered "running" before the final answer. */
  runningPolls: number;
  outcome: 'done' | 'failed' | 'never' | 'forget';
  failMsg?: string;
  /** HTTP status for every submit (e.g. 500). */
  submitHttpStatus?: number;
  /** Refuse submits with this Duix code. */
  submitCode?: number;
  submitMsg?: string;
  /** The first N submits are answered "busy" (10001). */
  busySubmits?: number;
  /** The first N queries are answered HTTP 500. */
  queryErrors?: number;
  /** Override where the result goes (a path as the service sees it). */
  resultPath?: (code: string) => string;
  /** Report the result path relative to REMOTE, as some service builds do. */
  relativeResult?: boolean;
  /** Report success without writing the result file. */
  skipWrite?: boolean;
}

interface Task {
  polls: number;
  video: Buffer;
}

interface Submitted {
  body: Record<string, unknown>;
  /** Whether both inputs were readable by the "service" when the job was submitted. */
  inputsReadable: boolean;
}

const state = {
  scenario: { runningPolls: 0, outcome: 'done' } as Scenario,
  /** The service's data folder as the test sees it (REMOTE maps here). */
  engineDir: '',
  submits: [] as Submitted[],
  queries: 0,
  tasks: new Map<string, Task>(),
};

let server: http.Server;
let base: string;

function reply(res: http.ServerResponse, json: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(JSON.stringify(json, null, 4));
}

function ok(data: unknown): unknown {
  return { code: 10000, success: true, msg: '', data };
}

/** REMOTE/<rest> → engineDir/<rest>, as the container's volume mount would. */
function remoteToTest(remotePath: string): string {
  assert.ok(remotePath.startsWith(`${REMOTE}/`), `not under ${REMOTE}: ${remotePath}`);
  return path.join(state.engineDir, path.posix.relative(REMOTE, remotePath));
}

/** Read an input the way the service does: a path in its filesystem, or an http(s) URL. */
async function readInput(ref: string): Promise<Buffer | null> {
  if (/^https?:/.test(ref)) {
    const res = await fetch(ref);
    return res.ok ? Buffer.from(await res.arrayBuffer()) : null;
  }
  const file = remoteToTest(ref);
  return existsSync(file) ? readFileSync(file) : null;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function onSubmit(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
  const s = state.scenario;
  const audio = await readInput(String(body.audio_url));
  const video = await readInput(String(body.video_url));
  state.submits.push({ body, inputsReadable: audio !== null && video !== null });
  if (s.submitHttpStatus) return reply(res, { error: 'boom' }, s.submitHttpStatus);
  if (s.busySubmits && state.submits.length <= s.busySubmits) {
    return reply(res, { code: 10001, success: true, msg: '忙碌中', data: {} });
  }
  if (s.submitCode) return reply(res, { code: s.submitCode, success: false, msg: s.submitMsg ?? '', data: {} });
  state.tasks.set(String(body.code), { polls: 0, video: video ?? Buffer.alloc(0) });
  reply(res, { code: 10000, success: true, msg: 10000, data: {} }); // the stock service puts the code in msg
}

function onQuery(url: URL, res: http.ServerResponse): void {
  state.queries++;
  const s = state.scenario;
  if (s.queryErrors && state.queries <= s.queryErrors) return reply(res, { error: 'upstream down' }, 500);
  const code = url.searchParams.get('code') ?? '';
  const task = state.tasks.get(code);
  if (!task || s.outcome === 'forget') return reply(res, { code: 10004, success: true, msg: '任务不存在', data: {} });

  task.polls++;
  if (task.polls <= s.runningPolls || s.outcome === 'never') {
    const progress = Math.min(90, task.polls * 10);
    return reply(res, ok({ code, status: 1, progress, result: '', msg: '' }));
  }
  state.tasks.delete(code); // the stock service forgets finished tasks after reporting them once
  if (s.outcome === 'failed') return reply(res, ok({ code, status: 3, progress: 0, result: '', msg: s.failMsg ?? '' }));

  const result = s.resultPath?.(code) ?? `${REMOTE}/temp/${code}-r.mp4`;
  if (!s.skipWrite && result.startsWith(`${REMOTE}/`)) {
    const file = remoteToTest(result);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, resultBytes(task.video));
  }
  const reported = s.relativeResult ? path.posix.relative(REMOTE, result) : result;
  reply(res, ok({ code, status: 2, progress: 100, result: reported, msg: '任务完成' }));
}

/** What the fake "lip-sync" makes of a video: recognisably derived from it. */
function resultBytes(video: Buffer): Buffer {
  return Buffer.concat([Buffer.from('LIPSYNCED:'), video]);
}

/** The /download endpoint the URL mode relies on (not part of the stock service). */
function onDownload(url: URL, res: http.ServerResponse): void {
  const file = remoteToTest(url.searchParams.get('path') ?? '');
  if (!existsSync(file)) return void res.writeHead(404).end('not found');
  res.writeHead(200, { 'content-type': 'video/mp4' }).end(readFileSync(file));
}

/** Plays dhp's static file serving for the URL mode: /public/<file> from publicDir. */
let publicDir = '';
function onPublic(url: URL, res: http.ServerResponse): void {
  const file = path.join(publicDir, decodeURIComponent(url.pathname.slice('/public/'.length)));
  if (!publicDir || !existsSync(file)) return void res.writeHead(404).end('not found');
  res.writeHead(200).end(readFileSync(file));
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'POST' && url.pathname === '/easy/submit') return onSubmit(req, res);
  if (req.method === 'GET' && url.pathname === '/easy/query') return onQuery(url, res);
  if (req.method === 'GET' && url.pathname === '/download') return onDownload(url, res);
  if (req.method === 'GET' && url.pathname.startsWith('/public/')) return onPublic(url, res);
  if (url.pathname.startsWith('/not-duix')) return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hi</html>');
  res.writeHead(404).end('no such route');
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

const http_ = new SafeHttp({ allowPrivate: true, timeoutMs: 5000, maxResponseBytes: 1 << 20, maxRedirects: 0, userAgent: 'dhp-test' });
let root: string;
/** dhp's side of the shared folder (the same directory as state.engineDir). */
let sharedDir: string;
let inputsDir: string;
let outDir: string;
let videoBytes: Buffer;

function setScenario(s: Scenario): void {
  state.scenario = s;
}

function engine(overrides: Partial<DuixOptions> = {}): DuixFace2FaceEngine {
  return new DuixFace2FaceEngine({
    baseUrl: base,
    shared: { localDir: sharedDir, remoteDir: REMOTE },
    pollMs: 20,
    timeoutMs: 5000,
    http: http_,
    ...overrides,
  });
}

function job(extra: Partial<LipsyncJob> = {}): LipsyncJob {
  return {
    video: path.join(inputsDir, 'avatar.mp4'),
    audio: path.join(inputsDir, 'speech.wav'),
    output: path.join(outDir, 'result.mp4'),
    pn: 1,
    ...extra,
  };
}

/** Files (not directories) left anywhere under `dir`. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(path.join(dir, f)).isFile());
}

/** Folders dhp staged inputs in (dhp-<code>) that are still there. */
function stagingLeft(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('dhp-')) : [];
}

function isLipsyncError(permanent: boolean, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof LipsyncError, `expected a LipsyncError, got ${String(err)}`);
    assert.equal(err.permanent, permanent, `permanent flag of "${err.message}"`);
    assert.match(err.message, message);
    assert.match(err.message, /^the lip-sync /, 'messages are sentences about the lip-sync engine');
    return true;
  };
}

before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'dhp-lipsync-'));
  inputsDir = path.join(root, 'inputs');
  mkdirSync(inputsDir);
  videoBytes = randomBytes(64 * 1024);
  writeFileSync(path.join(inputsDir, 'avatar.mp4'), videoBytes);
  writeFileSync(path.join(inputsDir, 'speech.wav'), randomBytes(16 * 1024));

  server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => res.writeHead(599).end(String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

let testNo = 0;
beforeEach(() => {
  // Fresh folders per test so leftovers are attributable.
  const dir = path.join(root, `t${++testNo}`);
  sharedDir = path.join(dir, 'shared');
  outDir = path.join(dir, 'out');
  mkdirSync(sharedDir, { recursive: true });
  state.engineDir = sharedDir;
  publicDir = '';
  state.submits = [];
  state.queries = 0;
  state.tasks.clear();
});

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe('DuixFace2FaceEngine (shared folder)', () => {
  it('submits exactly the Duix fields, reports progress and delivers the result', async () => {
    setScenario({ runningPolls: 3, outcome: 'done' });
    const progress: unknown[] = [];
    const j = job({ pn: 0, onProgress: (p) => progress.push(p) });

    await engine().render(j);

    assert.equal(state.submits.length, 1);
    const { body, inputsReadable } = state.submits[0];
    assert.deepEqual(Object.keys(body).sort(), ['audio_url', 'chaofen', 'code', 'pn', 'video_url', 'watermark_switch']);
    assert.equal(typeof body.audio_url, 'string');
    assert.equal(typeof body.video_url, 'string');
    assert.equal(typeof body.code, 'string');
    assert.notEqual(body.code, '');
    assert.equal(body.chaofen, 0);
    assert.equal(body.watermark_switch, 0);
    assert.equal(body.pn, 0, 'pn is passed through');
    assert.match(String(body.audio_url), new RegExp(`^${REMOTE}/.+\\.wav$`));
    assert.match(String(body.video_url), new RegExp(`^${REMOTE}/.+\\.mp4$`));
    assert.ok(inputsReadable, 'the service could read both inputs through the shared folder');

    assert.deepEqual(readFileSync(j.output), resultBytes(videoBytes));
    assert.equal(existsSync(`${j.output}.part`), false);

    assert.deepEqual(progress, [
      { state: 'running', progress: 10 },
      { state: 'running', progress: 20 },
      { state: 'running', progress: 30 },
      { state: 'running', progress: 100 },
    ]);
    assert.deepEqual(filesUnder(sharedDir), [], 'inputs and the collected result are removed from the shared folder');
    assert.deepEqual(stagingLeft(sharedDir), []);
  });

  it('passes pn=1 through and uses a fresh task code per job', async () => {
    setScenario({ runningPolls: 0, outcome: 'done' });
    await engine().render(job({ pn: 1 }));
    await engine().render(job({ pn: 1, output: path.join(outDir, 'second.mp4') }));
    assert.equal(state.submits[0].body.pn, 1);
    assert.notEqual(state.submits[0].body.code, state.submits[1].body.code);
  });

  it('waits and resubmits while the engine is busy, reporting the job as queued', async () => {
    setScenario({ runningPolls: 1, outcome: 'done', busySubmits: 2 });
    const progress: Array<{ state: string }> = [];
    const j = job({ onProgress: (p) => progress.push(p) });

    await engine().render(j);

    assert.equal(state.submits.length, 3);
    assert.equal(new Set(state.submits.map((s) => s.body.code)).size, 1, 'the same task is offered again');
    assert.deepEqual(progress[0], { state: 'queued' });
    assert.equal(progress.filter((p) => p.state === 'queued').length, 1, 'repeated states are reported once');
    assert.deepEqual(readFileSync(j.output), resultBytes(videoBytes));
  });

  it('maps status 3 to a permanent LipsyncError carrying the engine message', async () => {
    setScenario({ runningPolls: 1, outcome: 'failed', failMsg: '[x]预处理失败，异常信息:[存在多人脸]' });
    const j = job();
    await assert.rejects(engine().render(j), isLipsyncError(true, /^the lip-sync engine failed: .*存在多人脸/));
    assert.equal(existsSync(j.output), false);
    assert.deepEqual(filesUnder(sharedDir), []);
  });

  it('maps status 3 without a message to a readable sentence', async () => {
    setScenario({ runningPolls: 0, outcome: 'failed', failMsg: '' });
    await assert.rejects(engine().render(job()), isLipsyncError(true, /^the lip-sync engine failed without giving a reason$/));
  });

  it('maps a refused submit (code 10002) to a permanent error and never polls', async () => {
    setScenario({ runningPolls: 0, outcome: 'done', submitCode: 10002, submitMsg: 'video_url参数缺失' });
    await assert.rejects(engine().render(job()), isLipsyncError(true, /refused the job: video_url参数缺失/));
    assert.equal(state.queries, 0);
    assert.deepEqual(filesUnder(sharedDir), []);
  });

  for (const code of [9999, 10003]) {
    it(`maps submit code ${code} to a permanent error`, async () => {
      setScenario({ runningPolls: 0, outcome: 'done', submitCode: code, submitMsg: '系统异常' });
      await assert.rejects(engine().render(job()), isLipsyncError(true, /系统异常/));
    });
  }

  it('tolerates transient HTTP 500 answers to status queries', async () => {
    setScenario({ runningPolls: 1, outcome: 'done', queryErrors: 2 });
    const j = job();
    await engine().render(j);
    assert.deepEqual(readFileSync(j.output), resultBytes(videoBytes));
    assert.equal(state.queries, 4, '2 failed queries, 1 running, 1 done');
  });

  it('gives up with a retryable error when status queries keep failing', async () => {
    setScenario({ runningPolls: 0, outcome: 'done', queryErrors: 1000 });
    await assert.rejects(engine().render(job()), isLipsyncError(false, /internal error \(HTTP 500\)/));
    assert.ok(state.queries >= 3 && state.queries < 20, `gave up after ${state.queries} queries`);
    assert.deepEqual(filesUnder(sharedDir), []);
  });

  it('maps HTTP 5xx on submit to a retryable error', async () => {
    setScenario({ runningPolls: 0, outcome: 'done', submitHttpStatus: 503 });
    await assert.rejects(engine().render(job()), isLipsyncError(false, /internal error \(HTTP 503\)/));
    assert.equal(state.submits.length, 1, 'a submit is never blindly repeated');
  });

  it('times out with a retryable error when the engine never finishes', async () => {
    setScenario({ runningPolls: 0, outcome: 'never' });
    const started = Date.now();
    const j = job();
    await assert.rejects(engine({ timeoutMs: 200 }).render(j), isLipsyncError(false, /did not finish within 0\.2 s/));
    assert.ok(Date.now() - started < 2000);
    assert.equal(existsSync(j.output), false);
    assert.deepEqual(filesUnder(sharedDir), []);
  });

  it('times out with a retryable error when the engine stays busy', async () => {
    setScenario({ runningPolls: 0, outcome: 'done', busySubmits: 1000 });
    await assert.rejects(engine({ timeoutMs: 150 }).render(job()), isLipsyncError(false, /stayed busy/));
  });

  it('stops polling and rejects with an AbortError when aborted', async () => {
    setScenario({ runningPolls: 0, outcome: 'never' });
    const ac = new AbortController();
    const j = job({
      signal: ac.signal,
      onProgress: (p) => { if (p.state === 'running') setTimeout(() => ac.abort(), 30); },
    });

    await assert.rejects(engine().render(j), (err: Error) => err.name === 'AbortError' && !(err instanceof LipsyncError));

    const queriesAtAbort = state.queries;
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(state.queries, queriesAtAbort, 'no polling after the abort');
    assert.equal(existsSync(j.output), false);
    assert.deepEqual(filesUnder(sharedDir), [], 'inputs are cleaned after an abort too');
  });

  it('rejects at once when the signal is already aborted', async () => {
    setScenario({ runningPolls: 0, outcome: 'done' });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(engine().render(job({ signal: ac.signal })), { name: 'AbortError' });
    assert.equal(state.submits.length, 0);
  });

  it('reports a task the engine forgot (restart) as retryable', async () => {
    setScenario({ runningPolls: 0, outcome: 'forget' });
    await assert.rejects(engine().render(job()), isLipsyncError(false, /lost track of the job/));
  });

  it('refuses a result path outside the shared folder', async () => {
    setScenario({ runningPolls: 0, outcome: 'done', resultPath: () => `${REMOTE}/../../etc/passwd` });
    const j = job();
    await assert.rejects(engine().render(j), isLipsyncError(true, /outside the shared folder/));
    assert.equal(existsSync(j.output), false);
  });

  it('reports a missing result file as retryable', async () => {
    setScenario({ runningPolls: 0, outcome: 'done', skipWrite: true });
    const j = job();
    await assert.rejects(engine().render(j), isLipsyncError(false, /not in the shared folder/));
    assert.equal(existsSync(j.output), false);
    assert.equal(existsSync(`${j.output}.part`), false);
  });

  it('accepts a result path relative to the shared folder', async () => {
    setScenario({ runningPolls: 0, outcome: 'done', relativeResult: true });
    const j = job();
    await engine().render(j);
    assert.deepEqual(readFileSync(j.output), resultBytes(videoBytes));
    assert.deepEqual(filesUnder(sharedDir), []);
  });

  it('maps an unreachable engine to a retryable error without naming the host', async () => {
    const closedPort = await freePort();
    const j = job();
    await assert.rejects(
      engine({ baseUrl: `http://127.0.0.1:${closedPort}` }).render(j),
      isLipsyncError(false, /^the lip-sync engine could not be reached$/),
    );
    assert.deepEqual(filesUnder(sharedDir), []);
  });
});

describe('DuixFace2FaceEngine (URL mode)', () => {
  it('hands the service input URLs and fetches the result through /download', async () => {
    setScenario({ runningPolls: 2, outcome: 'done' });
    publicDir = path.join(root, `t${testNo}`, 'public');
    state.engineDir = path.join(root, `t${testNo}`, 'engine'); // nothing shared with dhp
    const eng = engine({ shared: { publicBaseUrl: `${base}/public/`, localDir: publicDir } });
    const j = job();

    await eng.render(j);

    const { body, inputsReadable } = state.submits[0];
    assert.match(String(body.video_url), new RegExp(`^${base}/public/dhp-[^/]+/video\\.mp4$`));
    assert.match(String(body.audio_url), new RegExp(`^${base}/public/dhp-[^/]+/audio\\.wav$`));
    assert.ok(inputsReadable, 'the service downloaded both inputs');
    assert.deepEqual(readFileSync(j.output), resultBytes(videoBytes));
    assert.deepEqual(filesUnder(publicDir), [], 'served inputs are removed afterwards');
  });

  it('maps a failed download to a retryable error', async () => {
    setScenario({ runningPolls: 0, outcome: 'done', skipWrite: true });
    publicDir = path.join(root, `t${testNo}`, 'public');
    state.engineDir = path.join(root, `t${testNo}`, 'engine');
    const j = job();
    await assert.rejects(
      engine({ shared: { publicBaseUrl: `${base}/public`, localDir: publicDir } }).render(j),
      isLipsyncError(false, /could not be downloaded \(HTTP 404\)/),
    );
    assert.equal(existsSync(j.output), false);
    assert.deepEqual(filesUnder(publicDir), []);
  });
});

describe('checkDuix', () => {
  it('accepts a live face2face service', async () => {
    await checkDuix(base, http_);
    await checkDuix(`${base}/`, http_);
  });

  it('names the URL when the service is unreachable', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(checkDuix(url, http_), (err: Error) => {
      assert.ok(err.message.includes(url), err.message);
      assert.match(err.message, /is unreachable/);
      return true;
    });
  });

  it('refuses something that is not a face2face service', async () => {
    await assert.rejects(checkDuix(`${base}/not-duix`, http_), /did not answer a status query with Duix JSON/);
    await assert.rejects(checkDuix(`${base}/elsewhere`, http_), /HTTP 404/);
  });
});

/** A port nothing listens on. */
async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
