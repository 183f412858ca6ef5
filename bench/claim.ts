/**
 * The fair claim against the plain FIFO claim it replaced, on one database: 100 apps with
 * 100 queued jobs each (one app flooding, the rest a few) and 50,000 finished jobs. Prints
 * microseconds per claim and the ratio. Run: node --import tsx bench/claim.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openSqlite } from '../src/store/db.js';
import { EmbeddedQueue } from '../src/queue/embedded.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dhp-claim-bench-'));
const db = await openSqlite(path.join(dir, 'b.sqlite'));
let now = 1_000_000;
const q = new EmbeddedQueue(db, { now: () => now }, 3);
const rows = [];
for (let i = 0; i < 50_000; i++) rows.push({ type: 'tts.synthesize', ref_id: i, app_pk: 1 + (i % 100), state: 'done' as const, attempts: 1, max_attempts: 3, run_at: i, lease_until: null, locked_by: null, claimed_at: i, last_error: null, created_at: i, updated_at: i });
for (let i = 0; i < 10_000; i++) rows.push({ type: 'tts.synthesize', ref_id: i, app_pk: i < 5000 ? 1 : 2 + (i % 99), state: 'queued' as const, attempts: 0, max_attempts: 3, run_at: 100_000 + i, lease_until: null, locked_by: null, claimed_at: null, last_error: null, created_at: i, updated_at: i });
for (let i = 0; i < rows.length; i += 500) await db.insertInto('jobs').values(rows.slice(i, i + 500)).execute();

async function fifo() {
  const next = db.selectFrom('jobs').select('id').where('type', 'in', ['tts.synthesize'])
    .where((eb) => eb.or([eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)]), eb.and([eb('state', '=', 'running'), eb('lease_until', '<', now)])]))
    .orderBy('run_at').orderBy('id').limit(1);
  return db.updateTable('jobs').set({ state: 'running', locked_by: 'b', lease_until: now + 60_000, attempts: sql`attempts + 1`, updated_at: now })
    .where('id', '=', next).returningAll().executeTakeFirst();
}
async function time(label: string, claim: () => Promise<unknown>, n = 300) {
  const t = performance.now();
  for (let i = 0; i < n; i++) { now += 1; const j = await claim() as { id: number }; await q.complete(j.id, 'b'); }
  const us = ((performance.now() - t) / n) * 1000;
  console.log(`${label}: ${us.toFixed(0)} µs per claim+complete`);
  return us;
}
const base = await time('FIFO claim (before)', fifo);
const fair = await time('fair claim (after)', () => q.claim(['tts.synthesize'], 'b', 60_000));
console.log(`ratio fair/FIFO: ${(fair / base).toFixed(2)}`);
await db.destroy();
rmSync(dir, { recursive: true, force: true });
