// dhp benchmarks (not part of the test suite): `npm run bench`. Every number is printed beside a
// baseline measured in the same run, because the machine may be shared and noisy.
//
// 1. API throughput: GET /openapi/speaker/v2/tts/{id} on a real dhp server against a bare node:http
//    server answering the very same bytes (and, for reference, a bare Fastify route doing the same).
//    Each server runs in its own child process (bench/servers.ts); the load generator (autocannon)
//    runs here. Rounds alternate the order and the median of each server is compared; each server's
//    CPU time per request comes from /proc. Goal: dhp ≥ 0.5 × bare node:http. Then the parts of
//    dhp's request path are timed one by one (bench/breakdown.ts) to show where the time goes.
// 2. TTS speed: the embedded espeak engine's real-time factor (audio seconds per wall second) on a
//    ~2 min English and a ~1 min Mandarin text, next to the raw espeak call on this thread (no
//    worker), and end to end through the API (POST fastTts, poll until status 2). Goal: ≥ 50×.
//
// Settings (environment):
//   BENCH_SECONDS=10        duration of each measured load run
//   BENCH_WARMUP_SECONDS=2  discarded warm-up run per server (also checks the answers' bytes)
//   BENCH_ROUNDS=3          load rounds; each round measures every server (order alternates)
//   BENCH_CONNECTIONS=10    autocannon connections (pipelining is always 1)
//   BENCH_FASTIFY=0         leave out the bare Fastify reference server
//   BENCH_BREAKDOWN=0       leave out the per-part timing of dhp's request path
//   BENCH_TTS_RUNS=5        measured syntheses per TTS case (after one warm-up)
//   BENCH_ONLY=api|tts      run one part only
//   BENCH_CPU_PROF=DIR      run the dhp server under --cpu-prof and summarize its profile (slows it)
//   BENCH_JSON=FILE         also write the numbers as JSON

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { EspeakEngine } from '../src/engines/tts/espeak.js';
import type { VoiceProfile } from '../src/engines/tts/engine.js';
import { publicVoices } from '../src/services/catalog.js';
import { breakdown, formatBreakdown, type Part } from './breakdown.js';
import { formatSummary, summarize } from './cpuprofile.js';
import type { BareReady, DhpReady } from './servers.js';
import { ENGLISH, MANDARIN } from './texts.js';
import { envInt } from './env.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const SERVERS = path.join(HERE, 'servers.ts');


const SECONDS = envInt('BENCH_SECONDS', 10);
const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 2, 0);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 10);
const TTS_RUNS = envInt('BENCH_TTS_RUNS', 5);
const WITH_FASTIFY = process.env.BENCH_FASTIFY !== '0';
const WITH_BREAKDOWN = process.env.BENCH_BREAKDOWN !== '0';
const ONLY = process.env.BENCH_ONLY ?? '';
const CPU_PROF = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : null;
const JSON_OUT = process.env.BENCH_JSON ? path.resolve(process.env.BENCH_JSON) : null;
if (ONLY !== '' && ONLY !== 'api' && ONLY !== 'tts') throw new Error(`BENCH_ONLY must be api or tts, got "${ONLY}"`);

const API_GOAL = 0.5;
const TTS_GOAL = 50;

// ---------------------------------------------------------------------------------------------
// Child processes

interface Child<T> { info: T; proc: ChildProcess; stop(): Promise<void> }
const children = new Set<Child<unknown>>();

/** Starts `servers.ts <args>` in its own node process and waits for its READY line. */
function startChild<T>(args: string[], nodeFlags: string[] = [], preload: string[] = []): Promise<Child<T>> {
  const imports = preload.flatMap((file) => ['--import', pathToFileURL(file).href]);
  const proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', ...imports, SERVERS, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`servers.ts ${args[0]} did not start within 120 s`)); }, 120_000);
    proc.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`servers.ts ${args[0]} exited before it was ready (code ${code}, signal ${signal})`)); });
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith('READY ')) { console.log(`  [${args[0]}] ${line}`); return; }
      clearTimeout(timer);
      const child: Child<T> = {
        info: JSON.parse(line.slice('READY '.length)) as T,
        proc,
        async stop() {
          children.delete(child as Child<unknown>);
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          // Closing stdin asks the child to shut down cleanly (and write its --cpu-prof profile).
          proc.stdin!.end();
          const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
          await exited;
          clearTimeout(killer);
        },
      };
      children.add(child as Child<unknown>);
      resolve(child);
    });
  });
}

