import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import * as esbuild from 'esbuild';
import * as schemas from '../../src/domain/schemas.js';
import * as domainStatus from '../../src/domain/status.js';
import { authorizeStatuses, describeStatus, tasks, type TaskKind } from '../../src/domain/tasks.js';
import * as sdk from '../../src/client/index.js';
import { KINDS, kindOf, statusName } from '../../src/cli/tasks.js';
import { readyVoices, trainedAvatars } from '../../console/src/workspace.js';
import { removeDir, startDhp, type Harness } from '../support/helpers.js';

/**
 * One status table: the server's task descriptions (src/domain/tasks.ts) name every status;
 * the SDK's table is generated from them, and the CLI and the console use the SDK's. These
 * tests compare every status of every kind, and look for a second table where one could hide.
 */
const root = path.resolve(import.meta.dirname, '../..');
const kinds = Object.keys(tasks) as TaskKind[];
/** Every status number of the kind, and some the kind does not define. */
const probes = (kind: TaskKind) => [...Object.keys(tasks[kind].statuses).map(Number), -2, 5, 99];

test('the SDK\'s generated table is the server\'s, kind by kind and status by status', () => {
  assert.deepEqual(Object.keys(sdk.statuses), kinds);
  for (const kind of kinds) {
    const t = tasks[kind];
    assert.deepEqual(sdk.statuses[kind], {
      noun: t.noun, statusField: t.statusField, names: { ...t.statuses }, active: [...t.active], final: [...t.final], success: t.success,
    }, kind);
    for (const s of probes(kind)) assert.deepEqual(sdk.describeStatus(kind, s), describeStatus(kind, s), `${kind} ${s}`);
    // Every status is either active or final, never both, and success is final.
    for (const s of Object.keys(t.statuses).map(Number)) {
      assert.notEqual(t.active.includes(s as never), t.final.includes(s as never), `${kind} ${s} is active or final`);
    }
    assert.ok(t.final.includes(t.success as never), `${kind}: success is final`);
  }
  assert.deepEqual(sdk.authorizeStatuses, authorizeStatuses);
  for (const name of ['TtsStatus', 'VoiceStatus', 'TrainingStatus', 'SynthesisStatus', 'CallbackStatus', 'AuthorizeStatus'] as const) {
    assert.deepEqual(sdk[name], domainStatus[name], name);
  }
  assert.equal(sdk.statusOf('video', { synthesisStatus: 7, status: 0 }), 7);
  assert.equal(sdk.statusOf('training', { status: 4 }), 4);
});

test('the wire schemas (the OpenAPI document, the SDK\'s type comments) describe each status field by the table', () => {
  const fields: Array<[TaskKind, { properties: Record<string, { description?: string }> }]> = [
    ['tts', schemas.TtsRecord], ['voice', schemas.ClonedVoice], ['voice', schemas.Voice], ['training', schemas.TrainingRecord], ['video', schemas.VideoRecord],
  ];
  for (const [kind, record] of fields) {
    const described = record.properties[tasks[kind].statusField].description;
    const expected = Object.entries(tasks[kind].statuses).sort(([a], [b]) => Number(a) - Number(b)).map(([n, name]) => `${n} ${name}`).join(', ');
    assert.equal(described, expected, kind);
  }
});

test('the CLI waits for the same kinds and names every status as the server does', () => {
  assert.deepEqual(Object.keys(KINDS).sort(), [...kinds].sort());
  for (const kind of kinds) {
    assert.equal(kindOf(kind), kind);
    for (const s of probes(kind)) assert.equal(statusName(kind, s), describeStatus(kind, s).label, `${kind} ${s}`);
  }
  assert.equal(statusName('video', 7), 'Task failed');
  assert.equal(kindOf('avatar'), 'training', '"dhp wait avatar" still works');
  assert.equal(kindOf('movie'), undefined);
  assert.equal(kindOf('toString'), undefined);
});

test('the console builds its status table from the SDK\'s generated one, and picks ready voices and avatars by it', async () => {
  const built = await esbuild.build({
    entryPoints: [path.join(root, 'console/src/main.tsx')], bundle: true, write: false, metafile: true, format: 'esm', platform: 'browser',
    jsx: 'automatic', jsxImportSource: 'preact', tsconfig: path.join(root, 'console/tsconfig.json'), absWorkingDir: root, logLevel: 'silent',
  });
  assert.ok(Object.keys(built.metafile.inputs).includes('src/client/statuses.ts'), Object.keys(built.metafile.inputs).join(', '));
  const voice = (status: number) => ({ speakerId: `v${status}`, status }) as sdk.ClonedVoice;
  const training = (status: number) => ({ id: status, status, sceneId: 100 + status }) as sdk.Training;
  assert.deepEqual(readyVoices(probes('voice').map(voice)).map((v) => v.status), [tasks.voice.success]);
  assert.deepEqual(trainedAvatars(probes('training').map(training)).map((t) => t.status), [tasks.training.success]);
});

