import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DhpClient } from '../../src/client/index.js';
import { decodeWav, encodeWavPcm16 } from '../../src/media/wav.js';
import { parseSrt } from '../../src/media/srt.js';
import { removeDir, startDhp, type Harness } from '../support/helpers.js';
import { AVATAR_CONSENT, CONSENT_VOICE, faceVideo, Speech, VOICE_CONSENT } from '../support/fixtures.js';


const require = createRequire(import.meta.url);
const FFPROBE = existsSync('/usr/bin/ffprobe') ? '/usr/bin/ffprobe' : (require('@ffprobe-installer/ffprobe') as { path: string }).path;
const root = path.resolve(import.meta.dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'dhp-cli-client-'));
const config = path.join(work, 'config');
const file = (name: string) => path.join(work, name);

interface Run { code: number | null; out: string; err: string }

/**
 * Runs the real CLI entry as a child process (asynchronously: the server lives in this process).
 * `onStderr` sees stderr as it arrives and may signal the child.
 */
function dhp(args: string[], opts: { env?: Record<string, string>; onStderr?: (soFar: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: config, DHP_FROM_SOURCE: '1', ...opts.env };
  for (const k of ['DHP_BASE_URL', 'DHP_APP_ID', 'DHP_SECRET']) if (!opts.env?.[k]) delete env[k];
  const child = spawn(process.execPath, ['bin/dhp.js', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; opts.onStderr?.(err, (s) => child.kill(s)); });
  // A safety net against a hung command, not a speed target: a training waits for its consent check (six spoken references) and the face analysis, slow on a loaded machine.
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  return new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err }); }));
}

