// Where the time of one GET /openapi/speaker/v2/tts/{id} goes: the parts of the request path timed
// one by one, in microseconds per call, on an in-process dhp (no load generator running, no sockets).
// bench/run.ts prints this after the load test, to explain the ratio against bare node:http.
//
//   node --import tsx bench/breakdown.ts      (on its own)

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import Fastify from 'fastify';
import { AccessTokenQuery, Envelope, IdParam, TtsRecord } from '../src/domain/schemas.js';
import { startBenchDhp } from './dhp.js';

export interface Part { name: string; us: number; note: string }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Median µs per call over 7 batches of ~200 ms each, after ~1.5 s of warm-up (JIT, caches). */
async function perCall(fn: () => unknown): Promise<number> {
  const run = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const r = fn();
      if (r instanceof Promise) await r;
      // A full event-loop turn now and then, as a server gets between requests: Fastify's inject
      // leaves a setImmediate per request, and the garbage it holds piles up without turns.
      if ((i & 63) === 63) await turn();
    }
    return performance.now() - t0;
  };
  let n = 100;
  let warm = 0;
  let last = 0;
  while (warm < 1500) {
    last = await run(n);
    warm += last;
    if (last < 200) n *= 2;
  }
  n = Math.max(1, Math.round((n * 200) / Math.max(last, 1)));
  const batches: number[] = [];
  for (let b = 0; b < 7; b++) batches.push(((await run(n)) * 1000) / n);
  if (process.env.BENCH_DEBUG) console.error(n, batches.map((x) => x.toFixed(1)).join(' '));
  return median(batches);
}

export async function breakdown(): Promise<Part[]> {
  const dhp = await startBenchDhp();
  const raw = new SQLite(dhp.app.services.config.databaseFile, { readonly: true });
  try {
    const s = dhp.app.services;
    const url = `/openapi/speaker/v2/tts/${dhp.ttsId}?access_token=${dhp.token}`;
    const app = await s.auth.authenticate(dhp.token);
    const query = () => s.db.selectFrom('tts_syntheses').selectAll().where('id', '=', dhp.ttsId).where('app_pk', '=', app.id);
    const compiled = query().compile();
    const params = compiled.parameters as unknown[];
    const stmt = raw.prepare(compiled.sql);
    const view = await s.tts.get(app, dhp.ttsId);
    const envelope = { code: '0', success: true, message: 'success', data: view };
    const check = await dhp.app.server.inject({ method: 'GET', url });
    if (check.statusCode !== 200) throw new Error(`inject answered ${check.statusCode}: ${check.body}`);

    // The same answer from a Fastify with nothing added, to tell inject's own cost from dhp's.
    const bare = Fastify();
    const bareBody = check.body;
    const bareType = String(check.headers['content-type']);
    bare.get('/openapi/speaker/v2/tts/:id', (_req, reply) => { reply.type(bareType).send(bareBody); });
    await bare.ready();

    const parts: Part[] = [];
    const add = async (name: string, note: string, fn: () => unknown) => { parts.push({ name, note, us: await perCall(fn) }); };
    await add('bare Fastify, one route, same bytes (inject)', 'reference: light-my-request\'s fake req/res + Fastify\'s core path',
      () => bare.inject({ method: 'GET', url }));
    // The same route with dhp's schemas and Ajv options, answering a constant object: what validation
    // (query + params) and schema serialization (fast-json-stringify) add to the bare route.
    const schemed = Fastify({ ajv: { customOptions: { coerceTypes: false, removeAdditional: true, useDefaults: true } } });
    schemed.get('/openapi/speaker/v2/tts/:id', {
      schema: { querystring: AccessTokenQuery, params: IdParam, response: { 200: Envelope(TtsRecord) } },
    }, async () => envelope);
    await schemed.ready();
    await add('bare Fastify + dhp\'s route schemas, constant answer (inject)', 'adds query/params validation and serialization by the response schema (4 nullable fields: anyOf)',
      () => schemed.inject({ method: 'GET', url }));
    await schemed.close();
    await add('dhp GET /healthz (inject)', 'dhp\'s server and global hooks; no auth, no schemas, no database',
      () => dhp.app.server.inject({ method: 'GET', url: '/healthz' }));
    await add('dhp GET /openapi/speaker/v2/tts/{id} (inject)', 'the whole request without a socket: auth, validation, handler, serialization, metrics',
      () => dhp.app.server.inject({ method: 'GET', url }));
    await bare.close();
    await add('  auth + rate limit (onRequest hook)', 'in-memory token cache (the database every DHP_AUTH_CACHE_MS), token bucket per app',
      async () => { await s.auth.authenticate(dhp.token); s.rateLimiter.take(String(app.id)); });
    await add('  TtsService.get (handler)', 'Kysely build + compile, SQLite prepare + run, row → view',
      () => s.tts.get(app, dhp.ttsId));
    await add('    Kysely build + compile only', 'query builder objects and SQL string, no database', () => query().compile());
    await add('    SQLite prepare + all (what Kysely\'s driver does per query)', 'better-sqlite3 on a second connection to the same file',
      () => stmt.database.prepare(compiled.sql).all(params));
    await add('    SQLite cached statement .all (for comparison)', 'the same query with the statement prepared once', () => stmt.all(params));
    await add('  metrics (onResponse hook)', 'prom-client counter inc + histogram observe', () => {
      s.metrics.httpRequests.inc({ method: 'GET', route: '/openapi/speaker/v2/tts/:id', status: '200' });
      s.metrics.httpDuration.observe({ method: 'GET', route: '/openapi/speaker/v2/tts/:id' }, 0.001);
    });
    await add('  JSON.stringify of the envelope (serialization, for scale)', 'Fastify uses fast-json-stringify with the response schema', () => JSON.stringify(envelope));
    return parts;
  } finally {
    raw.close();
    await dhp.close();
  }
}

export function formatBreakdown(parts: Part[]): string {
  const w = Math.max(...parts.map((p) => p.name.length));
  return parts.map((p) => `  ${p.name.padEnd(w)}  ${p.us.toFixed(1).padStart(6)} µs  ${p.note}`).join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(formatBreakdown(await breakdown()));
}
