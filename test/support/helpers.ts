import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp, type DhpApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { signature } from '../../src/services/auth.js';
import { tasks } from '../../src/domain/tasks.js';

export interface Harness {
  app: DhpApp;
  base: string;
  dir: string;
  close(): Promise<void>;
}

/** A real dhp server on a random port over a throwaway data dir. */
export async function startDhp(overrides: Partial<Config> = {}, dir = mkdtempSync(path.join(tmpdir(), 'dhp-test-'))): Promise<Harness> {
  const config = loadConfig({}, {
    host: '127.0.0.1', port: 0, dataDir: dir, databaseFile: path.join(dir, 'dhp.sqlite'), logLevel: 'silent',
    allowPrivateNetwork: true, callbackBackoffBaseMs: 100, callbackBackoffMaxMs: 400, taskBackoffBaseMs: 100, taskBackoffMaxMs: 400,
    ...overrides,
  });
  const app = await createApp(config, { log: pino({ level: config.logLevel }) });
  const base = await app.listen();
  return {
    app, base, dir,
    async close() { await app.close(); },
  };
}

export function removeDir(dir: string) { rmSync(dir, { recursive: true, force: true }); }

export interface Envelope<T = any> { code: string; success: boolean; message: string; data: T }

/** A client for one app: signs for a token, then calls endpoints with ?access_token=. */
export class Client {
  token = '';
  constructor(readonly base: string, readonly appId: string, readonly secret: string) {}

  static async create(h: Harness, name = 'test', quota?: Parameters<DhpApp['services']['apps']['create']>[0]['quota']): Promise<Client> {
    const a = await h.app.services.apps.create({ name, quota });
    const c = new Client(h.base, a.appId, a.secret);
    await c.login();
    return c;
  }

  async login(): Promise<void> {
    const ts = Date.now();
    const r = await this.raw('GET', `/openapi/oauth/token?grant_type=sign&appId=${this.appId}&timestamp=${ts}&sign=${signature(this.appId, ts, this.secret)}`);
    if (r.body.code !== '0') throw new Error(`login failed: ${JSON.stringify(r.body)}`);
    this.token = r.body.data.access_token;
  }

  async raw(method: string, pathAndQuery: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Envelope }> {
    const res = await fetch(this.base + pathAndQuery, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Envelope;
    try { parsed = JSON.parse(text); } catch { throw new Error(`non-JSON response ${res.status}: ${text.slice(0, 200)}`); }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  call(method: string, p: string, body?: unknown, headers?: Record<string, string>) {
    const sep = p.includes('?') ? '&' : '?';
    return this.raw(method, `${p}${sep}access_token=${this.token}`, body, headers);
  }

  /** Polls an avatar training until it has ended (any status but the active ones). */
  waitTraining(id: number, timeoutMs = 600_000): Promise<any> {
    return waitFor(`training ${id}`, async () => {
      const d = (await this.call('GET', `/openapi/video/v2/training/get/${id}`)).body.data;
      return d && !tasks.training.active.includes(d.status) ? d : null;
    }, timeoutMs);
  }

  /** Polls a TTS task until it is Success or Failed. */
  async waitTts(id: number, timeoutMs = 60_000): Promise<any> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.call('GET', `/openapi/speaker/v2/tts/${id}`);
      if (r.body.data && (r.body.data.status === 2 || r.body.data.status === 3)) return r.body.data;
      if (Date.now() > end) throw new Error(`TTS ${id} did not finish: ${JSON.stringify(r.body)}`);
      await sleep(50);
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export interface Received { headers: IncomingHttpHeaders; body: string; at: number }

/** A real HTTP callback receiver; `respond` decides each answer (default: {"code":"0"}). */
export async function startReceiver(respond: (n: number) => { status: number; body: string } = () => ({ status: 200, body: '{"code":"0","success":true,"message":"ok"}' })) {
  const received: Received[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const r = respond(++n);
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function download(url: string): Promise<{ status: number; type: string | null; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}
