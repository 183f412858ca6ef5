// The servers under test, each run in its own child process by bench/run.ts so the load generator
// never shares an event loop (or a process) with them:
//
//   node --import tsx bench/servers.ts dhp                              a real dhp over a temp data dir
//   node --import tsx bench/servers.ts bare BODY_FILE CONTENT_TYPE      bare node:http, fixed answer
//   node --import tsx bench/servers.ts fastify BODY_FILE CONTENT_TYPE   bare Fastify, one route, fixed answer
//
// Each prints one line `READY <json>` on stdout once it is listening, then runs until its stdin
// closes (the parent closed the pipe or died) or it gets SIGTERM/SIGINT; then it shuts down cleanly
// (which also lets `--cpu-prof` write its profile).

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { startBenchDhp, type BenchDhp } from './dhp.js';

export interface DhpReady {
  base: string;
  token: string;
  /** A finished (status 2) TTS record of the benchmark app. */
  ttsId: number;
  pid: number;
}

/** The bare node:http and bare Fastify servers. */
export interface BareReady {
  base: string;
  pid: number;
}

function ready(info: object): void {
  process.stdout.write(`READY ${JSON.stringify(info)}\n`);
}

/** Runs `stop` once when the parent lets go of us. */
function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const go = () => {
    if (stopping) return;
    stopping = true;
    stop().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
  };
  process.stdin.on('end', go);
  process.stdin.on('close', go);
  process.stdin.resume();
  process.on('SIGTERM', go);
  process.on('SIGINT', go);
}

async function startDhpServer(): Promise<void> {
  let dhp: BenchDhp | null = null;
  onShutdown(async () => { await dhp?.close(); });
  dhp = await startBenchDhp();
  ready({ base: dhp.base, token: dhp.token, ttsId: dhp.ttsId, pid: process.pid } satisfies DhpReady);
}

async function startBareServer(bodyFile: string, contentType: string): Promise<void> {
  const body = readFileSync(bodyFile);
  const headers = { 'content-type': contentType, 'content-length': String(body.length) };
  const server = createServer((req, res) => {
    // Drain any request body, then answer the same bytes dhp answered.
    req.resume();
    res.writeHead(200, headers).end(body);
  });
  onShutdown(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  ready({ base: `http://127.0.0.1:${port}`, pid: process.pid } satisfies BareReady);
}

/**
 * Fastify with nothing added (no logger, hooks, schemas or plugins) answering the same bytes on the
 * same route pattern: what the framework alone costs, to tell it apart from what dhp adds.
 */
async function startFastifyServer(bodyFile: string, contentType: string): Promise<void> {
  const body = readFileSync(bodyFile, 'utf8');
  const api = Fastify();
  api.get('/openapi/speaker/v2/tts/:id', (_req, reply) => { reply.type(contentType).send(body); });
  onShutdown(() => api.close());
  const base = await api.listen({ host: '127.0.0.1', port: 0 });
  ready({ base, pid: process.pid } satisfies BareReady);
}

const [mode, ...args] = process.argv.slice(2);
const start = mode === 'dhp' ? startDhpServer()
  : mode === 'bare' && args.length === 2 ? startBareServer(args[0], args[1])
  : mode === 'fastify' && args.length === 2 ? startFastifyServer(args[0], args[1])
  : Promise.reject(new Error('usage: servers.ts dhp | servers.ts bare|fastify BODY_FILE CONTENT_TYPE'));
start.catch((err) => {
  console.error(err);
  process.exit(1);
});