async function stopChildren(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()));
}

// ---------------------------------------------------------------------------------------------
// Helpers

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function json(res: Response): Promise<any> {
  const text = await res.text();
  try { return JSON.parse(text); } catch { throw new Error(`non-JSON answer ${res.status}: ${text.slice(0, 200)}`); }
}

function voice(speakerId: string): VoiceProfile {
  const v = publicVoices.find((x) => x.speakerId === speakerId);
  if (!v) throw new Error(`no public voice ${speakerId}`);
  return v.profile;
}

// ---------------------------------------------------------------------------------------------
// 1. API throughput

type ServerName = 'baseline' | 'fastify' | 'dhp';
const SERVER_LABEL: Record<ServerName, string> = { baseline: 'bare node:http', fastify: 'bare Fastify', dhp: 'dhp' };

let clockTicks: number | null | undefined;
interface CpuTimes { user: number; sys: number; main: number }
/** CPU seconds a process has used so far (user, system, and its main thread alone), from /proc on Linux; null elsewhere. */
function processCpu(pid: number): CpuTimes | null {
  try {
    if (clockTicks === undefined) clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    if (clockTicks === null) return null;
    const ticks = (file: string) => {
      const stat = readFileSync(file, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { user: Number(fields[11]) / clockTicks!, sys: Number(fields[12]) / clockTicks! };
    };
    const all = ticks(`/proc/${pid}/stat`);
    const main = ticks(`/proc/${pid}/task/${pid}/stat`);
    return { user: all.user, sys: all.sys, main: main.user + main.sys };
  } catch {
    clockTicks = null;
    return null;
  }
}

interface LoadRun {
  server: ServerName;
  /** 1-based; 0 for warm-up runs. */
  round: number;
  rps: number;
  /** Microseconds, from each response's own timing (autocannon's histogram has 1 ms resolution). */
  p50us: number;
  p99us: number;
  requests: number;
  /** Server process CPU time per request, µs (user + system, all threads), and its system part; null without /proc. */
  serverCpuUs: number | null;
  serverSysUs: number | null;
  /** Share of one core used during the run by the server's main thread (its event loop), and by the load generator (this process). */
  serverMainCore: number | null;
  clientCore: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
}

async function load(server: ServerName, round: number, pid: number, url: string, seconds: number, expectBody?: string): Promise<LoadRun> {
  const hist = createHistogram();
  const cpu0 = processCpu(pid);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const instance = autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration: seconds, expectBody, timeout: 10 });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => hist.record(Math.max(1, Math.round(ms * 1000))));
  const r = await instance;
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = processCpu(pid);
  const self = process.cpuUsage(self0);
  const n = r.requests.total;
  const d = cpu0 && cpu1 && n > 0 ? { user: cpu1.user - cpu0.user, sys: cpu1.sys - cpu0.sys, main: cpu1.main - cpu0.main } : null;
  return {
    server, round, rps: r.requests.average, p50us: hist.percentile(50), p99us: hist.percentile(99), requests: n,
    serverCpuUs: d && ((d.user + d.sys) * 1e6) / n,
    serverSysUs: d && (d.sys * 1e6) / n,
    serverMainCore: d && d.main / wall,
    clientCore: (self.user + self.system) / 1e6 / wall,
    non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, mismatches: r.mismatches,
  };
}

