import { loadConfig, type Config } from '../config/config.js';
import { systemClock } from '../clock.js';
import { openSqlite } from '../store/db.js';
import { QuotaService } from '../services/quota.js';
import { ConsentRecords } from '../services/consent.js';
import type { ConsentState } from '../store/schema.js';
import { AppsService, type CreatedApp, type QuotaTotals } from '../services/apps.js';
import { createApp } from '../app.js';
import { intFlag, parseArgs, stringFlag, UsageError } from './args.js';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The operator's commands: they open the server's configuration and database directly. */
export async function serverCommand(cmd: 'serve' | 'app' | 'consent' | 'lipsync', args: string[]): Promise<number> {
  switch (cmd) {
    case 'serve': return serve(args);
    case 'app': return appCommand(args);
    case 'consent': return consentCommand(args);
    case 'lipsync': return lipsyncCommand(args);
  }
}

/**
 * Analyses trained avatars for the embedded lip-sync now (the mouth bank), rather than on their
 * next video: avatars trained before lip-sync existed, or with a bank of an older format.
 */
async function lipsyncCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'analyse') throw new UsageError(sub ? `unknown lipsync command "${sub}"` : 'lipsync needs a command: analyse');
  const p = parseArgs(rest, { all: 'boolean', json: 'boolean' });
  const ids = p.positional.map((id) => {
    if (!/^\d+$/.test(id)) throw new UsageError(`lipsync analyse takes scene ids (numbers); got "${id}"`);
    return Number(id);
  });
  if (!ids.length && !p.flags.all) throw new UsageError('lipsync analyse needs scene ids, or --all for every avatar without a mouth bank');
  const app = await createApp({ ...loadConfig(), workersEnabled: false });
  const work = await mkdtemp(path.join(tmpdir(), 'dhp-lipsync-'));
  const rows: Array<{ sceneId: number; frames?: number; usableFrames?: number; coverage?: number; analysed?: boolean; error?: string }> = [];
  try {
    const { db, storage, videos } = app.services;
    let query = db.selectFrom('scenes').selectAll();
    query = ids.length ? query.where('id', 'in', ids) : query.where('lipsync_key', 'is', null);
    for (const scene of await query.orderBy('id').execute()) {
      const dir = path.join(work, String(scene.id));
      await mkdir(dir, { recursive: true });
      const forward = path.join(dir, 'forward.mp4');
      try {
        if (!(await storage.copyTo(scene.forward_key, forward))) throw new Error('its video files are missing; train the avatar again');
        const { bank, analysed } = await videos.mouthBank(scene, forward, dir);
        const c = bank.index.coverage;
        rows.push({ sceneId: Number(scene.id), frames: c.frames, usableFrames: c.usableFrames, coverage: c.coverage, analysed });
      } catch (err) {
        rows.push({ sceneId: Number(scene.id), error: (err as Error).message });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    await app.close();
  }
  const missing = ids.filter((id) => !rows.some((r) => r.sceneId === id));
  for (const id of missing) rows.push({ sceneId: id, error: 'no such scene' });
  if (p.flags.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
  else for (const r of rows) {
    process.stdout.write(r.error ? `scene ${r.sceneId}: ${r.error}\n`
      : `scene ${r.sceneId}: ${r.analysed ? 'analysed' : 'already analysed'}, ${r.usableFrames} of ${r.frames} frames usable, mouth coverage ${Math.round(r.coverage! * 100)}%\n`);
  }
  return rows.some((r) => r.error) ? 1 : 0;
}

async function serve(args: string[]): Promise<number> {
  parseArgs(args, {});
  const config = loadConfig();
  const app = await createApp(config);
  const base = await app.listen();
  if (await app.services.apps.count() === 0) printFirstApp(await app.services.apps.create({ name: 'default' }), base);
  app.log.info({ url: base, console: `${base}/console`, docs: `${base}/docs`, data: config.dataDir }, 'dhp is serving');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  app.log.info('shutting down: finishing running tasks');
  await app.close();
  return 0;
}

function printFirstApp(created: CreatedApp, base: string) {
  process.stdout.write(`
First start: created the default app. Keep the secret; it is shown only here.
  appId:  ${created.appId}
  secret: ${created.secret}

Try it:
  TS=$(date +%s%3N); SIGN=$(printf '%s' "${created.appId}\${TS}${created.secret}" | md5sum | cut -d' ' -f1)
  curl "${base}/openapi/oauth/token?grant_type=sign&appId=${created.appId}&timestamp=\${TS}&sign=\${SIGN}"
or open the console at ${base}/console, or from another terminal:
  npx dhp login --base-url ${base} --app-id ${created.appId} --secret ${created.secret}

`);
}

async function withApps<T>(fn: (apps: AppsService, quota: QuotaService, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openSqlite(config.databaseFile);
  try {
    const quota = new QuotaService(db, systemClock);
    return await fn(new AppsService(db, quota, systemClock, config.defaultQuota), quota, config);
  } finally {
    await db.destroy();
  }
}

async function appCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create') {
    const p = parseArgs(rest, { name: 'string', 'corp-id': 'string', json: 'boolean' });
    const name = p.flags.name;
    if (typeof name !== 'string' || name.trim() === '') throw new UsageError('app create needs --name NAME');
    const created = await withApps((apps) => apps.create({ name: name.trim(), corpId: intFlag(p, 'corp-id') }));
    if (p.flags.json) process.stdout.write(`${JSON.stringify(created)}\n`);
    else process.stdout.write(`appId:  ${created.appId}\nsecret: ${created.secret}\nuserId: ${created.userId}\ncorpId: ${created.corpId}\nKeep the secret; it is not shown again.\n`);
    return 0;
  }
  if (sub === 'list') {
    const p = parseArgs(rest, { json: 'boolean' });
    const list = await withApps((apps) => apps.list());
    const rows = list.map((a) => ({ appId: a.app_id, name: a.name, userId: a.id, corpId: a.corp_id, disabled: a.disabled_at !== null }));
    if (p.flags.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
    else for (const r of rows) process.stdout.write(`${r.appId}  ${r.name}  user ${r.userId}  corp ${r.corpId}${r.disabled ? '  DISABLED' : ''}\n`);
    return 0;
  }
  if (sub === 'quota') {
    const p = parseArgs(rest, { 'tts-words': 'string', 'fast-duration': 'string', 'fast-training': 'string', 'voice-clone': 'string', json: 'boolean' });
    const appId = p.positional[0];
    if (!appId) throw new UsageError('app quota needs an APPID');
    const totals: QuotaTotals = {};
    const set = (k: keyof QuotaTotals, flag: string) => { const v = intFlag(p, flag); if (v !== undefined) totals[k] = v; };
    set('tts_words', 'tts-words'); set('fast_duration', 'fast-duration'); set('fast_training', 'fast-training'); set('voice_clone', 'voice-clone');
    const lines = await withApps(async (apps, quota) => {
      const app = await apps.byAppId(appId);
      if (!app) throw new Error(`no app with appId ${appId}; see "dhp app list"`);
      if (Object.keys(totals).length) await apps.setQuota(appId, totals);
      return quota.lines(app.id);
    });
    if (p.flags.json) process.stdout.write(`${JSON.stringify(lines)}\n`);
    else for (const [k, v] of Object.entries(lines)) process.stdout.write(`${k.padEnd(14)} ${v.remaining} of ${v.total} remaining\n`);
    return 0;
  }
  if (sub === 'disable' || sub === 'enable' || sub === 'revoke-tokens' || sub === 'rotate-secret') {
    const p = parseArgs(rest, { json: 'boolean' });
    const appId = p.positional[0];
    if (!appId) throw new UsageError(`app ${sub} needs an APPID`);
    const result = await withApps(async (apps, _quota, config) => {
      const wait = `a running server stops accepting them within ${config.authCacheMs} ms`;
      switch (sub) {
        case 'disable': await apps.disable(appId); return { json: { appId, disabled: true }, text: `app ${appId} disabled: its tokens and signatures are refused (${wait}).` };
        case 'enable': await apps.enable(appId); return { json: { appId, disabled: false }, text: `app ${appId} enabled.` };
        case 'revoke-tokens': {
          const revoked = await apps.revokeTokens(appId);
          return { json: { appId, revoked }, text: `app ${appId}: ${revoked} live token(s) revoked (${wait}).` };
        }
        case 'rotate-secret': {
          const r = await apps.rotateSecret(appId);
          return { json: r, text: `appId:  ${r.appId}\nsecret: ${r.secret}\nThe old secret and every token are revoked (${wait}). Keep the secret; it is not shown again.` };
        }
      }
    });
    process.stdout.write(p.flags.json ? `${JSON.stringify(result.json)}\n` : `${result.text}\n`);
    return 0;
  }
  throw new UsageError(sub ? `unknown app command "${sub}"` : 'app needs a command: create, list, quota, disable, enable, revoke-tokens or rotate-secret');
}

const consentStates: ConsentState[] = ['pending', 'verified', 'refused', 'review', 'approved', 'rejected'];

async function consentCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const config = loadConfig();
  const open = async <T>(fn: (records: ConsentRecords) => Promise<T>) => {
    const db = await openSqlite(config.databaseFile);
    try { return await fn(new ConsentRecords(db, systemClock)); } finally { await db.destroy(); }
  };
  if (sub === 'list') {
    const p = parseArgs(rest, { state: 'string', json: 'boolean' });
    const state = p.flags.state as ConsentState | undefined;
    if (state !== undefined && !consentStates.includes(state)) throw new UsageError(`--state must be one of ${consentStates.join(', ')}`);
    const rows = await open((r) => r.list({ state }));
    if (p.flags.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
    else for (const c of rows) process.stdout.write(`${c.id}  ${c.state.padEnd(8)} ${c.subject} ${c.subject_id}  app ${c.app_pk}  "${c.authorize_text}"  ${c.authorize_url}${c.reason ? `\n      ${c.reason}` : ''}\n`);
    return 0;
  }
  if (sub === 'approve' || sub === 'reject') {
    const p = parseArgs(rest, { reason: 'string', json: 'boolean' });
    const id = p.positional[0];
    if (!id || !/^\d+$/.test(id)) throw new UsageError(`consent ${sub} needs a consent ID (see "dhp consent list")`);
    const reason = stringFlag(p, 'reason');
    const c = await open((r) => r.decide(Number(id), sub === 'approve', reason));
    if (p.flags.json) process.stdout.write(`${JSON.stringify(c)}\n`);
    else process.stdout.write(`consent ${c.id}: ${c.state} (${c.subject} ${c.subject_id})\n`);
    return 0;
  }
  throw new UsageError(sub ? `unknown consent command "${sub}"` : 'consent needs a command: list, approve or reject');
}
