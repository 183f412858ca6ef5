import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, download, removeDir, waitFor } from '../support/helpers.js';
import { decodeWav } from '../../src/media/wav.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'dhp-crash-'));
after(() => removeDir(dir));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** `dhp serve` as users run it, in its own process. */
function serve(port: number): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/dhp.js', 'serve'], {
    cwd: root,
    env: { ...process.env, DHP_FROM_SOURCE: '1', DHP_DATA_DIR: dir, DHP_PORT: String(port), DHP_HOST: '127.0.0.1', DHP_ALLOW_PRIVATE_NETWORK: 'true', DHP_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

test('first start prints a working app; a process killed mid-task finishes the task after restart', { timeout: 180_000 }, async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const first = serve(port);
  const printed = await waitFor('the default app to be printed', async () => {
    const m = /appId:\s+(\S+)\s+secret:\s+(\S+)/.exec(first.output());
    return m && first.output().includes('dhp is serving') ? m : null;
  }, 60_000);
  assert.match(first.output(), /curl "http:\/\/127\.0\.0\.1:\d+\/openapi\/oauth\/token\?grant_type=sign/);
  const client = new Client(base, printed[1], printed[2]);
  await client.login();

  const content = 'The platform keeps every accepted task, even when its process is killed in the middle of the work. '.repeat(150).trim();
  const chars = [...content].length;
  const before = (await client.call('GET', '/openapi/user/v2/get')).body.data.account;
  const created = await client.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-male', content });
  assert.equal(created.body.code, '0');
  const id = created.body.data.id;
  await waitFor('the task to be processing', async () => (await client.call('GET', `/openapi/speaker/v2/tts/${id}`)).body.data.status === 1, 30_000);
  first.child.kill('SIGKILL');
  await first.exited;

  const second = serve(port);
  try {
    await waitFor('the restarted server', async () => second.output().includes('dhp is serving'), 60_000);
    assert.doesNotMatch(second.output(), /First start/, 'no second default app');
    const done = await client.waitTts(id, 120_000);
    assert.equal(done.status, 2);
    const wav = decodeWav((await download(done.ttsUrl)).body);
    assert.ok(Math.abs(wav.durationMs - done.duration) <= 1);
    assert.ok(done.duration > 60_000, 'the whole text was spoken');
    const afterAcc = (await client.call('GET', '/openapi/user/v2/get')).body.data.account;
    assert.equal(before.ttsWordsAmount - afterAcc.ttsWordsAmount, chars, 'charged once, exactly');
  } finally {
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, 'a SIGTERM shuts down cleanly');
  }
});
