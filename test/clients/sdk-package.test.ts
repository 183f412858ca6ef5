import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { removeDir, startDhp, type Harness } from '../support/helpers.js';
import { GENERATED } from '../../scripts/gen-sdk-types.js';

/** The SDK as its own package (sdk/): built alone, installed into a project that has nothing else, used from plain Node. */
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(path.join(tmpdir(), 'dhp-sdk-'));
const installed = path.join(work, 'consumer/node_modules/@dhp/sdk');
let h: Harness;
let app: { appId: string; secret: string };

before(async () => {
  h = await startDhp();
  app = await h.app.services.apps.create({ name: 'sdk-package' });
});
after(async () => {
  await h?.close();
  removeDir(work);
  if (h) removeDir(h.dir);
});

test('the SDK wire types and status table are generated from the server schemas and task descriptions, and up to date', () => {
  assert.deepEqual(Object.keys(GENERATED).sort(), ['src/client/statuses.ts', 'src/client/types.ts']);
  for (const [file, make] of Object.entries(GENERATED)) {
    assert.equal(readFileSync(path.join(root, file), 'utf8'), make(), `${file} is stale: run node --import tsx scripts/gen-sdk-types.ts`);
  }
});

test('sdk/ builds alone into JavaScript and declarations that import nothing outside the package', async () => {
  await run(process.execPath, [tsc, '-p', path.join(root, 'sdk'), '--outDir', path.join(installed, 'dist')]);
  cpSync(path.join(root, 'sdk/package.json'), path.join(installed, 'package.json'));
  const files = readdirSync(path.join(installed, 'dist'));
  for (const f of ['index.js', 'index.d.ts', 'types.d.ts', 'statuses.js', 'statuses.d.ts', 'md5.js']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  for (const f of files) {
    const imports = [...readFileSync(path.join(installed, 'dist', f), 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    for (const spec of imports) assert.match(spec, /^\.\/[\w-]+\.js$/, `${f} imports ${spec}`);
  }
  const pkg = JSON.parse(readFileSync(path.join(root, 'sdk/package.json'), 'utf8'));
  assert.equal(pkg.license, 'MIT');
  assert.equal(pkg.dependencies, undefined, 'no runtime dependencies');
});

test('a TypeScript project with only @dhp/sdk installed type-checks against it', async () => {
  const consumer = path.join(work, 'consumer');
  writeFileSync(path.join(consumer, 'package.json'), '{"type":"module"}');
  writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2023', 'DOM'], strict: true, noEmit: true, types: [] },
    files: ['main.ts'],
  }));
  writeFileSync(path.join(consumer, 'main.ts'), `
import { DhpClient, DhpError, describeStatus, statuses, SynthesisStatus, type Video } from '@dhp/sdk';
const dhp = new DhpClient({ baseUrl: 'http://127.0.0.1:1', appId: 'a', secret: 's' });
const v: Video = await dhp.videos.get(1);
const status: number = v.synthesisStatus;
const label: string = describeStatus('video', status).label;
const ended: boolean = statuses.video.final.includes(status) || status === SynthesisStatus.Canceled;
for await (const voice of dhp.voices.listPublic()) { const id: string = voice.speakerId; void id; }
export { status, label, ended, DhpError };
`);
  await run(process.execPath, [tsc, '-p', consumer]);
  // And a wrong field is a type error: the types are real, not any.
  writeFileSync(path.join(consumer, 'main.ts'), `
import { DhpClient } from '@dhp/sdk';
const dhp = new DhpClient({ baseUrl: 'http://127.0.0.1:1', appId: 'a', secret: 's' });
const v = await dhp.videos.get(1);
export const x: string = v.synthesisStatus;
`);
  await assert.rejects(run(process.execPath, [tsc, '-p', consumer]), (err: { stdout: string }) => /synthesisStatus|not assignable/.test(err.stdout));
});

test('plain Node imports @dhp/sdk by name and talks to a real server', async () => {
  const consumer = path.join(work, 'consumer');
  mkdirSync(consumer, { recursive: true });
  writeFileSync(path.join(consumer, 'use.mjs'), `
import { DhpClient, describeStatus } from '@dhp/sdk';
const dhp = new DhpClient({ baseUrl: process.env.BASE, appId: process.env.APP_ID, secret: process.env.SECRET });
const account = await dhp.account.get();
const voices = [];
for await (const v of dhp.voices.listPublic({ size: 2 })) voices.push(v.speakerId);
console.log(JSON.stringify({ tts: account.account.ttsWordsAmount, voices, video7: describeStatus('video', 7) }));
`);
  const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: consumer, env: { PATH: process.env.PATH, BASE: h.base, APP_ID: app.appId, SECRET: app.secret } });
  const out = JSON.parse(stdout);
  assert.ok(out.tts > 0);
  assert.ok(out.voices.length >= 6, 'iterated across pages of 2');
  assert.ok(out.voices.includes('en-us-female'));
  assert.deepEqual(out.video7, { label: 'Task failed', done: true, ok: false }, 'the status table ships in the package');
});
