import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeDir } from '../support/helpers.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { parseArgs, UsageError } from '../../src/cli/args.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'dhp-cli-'));
after(() => removeDir(dir));

function dhp(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/dhp.js', ...args], {
    cwd: root, env: { ...process.env, DHP_DATA_DIR: dir, DHP_FROM_SOURCE: '1', ...env }, encoding: 'utf8', timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('dhp app create --json prints appId, secret, userId, corpId', () => {
  const r = dhp(['app', 'create', '--name', 'acme', '--json']);
  assert.equal(r.code, 0, r.err);
  const created = JSON.parse(r.out);
  assert.deepEqual(Object.keys(created).sort(), ['appId', 'corpId', 'secret', 'userId']);
  assert.equal(typeof created.appId, 'string');
  assert.ok(created.secret.length >= 24);
  assert.ok(Number.isInteger(created.userId) && Number.isInteger(created.corpId));

  const list = JSON.parse(dhp(['app', 'list', '--json']).out);
  assert.ok(list.some((a: any) => a.appId === created.appId && a.name === 'acme'));

  const q = dhp(['app', 'quota', created.appId, '--tts-words', '42', '--voice-clone', '0', '--json']);
  assert.equal(q.code, 0, q.err);
  const lines = JSON.parse(q.out);
  assert.deepEqual(lines.tts_words, { total: 42, remaining: 42 });
  assert.deepEqual(lines.voice_clone, { total: 0, remaining: 0 });
});

test('bad usage exits 2 with a message; an unknown app exits 1', () => {
  const missing = dhp(['app', 'create']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--name/);
  const unknownFlag = dhp(['app', 'create', '--name', 'x', '--colour', 'blue']);
  assert.equal(unknownFlag.code, 2);
  assert.match(unknownFlag.err, /unknown option --colour/);
  const badNumber = dhp(['app', 'quota', 'whatever', '--tts-words', 'lots']);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.err, /--tts-words must be a whole number/);
  const unknownApp = dhp(['app', 'quota', 'no-such-app', '--tts-words', '1']);
  assert.equal(unknownApp.code, 1);
  assert.match(unknownApp.err, /no app with appId no-such-app/);
  const unknownCommand = dhp(['frobnicate']);
  assert.equal(unknownCommand.code, 2);
  const unknownShort = dhp(['app', 'list', '-o', 'apps.txt']);
  assert.equal(unknownShort.code, 2);
  assert.match(unknownShort.err, /unknown option -o/);
});