test('no status names are written down outside the generated table (the CLI, the console, the SDK\'s code)', () => {
  const labels = new Set(kinds.flatMap((k) => Object.values(tasks[k].statuses)));
  const sources = [
    ...['src/cli', 'console/src'].flatMap((dir) => readdirSync(path.join(root, dir)).filter((f) => /\.tsx?$/.test(f)).map((f) => `${dir}/${f}`)),
    'src/client/index.ts',
  ];
  for (const file of sources) {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const [, literal] of text.matchAll(/['"`]([A-Z][a-z]+(?: [a-z]+)?)['"`]/g)) {
      assert.ok(!labels.has(literal), `${file} names a status itself ("${literal}"): use describeStatus from the SDK`);
    }
  }
});

describe('the server stores and sends only statuses in the table', () => {
  let h: Harness;
  let client: sdk.DhpClient;
  before(async () => {
    h = await startDhp();
    const app = await h.app.services.apps.create({ name: 'statuses' });
    client = new sdk.DhpClient({ baseUrl: h.base, appId: app.appId, secret: app.secret, retryBaseMs: 50 });
  });
  after(async () => {
    await h?.close();
    if (h) removeDir(h.dir);
  });

  test('tasks that succeed, fail, cannot use their input and are canceled end in final statuses of their kind', async () => {
    const unreachable = 'http://127.0.0.1:1/missing.wav';
    const waits: Array<Promise<unknown>> = [];
    const ended: Array<[TaskKind, number, string]> = [];
    const wait = (kind: TaskKind, id: number | string, why: string) => waits.push(
      client.waitFor(kind, id as never, { intervalMs: 100, timeoutMs: 120_000 }).then((r) => { ended.push([kind, sdk.statusOf(kind, r), why]); }),
    );
    wait('tts', (await client.tts.create({ speakerId: 'en-us-female', content: 'Hello.' })).id, 'speaks');
    wait('tts', (await client.tts.create({ speakerId: 'en-us-female', content: '...' })).id, 'nothing to speak');
    wait('video', (await client.videos.create({ sceneId: -101, audioUrl: unreachable })).videoId, 'unreachable audio');
    const canceled = (await client.videos.create({ sceneId: -101, text: 'A video canceled before it is made. '.repeat(10), speakerId: 'en-us-male' })).videoId;
    await client.videos.cancel(canceled);
    wait('video', canceled, 'canceled');
    wait('video', (await client.videos.create({ sceneId: -101, text: 'Hi.', speakerId: 'en-us-male' })).videoId, 'made');
    const sample = 'http://127.0.0.1:1/sample.wav';
    wait('voice', (await client.voices.clone({ name: 'nowhere', audioUrl: sample, authorizeUrl: sample, authorizeText: 'I am Jane Doe. I consent.' })).speakerId, 'unreachable sample');
    wait('training', (await client.trainings.create({ name: 'nowhere', videoUrl: unreachable, authorizeUrl: unreachable, authorizeText: 'I am Jane Doe. I consent.', level: 1 })).trainingId, 'unreachable video');
    await Promise.all(waits);

    for (const [kind, status, why] of ended) {
      assert.ok((tasks[kind].final as readonly number[]).includes(status), `${kind} that ${why} ended in ${status}, not a final status`);
    }
    const statusesOf = (kind: TaskKind) => ended.filter(([k]) => k === kind).map(([, s]) => s).sort((a, b) => a - b);
    assert.deepEqual(statusesOf('tts'), [2, 3]);
    assert.deepEqual(statusesOf('video'), [3, 6, 7]);
    assert.deepEqual(statusesOf('voice'), [3]);
    assert.deepEqual(statusesOf('training'), [3]);

    // What the lists send and what the tables hold: nothing outside the table.
    const sent: Record<TaskKind, number[]> = { tts: [], voice: [], training: [], video: [] };
    for await (const r of client.tts.list()) sent.tts.push(r.status);
    for await (const r of client.voices.listClones()) sent.voice.push(r.status);
    for await (const r of client.trainings.list()) sent.training.push(r.status);
    for await (const r of client.videos.list()) sent.video.push(r.synthesisStatus);
    const db = new SQLite(path.join(h.dir, 'dhp.sqlite'), { readonly: true });
    try {
      for (const kind of kinds) {
        const stored = (db.prepare(`SELECT DISTINCT status FROM ${tasks[kind].table}`).all() as Array<{ status: number }>).map((r) => r.status);
        assert.ok(stored.length > 0, `${tasks[kind].table} holds tasks`);
        for (const s of [...stored, ...sent[kind]]) assert.ok(Object.hasOwn(tasks[kind].statuses, s), `${kind} status ${s} is not in the table`);
      }
    } finally {
      db.close();
    }
  });
});