function describe(r: LoadRun): string {
  const problems = r.non2xx + r.errors + r.timeouts + r.mismatches;
  const cpu = r.serverCpuUs === null ? `  autocannon ${fmt(100 * r.clientCore)}% of a core`
    : `  server CPU ${fmt(r.serverCpuUs)} µs/req (${fmt(r.serverSysUs!)} in kernel), event loop ${fmt(100 * r.serverMainCore!)}% busy; autocannon ${fmt(100 * r.clientCore)}%`;
  return `${fmt(r.rps).padStart(7)} req/s  p50 ${fmt(r.p50us / 1000, 2)} ms  p99 ${fmt(r.p99us / 1000, 2)} ms${cpu}  (${fmt(r.requests)} requests`
    + (problems ? `; ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts, ${r.mismatches} body mismatches: INVALID)` : ', all 200 with the expected body)');
}

interface Side { rps: number; p50us: number; p99us: number; serverCpuUs: number | null; serverSysUs: number | null }

interface ApiResult {
  path: string;
  bodyBytes: number;
  contentType: string;
  servers: ServerName[];
  runs: LoadRun[];
  sides: Partial<Record<ServerName, Side>>;
  /** dhp / bare node:http, medians of req/s. */
  ratio: number;
  roundRatios: number[];
  /** For reference: dhp on an endpoint that reads the database on every request (account quotas). */
  dbRead: LoadRun | null;
  valid: boolean;
}

