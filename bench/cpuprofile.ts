// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): where the busy time went, by package or
// dhp source file (self time) and by function (inclusive time). bench/run.ts calls it for the dhp
// server's profile when BENCH_CPU_PROF is set; it also runs on its own:
//
//   node --import tsx bench/cpuprofile.ts FILE.cpuprofile [TOP]

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IDLE = new Set(['(idle)', '(root)']);

/** Where a frame's code lives: a dhp source file, an npm package, a node core module, or a V8 pseudo-frame. */
export function category(f: CallFrame): string {
  const url = f.url;
  if (!url) return f.functionName.startsWith('(') ? f.functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts[0] === 'internal' ? `internal/${parts[1] ?? ''}` : parts[0]}`.replace(/\.js$/, '');
  }
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  return path.relative(ROOT, file);
}

function label(f: CallFrame): string {
  const where = category(f);
  // Line numbers of .ts files point into tsx's transpiled output, not the source: leave them out.
  const line = !f.url || f.url.endsWith('.ts') ? '' : `:${f.lineNumber + 1}`;
  return `${f.functionName || '(anonymous)'} ${where}${line}`;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  byCategory: { name: string; ms: number }[];
  byFunction: { name: string; ms: number }[];
}

export function summarize(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfByCategory = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  let busyUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const us = p.timeDeltas[i] ?? 0;
    totalUs += us;
    const leaf = byId.get(p.samples[i])!;
    if (IDLE.has(leaf.callFrame.functionName)) continue;
    busyUs += us;
    // A native function (empty url: a C++ binding such as a socket write or SQLite step) counts
    // towards the code that called it.
    let cat = category(leaf.callFrame);
    if (cat === '(native)') {
      let up = parent.get(leaf.id);
      while (up !== undefined && !byId.get(up)!.callFrame.url) up = parent.get(up);
      if (up !== undefined) cat = `${category(byId.get(up)!.callFrame)} (native ${leaf.callFrame.functionName || '?'})`;
    }
    selfByCategory.set(cat, (selfByCategory.get(cat) ?? 0) + us);
    // Each function once per sample, however deep the recursion.
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (IDLE.has(f.functionName)) continue;
      const key = label(f);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const sorted = (m: Map<string, number>) => [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, byCategory: sorted(selfByCategory), byFunction: sorted(inclusive) };
}

export function formatSummary(s: ProfileSummary, top = 25): string {
  const pct = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1).padStart(5)}%`;
  const lines = [
    `profile: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(1)} s busy (percentages are of busy time)`,
    'self time by package / dhp file:',
    ...s.byCategory.slice(0, top).map((c) => `  ${pct(c.ms)}  ${c.name}`),
    'inclusive time by function (dhp src and packages; node internals and the event loop left out;',
    'async code only counts up to its last await, so e.g. a query run after an await is not under its caller):',
    ...s.byFunction
      .filter((f) => !/ node:|^\(| \(native\)$|^processTicksAndRejections|^listOnTimeout/.test(f.name))
      .slice(0, top)
      .map((f) => `  ${pct(f.ms)}  ${f.name}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node --import tsx bench/cpuprofile.ts FILE.cpuprofile [TOP]');
    process.exit(2);
  }
  console.log(formatSummary(summarize(file), top ? Number(top) : 25));
}