test('dhp help lists the server and the client commands, --json and the exit codes', () => {
  const r = dhp(['help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /Server commands[\s\S]*dhp serve[\s\S]*Client commands[\s\S]*dhp login[\s\S]*dhp video create[\s\S]*dhp wait/);
  assert.match(r.out, /--json: stdout carries one JSON document/);
  for (const code of ['0', '1', '2', '3', '130']) assert.match(r.out, new RegExp(`^  ${code} +\\S`, 'm'));
});

test('the flag parser: -o is --output where --output is known; -- ends the options', () => {
  assert.deepEqual(parseArgs(['-o', 'a.wav', 'x', '--json'], { output: 'string', json: 'boolean' }), { positional: ['x'], flags: { output: 'a.wav', json: true } });
  assert.deepEqual(parseArgs(['--', '--not-a-flag', '-o'], { output: 'string' }), { positional: ['--not-a-flag', '-o'], flags: {} });
  assert.throws(() => parseArgs(['-x'], { output: 'string' }), (e: Error) => e instanceof UsageError && /unknown option -x/.test(e.message));
  assert.throws(() => parseArgs(['-o'], { output: 'string' }), (e: Error) => e instanceof UsageError && /--output needs a value/.test(e.message));
});

test('bad configuration lists every bad key in one message and exits 2', () => {
  const r = dhp(['serve'], { DHP_PORT: 'eighty', DHP_LOG_LEVEL: 'loud', DHP_WORKERS: 'maybe' });
  assert.equal(r.code, 2);
  for (const k of ['DHP_PORT', 'DHP_LOG_LEVEL', 'DHP_WORKERS']) assert.match(r.err, new RegExp(k));
});

test('configuration from a file, overridden by the environment; unknown keys refused', () => {
  const file = path.join(dir, 'dhp.json');
  writeFileSync(file, JSON.stringify({ DHP_PORT: 9000, DHP_TTS_MAX_CHARS: 500 }));
  const c = loadConfig({ DHP_CONFIG_FILE: file, DHP_PORT: '9100' });
  assert.equal(c.port, 9100);
  assert.equal(c.ttsMaxChars, 500);
  assert.equal(c.databaseFile, path.join('./data', 'dhp.sqlite'));
  writeFileSync(file, JSON.stringify({ DHP_PROT: 9000 }));
  assert.throws(() => loadConfig({ DHP_CONFIG_FILE: file }), (e: Error) => e instanceof ConfigError && /DHP_PROT.*unknown setting/.test(e.message));
});

test('dhp consent list / approve / reject decide consents waiting for review', async () => {
  const { openSqlite } = await import('../../src/store/db.js');
  const { ConsentRecords } = await import('../../src/services/consent.js');
  const created = JSON.parse(dhp(['app', 'create', '--name', 'consenting', '--json']).out);
  const db = await openSqlite(path.join(dir, 'dhp.sqlite'));
  const records = new ConsentRecords(db, { now: () => Date.now() });
  const ids: number[] = [];
  try {
    for (const n of [1, 2]) {
      const id = await records.create(db, created.userId, 'voice', 1000 + n, 'http://example.com/c.wav', '我是张伟。我同意。');
      await records.record(id, 'review', 'no recognizer for Mandarin', null);
      ids.push(id);
    }
  } finally { await db.destroy(); }
  // The operator sees why each consent waits: the words the recognizer was unsure of, for example.
  const why = "An operator must review the recording: 'Morgan' could not be heard clearly.";
  const db2 = await openSqlite(path.join(dir, 'dhp.sqlite'));
  try {
    const id = await new ConsentRecords(db2, { now: () => Date.now() }).create(db2, created.userId, 'voice', 1003, 'http://example.com/c.wav', 'I am Alex Morgan. I consent.');
    await new ConsentRecords(db2, { now: () => Date.now() }).record(id, 'review', why, null);
  } finally { await db2.destroy(); }
  assert.ok(dhp(['consent', 'list', '--state', 'review']).out.includes(why));
  const listed = JSON.parse(dhp(['consent', 'list', '--state', 'review', '--json']).out);
  assert.deepEqual(listed.map((c: any) => c.id).filter((id: number) => ids.includes(id)), ids);
  const approved = dhp(['consent', 'approve', String(ids[0])]);
  assert.equal(approved.code, 0, approved.err);
  assert.match(approved.out, /approved/);
  const rejected = dhp(['consent', 'reject', String(ids[1]), '--reason', 'not the same person', '--json']);
  assert.equal(JSON.parse(rejected.out).state, 'rejected');
  assert.equal(JSON.parse(rejected.out).reason, 'not the same person');
  assert.equal(dhp(['consent', 'list', '--state', 'maybe']).code, 2);
  const missing = dhp(['consent', 'approve', '999999']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /Consent 999999 was not found/);
});

test('dhp lipsync analyse: scene ids or --all; unknown scenes are named and exit 1', () => {
  const usage = dhp(['lipsync', 'analyse']);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /lipsync analyse needs scene ids, or --all/);
  const none = dhp(['lipsync', 'analyse', '--all', '--json']);
  assert.equal(none.code, 0, none.err);
  assert.deepEqual(JSON.parse(none.out), []);
  const missing = dhp(['lipsync', 'analyse', '999', '--json']);
  assert.equal(missing.code, 1);
  assert.deepEqual(JSON.parse(missing.out), [{ sceneId: 999, error: 'no such scene' }]);
});