async function benchApi(dhp: Child<DhpReady>): Promise<ApiResult> {
  const { base, token, ttsId } = dhp.info;
  const pathAndQuery = `/openapi/speaker/v2/tts/${ttsId}?access_token=${token}`;
  const res = await fetch(base + pathAndQuery);
  const body = Buffer.from(await res.arrayBuffer());
  const contentType = res.headers.get('content-type') ?? 'application/json';
  const parsed = JSON.parse(body.toString('utf8'));
  if (res.status !== 200 || parsed.code !== '0' || parsed.data?.status !== 2) throw new Error(`unexpected answer from dhp: ${res.status} ${body}`);

  const servers: ServerName[] = WITH_FASTIFY ? ['baseline', 'fastify', 'dhp'] : ['baseline', 'dhp'];
  const dir = mkdtempSync(path.join(tmpdir(), 'dhp-bench-body-'));
  const bodyFile = path.join(dir, 'body.json');
  writeFileSync(bodyFile, body);
  const others: Partial<Record<ServerName, Child<BareReady>>> = {};
  try {
    for (const name of servers) if (name !== 'dhp') others[name] = await startChild<BareReady>([name === 'baseline' ? 'bare' : 'fastify', bodyFile, contentType]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const target = (name: ServerName) => (name === 'dhp' ? { base, pid: dhp.info.pid } : others[name]!.info);

  const runs: LoadRun[] = [];
  let dbRead: LoadRun | null = null;
  try {
    for (const name of servers) {
      if (name === 'dhp') continue;
      const check = await fetch(target(name).base + pathAndQuery);
      const checkBody = Buffer.from(await check.arrayBuffer());
      if (!checkBody.equals(body) || check.headers.get('content-type') !== contentType) throw new Error(`${SERVER_LABEL[name]} does not answer the same bytes as dhp`);
    }
    console.log(`GET ${pathAndQuery.replace(token, '<token>')}: ${body.length} bytes of ${contentType}`);
    for (const name of servers) console.log(`  ${SERVER_LABEL[name].padEnd(14)} pid ${target(name).pid} at ${target(name).base}${name === 'dhp' ? '' : ' (same bytes, same content-type)'}`);
    console.log(`  autocannon in this process (pid ${process.pid}): ${CONNECTIONS} connections, pipelining 1, ${SECONDS} s per run, ${ROUNDS} rounds`
      + ` (order reversed every other round), ${WARMUP_SECONDS} s warm-up per server first (discarded, checks every body)`);

    if (WARMUP_SECONDS > 0) {
      for (const name of servers) {
        const w = await load(name, 0, target(name).pid, target(name).base + pathAndQuery, WARMUP_SECONDS, body.toString('utf8'));
        runs.push(w);
        console.log(`  warm-up  ${SERVER_LABEL[name].padEnd(14)} ${describe(w)}`);
      }
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? servers : [...servers].reverse();
      for (const name of order) {
        const r = await load(name, round, target(name).pid, target(name).base + pathAndQuery, SECONDS);
        runs.push(r);
        console.log(`  round ${round}  ${SERVER_LABEL[name].padEnd(14)} ${describe(r)}`);
      }
    }
    // A finished TTS record is served from memory (settled views); this endpoint is not.
    dbRead = await load('dhp', -1, dhp.info.pid, `${base}/openapi/user/v2/get?access_token=${token}`, SECONDS);
    console.log(`  for reference, GET /openapi/user/v2/get (reads the database every time): ${describe(dbRead)}`);
  } finally {
    for (const child of Object.values(others)) await child!.stop();
  }

  const measured = runs.filter((r) => r.round > 0);
  const sides: ApiResult['sides'] = {};
  for (const name of servers) {
    const rs = measured.filter((r) => r.server === name);
    const cpu = rs.map((r) => r.serverCpuUs).filter((x): x is number => x !== null);
    const sys = rs.map((r) => r.serverSysUs).filter((x): x is number => x !== null);
    sides[name] = {
      rps: median(rs.map((r) => r.rps)), p50us: median(rs.map((r) => r.p50us)), p99us: median(rs.map((r) => r.p99us)),
      serverCpuUs: cpu.length ? median(cpu) : null, serverSysUs: sys.length ? median(sys) : null,
    };
  }
  const rpsOf = (name: ServerName, round: number) => measured.find((r) => r.server === name && r.round === round)!.rps;
  const roundRatios = Array.from({ length: ROUNDS }, (_, i) => rpsOf('dhp', i + 1) / rpsOf('baseline', i + 1));
  const valid = runs.every((r) => r.non2xx + r.errors + r.timeouts + r.mismatches === 0);
  return {
    path: '/openapi/speaker/v2/tts/{id}', bodyBytes: body.length, contentType, servers, runs, sides,
    ratio: sides.dhp!.rps / sides.baseline!.rps, roundRatios, dbRead, valid,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. TTS speed

interface Rtf { audioSeconds: number; wallMs: number[]; medianMs: number; factor: number }

function rtf(audioSeconds: number, wallMs: number[]): Rtf {
  const medianMs = median(wallMs);
  return { audioSeconds, wallMs, medianMs, factor: audioSeconds / (medianMs / 1000) };
}

function describeRtf(r: Rtf): string {
  return `${fmt(r.factor).padStart(4)}× real time  (${fmt(r.audioSeconds, 1)} s of audio in ${fmt(r.medianMs)} ms median; runs ${r.wallMs.map((m) => fmt(m)).join(', ')} ms)`;
}

interface EspeakRaw {
  readonly samplerate: number;
  set_voice(voice: string): number;
  set_rate(rate: number): void;
  set_pitch(pitch: number): void;
  set_range(range: number): void;
  synthesize(text: string, callback: (samples: Int16Array | null, events: unknown[]) => unknown): void;
}

/** espeak-ng on this thread: what the engine's worker does, minus the worker, WAV and timings. */
async function rawEspeak(): Promise<(text: string, v: VoiceProfile) => number> {
  const specifier = '@echogarden/espeak-ng-emscripten';
  const { default: init } = (await import(specifier)) as { default: () => Promise<{ eSpeakNGWorker: new () => EspeakRaw }> };
  const espeak = new (await init()).eSpeakNGWorker();
  return (text, v) => {
    if (espeak.set_voice(v.voice) !== 0) throw new Error(`unknown voice ${v.voice}`);
    espeak.set_rate(v.rate ?? 175);
    espeak.set_pitch(v.pitch ?? 50);
    espeak.set_range(v.range ?? 50);
    const chunks: Int16Array[] = [];
    let samples = 0;
    espeak.synthesize(text, (s) => {
      if (s && s.length > 0) { chunks.push(s); samples += s.length; }
      return false;
    });
    return samples / espeak.samplerate;
  };
}

interface TtsCase { name: 'en' | 'zh'; text: string; speakerId: string }
const CASES: TtsCase[] = [
  { name: 'en', text: ENGLISH, speakerId: 'en-us-female' },
  { name: 'zh', text: MANDARIN, speakerId: 'zh-cn-female' },
];

interface TtsResult { engine: Record<string, Rtf>; raw: Record<string, Rtf>; api?: Rtf }

async function benchEngine(): Promise<Pick<TtsResult, 'engine' | 'raw'>> {
  const engine = new EspeakEngine({ threads: 1 });
  const out: Pick<TtsResult, 'engine' | 'raw'> = { engine: {}, raw: {} };
  try {
    for (const c of CASES) {
      const v = voice(c.speakerId);
      const warm = await engine.synthesize(c.text, v);
      const wall: number[] = [];
      for (let i = 0; i < TTS_RUNS; i++) {
        const t0 = performance.now();
        await engine.synthesize(c.text, v);
        wall.push(performance.now() - t0);
      }
      out.engine[c.name] = rtf(warm.durationMs / 1000, wall);
      console.log(`  EspeakEngine (1 worker thread) ${c.name} ${c.speakerId}: ${describeRtf(out.engine[c.name])}`);
    }
  } finally {
    await engine.close();
  }
  const raw = await rawEspeak();
  for (const c of CASES) {
    const v = voice(c.speakerId);
    const audio = raw(c.text, v);
    const wall: number[] = [];
    for (let i = 0; i < TTS_RUNS; i++) {
      const t0 = performance.now();
      raw(c.text, v);
      wall.push(performance.now() - t0);
    }
    out.raw[c.name] = rtf(audio, wall);
    console.log(`  raw espeak on the main thread   ${c.name} ${c.speakerId}: ${describeRtf(out.raw[c.name])}`);
  }
  return out;
}

/** POST fastTts, then poll GET /tts/{id} every 5 ms until status 2: the wall time a client sees. */
async function benchApiTts(dhp: Child<DhpReady>): Promise<Rtf> {
  const { base, token } = dhp.info;
  const once = async (): Promise<{ ms: number; audioSeconds: number }> => {
    const t0 = performance.now();
    const made = await json(await fetch(`${base}/openapi/speaker/v3/fastTts?access_token=${token}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ speakerId: 'en-us-female', content: ENGLISH }),
    }));
    if (made.code !== '0') throw new Error(`fastTts failed: ${JSON.stringify(made)}`);
    for (;;) {
      const r = await json(await fetch(`${base}/openapi/speaker/v2/tts/${made.data.id}?access_token=${token}`));
      if (r.data?.status === 2) return { ms: performance.now() - t0, audioSeconds: r.data.duration / 1000 };
      if (r.code !== '0' || r.data?.status === 3) throw new Error(`TTS ${made.data.id} failed: ${JSON.stringify(r)}`);
      if (performance.now() - t0 > 120_000) throw new Error(`TTS ${made.data.id} did not finish in 120 s`);
      await sleep(5);
    }
  };
  const warm = await once();
  const wall: number[] = [];
  for (let i = 0; i < TTS_RUNS; i++) wall.push((await once()).ms);
  const r = rtf(warm.audioSeconds, wall);
  console.log(`  API end to end (POST fastTts → poll every 5 ms until status 2) en: ${describeRtf(r)}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Main

function machine(): string {
  const model = cpus()[0]?.model?.trim() || 'unknown CPU';
  return `${model}, ${availableParallelism()} CPUs, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Other work on the machine skews every number: show how busy it was. */
function machineLoad(): string {
  return `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
}

/** The newest main-thread profile the dhp child wrote (worker threads write their own files). */
function dhpProfile(pid: number): string | null {
  if (!CPU_PROF) return null;
  const files = readdirSync(CPU_PROF).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`)).sort();
  return files.length ? path.join(CPU_PROF, files[files.length - 1]) : null;
}

async function main(): Promise<void> {
  console.log(`dhp benchmarks: ${new Date().toISOString()} on ${machine()}; ${machineLoad()}`);
  if (CPU_PROF) {
    mkdirSync(CPU_PROF, { recursive: true });
    console.log(`BENCH_CPU_PROF: the dhp server runs under --cpu-prof (profiles in ${CPU_PROF}); its numbers are lower than without profiling`);
  }
  let api: ApiResult | undefined;
  let tts: TtsResult | undefined;

  console.log('\nstarting dhp (temp data dir, log level silent, rate limit 1e9/min) …');
  const dhp = await startChild<DhpReady>(['dhp'], CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [], []);
  try {
    if (ONLY !== 'tts') {
      console.log('\n1. API throughput');
      api = await benchApi(dhp);
    }
    if (ONLY !== 'api') {
      console.log(`\n2. TTS speed (median of ${TTS_RUNS} runs after one warm-up; 1× = real time)`);
      const engine = await benchEngine();
      tts = { ...engine, api: await benchApiTts(dhp) };
    }
  } finally {
    await dhp.stop();
  }

  const profile = dhpProfile(dhp.info.pid);
  if (profile) console.log(`\ndhp server CPU profile ${profile}\n${formatSummary(summarize(profile))}`);

  let parts: Part[] | undefined;
  if (ONLY !== 'tts' && WITH_BREAKDOWN) {
    console.log('\n3. Where a dhp request goes (each part timed alone on an in-process dhp, no sockets, no load; µs per call)');
    parts = await breakdown();
    console.log(formatBreakdown(parts));
  }

  console.log(`\nSummary (${machineLoad()} at the end)`);
  if (api) {
    const d = api.sides.dhp!;
    const b = api.sides.baseline!;
    const f = api.sides.fastify;
    const lat = (x: Side) => `p50 ${fmt(x.p50us / 1000, 2)} ms, p99 ${fmt(x.p99us / 1000, 2)} ms`
      + (x.serverCpuUs === null ? '' : `, server CPU ${fmt(x.serverCpuUs)} µs/req (${fmt(x.serverSysUs!)} in kernel)`);
    console.log(`API  GET ${api.path}: dhp ${fmt(d.rps)} req/s vs bare node:http ${fmt(b.rps)} req/s → ratio ${fmt(api.ratio, 2)}`
      + ` (goal ≥ ${API_GOAL}: ${verdict(api.ratio >= API_GOAL)}; per round ${api.roundRatios.map((r) => fmt(r, 2)).join(', ')})`
      + (api.valid ? '' : ' INVALID: some answers were not 200 with the expected body'));
    console.log(`     dhp ${lat(d)}; bare node:http ${lat(b)}`);
    if (d.serverCpuUs !== null && b.serverCpuUs !== null) {
      console.log(`     server CPU per request, bare node:http ÷ dhp: ${fmt(b.serverCpuUs / d.serverCpuUs, 2)} (what the ratio would be if both servers were CPU-bound; it hardly moves with the machine's other load, req/s does)`);
    }
    if (f) console.log(`     reference: bare Fastify (one route, same bytes) ${fmt(f.rps)} req/s = ${fmt(f.rps / b.rps, 2)} × bare node:http; ${lat(f)}; dhp = ${fmt(d.rps / f.rps, 2)} × bare Fastify`);
  }
  if (tts) {
    const all = [tts.engine.en.factor, tts.engine.zh.factor, tts.api!.factor];
    console.log(`TTS  espeak en: ${fmt(tts.engine.en.factor)}× real time; zh: ${fmt(tts.engine.zh.factor)}×; API end-to-end en: ${fmt(tts.api!.factor)}×`
      + ` (baseline: real time = 1×; goal ≥ ${TTS_GOAL}×: ${verdict(all.every((f) => f >= TTS_GOAL))})`);
    console.log(`     raw espeak on the main thread (no worker, no WAV/timings): en ${fmt(tts.raw.en.factor)}×, zh ${fmt(tts.raw.zh.factor)}×`);
  }
  if (JSON_OUT) {
    writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), machine: machine(), settings: { SECONDS, WARMUP_SECONDS, ROUNDS, CONNECTIONS, TTS_RUNS }, api, breakdown: parts, tts }, null, 2));
    console.log(`(numbers written to ${JSON_OUT})`);
  }
}

process.on('SIGINT', () => { stopChildren().finally(() => process.exit(130)); });

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await stopChildren();
  // Everything is closed, so the process ends by itself; if a handle still lingers, say so and leave.
  setTimeout(() => { console.error('bench: a handle kept the process alive; exiting'); process.exit(process.exitCode ?? 0); }, 5000).unref();
}