function probe(mp4: string) {
  const p = JSON.parse(execFileSync(FFPROBE, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', mp4], { encoding: 'utf8' }));
  return { video: p.streams.find((s: any) => s.codec_type === 'video'), audio: p.streams.find((s: any) => s.codec_type === 'audio') };
}

describe('dhp client commands against a real server', () => {
  let h: Harness;
  let appId: string;
  let secret: string;
  let sdk: DhpClient;
  let publicAvatar: number;

  before(async () => {
    h = await startDhp();
    ({ appId, secret } = await h.app.services.apps.create({ name: 'cli' }));
    sdk = new DhpClient({ baseUrl: h.base, appId, secret });
    publicAvatar = (await sdk.avatars.listPublic()).records[0].id;
  });
  after(async () => {
    await h?.close();
    if (h) removeDir(h.dir);
    removeDir(work);
  });

  test('client commands do not load the server', async () => {
    const hooks = file('hooks.mjs');
    writeFileSync(hooks, `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith(${JSON.stringify(pathToFileURL(path.join(root, 'src')).href)})) process.stderr.write('LOADED ' + r.url + '\\n'); return r; }`);
    writeFileSync(file('trace.mjs'), `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`);
    const r = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['--import', file('trace.mjs'), 'bin/dhp.js', 'account'], {
        cwd: root, env: { ...process.env, XDG_CONFIG_HOME: config, DHP_FROM_SOURCE: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
      child.on('close', () => resolve(err));
    });
    const loaded = [...r.matchAll(/^LOADED .*\/src\/(.*)$/gm)].map((m) => m[1]);
    assert.ok(loaded.includes('client/index.ts'), r);
    assert.deepEqual(loaded.filter((m) => !m.startsWith('cli/') && !m.startsWith('client/') && m !== 'config/config.ts'), []);
    assert.ok(!loaded.includes('cli/server-commands.ts'));
  });

  test('without credentials a client command says to run dhp login and exits 3', async () => {
    const r = await dhp(['account']);
    assert.equal(r.code, 3);
    assert.match(r.err, /not logged in: run "dhp login"/);
    assert.equal(r.out, '');
  });

  test('login: a wrong secret is refused (exit 3, nothing saved); a missing value is exit 2 off a terminal', async () => {
    const wrong = await dhp(['login', '--base-url', h.base, '--app-id', appId, '--secret', 'not-the-secret']);
    assert.equal(wrong.code, 3);
    assert.match(wrong.err, /login failed: sign does not match/);
    assert.equal(existsSync(path.join(config, 'dhp', 'config.json')), false);
    const missing = await dhp(['login', '--base-url', h.base, '--app-id', appId]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /login needs --secret/);
  });

  test('login saves the credentials privately (dir 0700, file 0600)', async () => {
    const r = await dhp(['login', '--base-url', h.base, '--app-id', appId, '--secret', secret]);
    assert.equal(r.code, 0, r.err);
    const saved = path.join(config, 'dhp', 'config.json');
    assert.match(r.out, new RegExp(`saved to ${saved}`));
    assert.equal(statSync(path.dirname(saved)).mode & 0o777, 0o700);
    assert.equal(statSync(saved).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(saved, 'utf8')), { baseUrl: h.base, appId, secret });
  });

  test('account --json prints exactly the account; the table is readable', async () => {
    const json = await dhp(['account', '--json']);
    assert.equal(json.code, 0, json.err);
    assert.deepEqual(JSON.parse(json.out), await sdk.account.get());
    const text = await dhp(['account']);
    assert.match(text.out, /TTS characters\s+100,000\s+100,000/);
    assert.match(text.out, /video duration\s+1h 00m 00s/);
  });

  test('DHP_BASE_URL, DHP_APP_ID and DHP_SECRET override the saved file; refused credentials exit 3', async () => {
    const other = await h.app.services.apps.create({ name: 'ci' });
    const env = { XDG_CONFIG_HOME: file('empty-config'), DHP_BASE_URL: h.base, DHP_APP_ID: other.appId, DHP_SECRET: other.secret };
    const ok = await dhp(['account', '--json'], { env });
    assert.equal(ok.code, 0, ok.err);
    assert.equal(JSON.parse(ok.out).user.id, other.userId);
    const refused = await dhp(['account'], { env: { DHP_SECRET: 'wrong' } });
    assert.equal(refused.code, 3);
    assert.match(refused.err, /refuses the credentials: sign does not match.*\n.*dhp login/);
  });

  test('voices and avatars: tables, --json and --mine', async () => {
    const voices = await dhp(['voices']);
    assert.equal(voices.code, 0, voices.err);
    assert.match(voices.out, /^VOICE\s+NAME\s+SEX\s+LANGUAGES\s+FEATURES\n/);
    assert.match(voices.out, /^en-us-female\s+.*female\s+en\s/m);
    const voicesJson = JSON.parse((await dhp(['voices', '--json'])).out);
    assert.ok(voicesJson.some((v: any) => v.speakerId === 'en-us-male'));
    const avatars = await dhp(['avatars']);
    assert.match(avatars.out, new RegExp(`^${publicAvatar}\\s+\\S.*720x1280$`, 'm'));
    assert.deepEqual(JSON.parse((await dhp(['avatars', '--json'])).out).map((a: any) => a.id), (await sdk.avatars.listPublic()).records.map((a) => a.id));
    assert.deepEqual(JSON.parse((await dhp(['voices', '--mine', '--json'])).out), []);
    assert.match((await dhp(['avatars', '--mine'])).out, /No avatar trainings yet/);
  });

  test('bad usage exits 2 and names the flag', async () => {
    const bogus = await dhp(['tts', 'Hello.', '--voice', 'en-us-female', '--bogus']);
    assert.equal(bogus.code, 2);
    assert.match(bogus.err, /unknown option --bogus/);
    const noVoice = await dhp(['tts', 'Hello.']);
    assert.equal(noVoice.code, 2);
    assert.match(noVoice.err, /--voice/);
    const both = await dhp(['video', 'create', '--avatar', String(publicAvatar), '--text', 'Hi.', '--audio', 'x.wav']);
    assert.equal(both.code, 2);
    assert.match(both.err, /either --text .* or --audio/);
  });

  test('a missing local file exits 2 naming it, before anything is created', async () => {
    const missing = file('no-such-speech.wav');
    const r = await dhp(['video', 'create', '--avatar', String(publicAvatar), '--audio', missing]);
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`--audio: no such file: ${missing}`));
    assert.equal((await sdk.videos.list()).totalRecord, 0);
  });

  test('tts waits, showing status lines on stderr, and downloads the WAV and the SRT', async () => {
    const r = await dhp(['tts', 'Hello from the command line.', '--voice', 'en-us-female', '-o', file('hello.wav'), '--srt', file('hello.srt')]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^TTS \d+ created$/m);
    assert.match(r.err, /^tts \d+: Succeeded \(\d+s\)$/m, 'a plain line per status change when stderr is not a terminal');
    assert.doesNotMatch(r.err, /\r/);
    assert.match(r.out, new RegExp(`wrote ${file('hello.wav')}\nwrote ${file('hello.srt')}`));
    const wav = decodeWav(readFileSync(file('hello.wav')));
    assert.ok(wav.sampleRate >= 8000, `sample rate ${wav.sampleRate}`);
    assert.ok(wav.durationMs > 500, `duration ${wav.durationMs} ms`);
    const cues = parseSrt(readFileSync(file('hello.srt'), 'utf8'));
    assert.ok(cues.length >= 1);
    assert.match(cues.map((c) => c.text).join(' '), /command line/);
    assert.ok(Math.abs(cues.at(-1)!.endMs - wav.durationMs) < 500);
  });

  test('video create --audio FILE --json uploads the file, waits and writes an h264/aac MP4 as long as the audio', async () => {
    const audioMs = decodeWav(readFileSync(file('hello.wav'))).durationMs;
    const r = await dhp(['video', 'create', '--avatar', String(publicAvatar), '--audio', file('hello.wav'), '--name', 'from the cli', '--json', '-o', file('hello.mp4')]);
    assert.equal(r.code, 0, r.err);
    const v = JSON.parse(r.out);
    assert.equal(v.synthesisStatus, 3);
    assert.equal(v.videoName, 'from the cli');
    assert.deepEqual(v.files, { output: file('hello.mp4') });
    assert.match(r.err, /^uploading /m);
    const p = probe(file('hello.mp4'));
    assert.equal(p.video.codec_name, 'h264');
    assert.equal(p.audio.codec_name, 'aac');
    assert.ok(Math.abs(Number(p.audio.duration) * 1000 - audioMs) < 100, `audio ${p.audio.duration} s vs ${audioMs} ms`);
    assert.ok(Math.abs(Number(p.video.duration) * 1000 - audioMs) < 100, `video ${p.video.duration} s vs ${audioMs} ms`);
  });

  test('on a terminal the wait is one line redrawn in place, with a progress bar for a video', async () => {
    // `script` (util-linux) runs the CLI on a pseudo-terminal and copies what it shows.
    const text = 'A progress bar fills while the frames are drawn. '.repeat(5);
    const cmd = [process.execPath, 'bin/dhp.js', 'video', 'create', '--avatar', String(publicAvatar), '--text', text, '--voice', 'en-us-male']
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const shown = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: root, env: { ...process.env, XDG_CONFIG_HOME: config, DHP_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(shown.code, 0, shown.out);
    assert.match(shown.out, /\r\x1b\[2Kvideo \d+: \[#*\.*\] +\d+% Processing/, JSON.stringify(shown.out.slice(0, 400)));
    assert.match(shown.out, /\[#{20}\] 100% Succeeded/);
  });

  test('Ctrl-C stops waiting with exit 130 and says how to resume; dhp wait then completes it', async () => {
    const text = 'This video is long enough to be interrupted. The task keeps running on the server while the command line stops waiting.';
    let sent = false;
    const r = await dhp(['video', 'create', '--avatar', String(publicAvatar), '--text', text, '--voice', 'en-us-male', '-o', file('later.mp4')], {
      onStderr: (err, kill) => { if (!sent && /^video \d+ created$/m.test(err)) { sent = true; kill('SIGINT'); } },
    });
    assert.equal(r.code, 130, r.err);
    const resume = /Resume with: (dhp wait video (\d+) -o (\S+))$/m.exec(r.err);
    assert.ok(resume, r.err);
    assert.equal(resume[3], file('later.mp4'));
    assert.equal(existsSync(file('later.mp4')), false);
    const waited = await dhp(['wait', 'video', resume[2], '-o', file('later.mp4'), '--json']);
    assert.equal(waited.code, 0, waited.err);
    const v = JSON.parse(waited.out);
    assert.equal(v.id, Number(resume[2]));
    assert.equal(v.synthesisStatus, 3);
    assert.equal(probe(file('later.mp4')).video.codec_name, 'h264');
  });

  test('Ctrl-C during the upload lets the create finish, names the task and says how to resume', async () => {
    const rate = 44100;
    const samples = new Int16Array(rate * 40);
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * 220 * i) / rate) * 8000);
    writeFileSync(file('long.wav'), encodeWavPcm16(samples, rate));
    let sent = false;
    const r = await dhp(['video', 'create', '--avatar', String(publicAvatar), '--audio', file('long.wav')], {
      onStderr: (err, kill) => { if (!sent && /^uploading /m.test(err)) { sent = true; kill('SIGINT'); } },
    });
    assert.equal(r.code, 130, r.err);
    assert.match(r.err, /Interrupted: letting the request in flight finish/);
    const m = /^video (\d+) created$/m.exec(r.err);
    assert.ok(m, r.err);
    assert.match(r.err, new RegExp(`Resume with: dhp wait video ${m[1]}$`, 'm'));
    const cancel = await dhp(['video', 'cancel', m[1], '--json']);
    assert.equal(cancel.code, 0, cancel.err);
  });

  test('login takes the secret from DHP_SECRET, keeping it off the command line', async () => {
    const r = await dhp(['login', '--base-url', h.base, '--app-id', appId], { env: { DHP_SECRET: secret } });
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(readFileSync(path.join(config, 'dhp', 'config.json'), 'utf8')).secret, secret);
  });

  test('--no-wait prints the new task; dhp wait for an unknown kind or id is bad usage', async () => {
    const r = await dhp(['tts', 'Later.', '--voice', 'en-us-male', '--no-wait', '--json']);
    assert.equal(r.code, 0, r.err);
    const created = JSON.parse(r.out);
    assert.equal(typeof created.id, 'number');
    const done = JSON.parse((await dhp(['wait', 'tts', String(created.id), '--json'])).out);
    assert.equal(done.status, 2);
    assert.equal((await dhp(['wait', 'movie', '1'])).code, 2);
    assert.equal((await dhp(['wait', 'video', 'abc'])).code, 2);
    const notThere = await dhp(['wait', 'tts', String(created.id), '-o', file('nowhere/x.wav')]);
    assert.equal(notThere.code, 2);
    assert.match(notThere.err, /folder .*nowhere does not exist/);
  });

  test('voice clone and avatar train upload local sample, video and consent files, wait, and the results are listed as --mine', async () => {
    const speech = new Speech();
    try {
      await speech.sample(file('me.wav'), 'en-us+f3', 70, 12);
      await speech.consent(file('voice-consent.wav'), VOICE_CONSENT, CONSENT_VOICE);
      await speech.consent(file('avatar-consent.wav'), AVATAR_CONSENT, CONSENT_VOICE, file('avatar-consent.mp4'));
    } finally { await speech.close(); }
    faceVideo(file('me.mp4'), 6);

    const voice = await dhp(['voice', 'clone', '--audio', file('me.wav'), '--consent', file('voice-consent.wav'), '--consent-text', VOICE_CONSENT, '--name', 'jane', '--json']);
    assert.equal(voice.code, 0, voice.err);
    const cloned = JSON.parse(voice.out);
    assert.equal(cloned.status, 2, voice.out);
    assert.match(voice.err, /uploading \S*me\.wav/);
    const mine = JSON.parse((await dhp(['voices', '--mine', '--json'])).out);
    assert.ok(mine.some((v: any) => v.speakerId === cloned.speakerId), JSON.stringify(mine));

    const avatar = await dhp(['avatar', 'train', '--video', file('me.mp4'), '--consent', file('avatar-consent.mp4'), '--consent-text', AVATAR_CONSENT, '--name', 'jane', '--json']);
    assert.equal(avatar.code, 0, avatar.err);
    const trained = JSON.parse(avatar.out);
    assert.equal(trained.status, 2, avatar.out);
    assert.ok(Number.isInteger(trained.sceneId), avatar.out);
    const scenes = JSON.parse((await dhp(['avatars', '--mine', '--json'])).out);
    assert.ok(scenes.some((t: any) => t.sceneId === trained.sceneId), JSON.stringify(scenes));
    // A training is waited for as "training", the SDK's and the API's word; "avatar" still works.
    for (const word of ['training', 'avatar']) {
      const waited = await dhp(['wait', word, String(trained.id), '--json']);
      assert.equal(waited.code, 0, waited.err);
      assert.equal(JSON.parse(waited.out).status, 2, waited.out);
    }

    // The clone speaks a video of the trained avatar.
    const video = await dhp(['video', 'create', '--avatar', String(trained.sceneId), '--text', 'My own face and my own voice.', '--voice', cloned.speakerId, '-o', file('mine.mp4'), '--json']);
    assert.equal(video.code, 0, video.err);
    assert.equal(JSON.parse(video.out).synthesisStatus, 3, video.out);
    assert.equal(probe(file('mine.mp4')).video.codec_name, 'h264');
  });

  test('logout removes the saved credentials', async () => {
    const r = await dhp(['logout']);
    assert.equal(r.code, 0, r.err);
    assert.equal(existsSync(path.join(config, 'dhp', 'config.json')), false);
    assert.equal((await dhp(['account'])).code, 3);
  });
});
