// A real dhp for the benchmarks: temp data dir, silent logs, no rate limiting in the way, one app
// with a token, and one finished TTS record (so GET /tts/{id} answers a complete object).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp, type DhpApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config/config.js';
import { signature } from '../src/services/auth.js';
import { ENGLISH } from './texts.js';

export interface BenchDhp {
  app: DhpApp;
  base: string;
  token: string;
  /** A TTS record of the benchmark app in status 2 (Success). */
  ttsId: number;
  close(): Promise<void>;
}

async function json(res: Response): Promise<any> {
  const text = await res.text();
  try { return JSON.parse(text); } catch { throw new Error(`non-JSON answer ${res.status}: ${text.slice(0, 200)}`); }
}

export async function startBenchDhp(): Promise<BenchDhp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dhp-bench-'));
  const config = loadConfig({}, {
    host: '127.0.0.1', port: 0, dataDir: dir, databaseFile: path.join(dir, 'dhp.sqlite'),
    // BENCH_LOG_LEVEL=error shows why a benchmark request failed.
    logLevel: (process.env.BENCH_LOG_LEVEL ?? 'silent') as Config['logLevel'],
    // The benchmark hammers one app; the per-app limit must never answer 429 here.
    rateLimitPerMinute: 1_000_000_000,
  });
  let app: DhpApp | null = null;
  const close = async () => {
    if (app) await app.close();
    app = null;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    app = await createApp(config, { log: pino({ level: config.logLevel }) });
    const base = await app.listen();

    // Ample quota: the end-to-end TTS benchmark submits the ~2,100-character English text several times.
    const created = await app.services.apps.create({ name: 'bench', quota: { tts_words: 100_000_000 } });
    const ts = Date.now();
    const login = await json(await fetch(`${base}/openapi/oauth/token?grant_type=sign&appId=${created.appId}&timestamp=${ts}&sign=${signature(created.appId, ts, created.secret)}`));
    if (login.code !== '0') throw new Error(`login failed: ${JSON.stringify(login)}`);
    const token: string = login.data.access_token;

    const made = await json(await fetch(`${base}/openapi/speaker/v3/fastTts?access_token=${token}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ speakerId: 'en-us-female', content: ENGLISH.slice(0, ENGLISH.indexOf('.') + 1) }),
    }));
    if (made.code !== '0') throw new Error(`fastTts failed: ${JSON.stringify(made)}`);
    const ttsId: number = made.data.id;
    const end = Date.now() + 60_000;
    for (;;) {
      const r = await json(await fetch(`${base}/openapi/speaker/v2/tts/${ttsId}?access_token=${token}`));
      if (r.data?.status === 2) break;
      if (r.data?.status === 3 || Date.now() > end) throw new Error(`TTS ${ttsId} did not succeed: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    return { app, base, token, ttsId, close };
  } catch (err) {
    await close();
    throw err;
  }
}
