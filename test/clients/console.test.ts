import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DhpClient } from '../../src/client/index.js';
import { removeDir, startDhp, type Harness } from '../support/helpers.js';

const root = path.resolve(import.meta.dirname, '../..');
const shots = path.join(root, 'test-artifacts', 'console');
const count = (n: number) => n.toLocaleString('en-US');

describe('web console in Chromium against a real dhp server', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let sdk: DhpClient;
  let appId: string;
  let secret: string;
  /** Uncaught errors and console errors (CSP violations, failed loads) seen by the page. */
  const problems: string[] = [];
  /** Responses with an error status: only the ones the tests provoke are expected. */
  const refused: string[] = [];

  before(async () => {
    assert.ok(existsSync('/usr/bin/chromium'), 'Chromium is not installed: run `apt-get install chromium` (CI installs it; these tests must not be skipped)');
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build-console.mjs')], { stdio: 'pipe' });
    mkdirSync(shots, { recursive: true });
    h = await startDhp();
    ({ appId, secret } = await h.app.services.apps.create({ name: 'console' }));
    sdk = new DhpClient({ baseUrl: h.base, appId, secret });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
    });
    page = await browser.newPage({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
    page.on('response', (r) => { if (r.status() >= 400) refused.push(`${r.status()} ${new URL(r.url()).pathname}`); });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
    if (h) removeDir(h.dir);
  });

  const region = (name: string) => page.getByRole('region', { name, exact: true });

  it('serves only its built files, with a strict Content-Security-Policy, outside the OpenAPI document; 503 when not built', async () => {
    const bare = await fetch(`${h.base}/console`, { redirect: 'manual' });
    assert.equal(bare.status, 302);
    assert.equal(new URL(bare.headers.get('location')!, `${h.base}/console`).pathname, '/console/');

    const index = await fetch(`${h.base}/console/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = index.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, new RegExp(`connect-src 'self' ${h.base}(;|$)`));

    const js = await fetch(`${h.base}/console/app.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const etag = js.headers.get('etag')!;
    assert.equal((await fetch(`${h.base}/console/app.js`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(`${h.base}/console/app.css`)).headers.get('content-type'), 'text/css; charset=utf-8');
    for (const p of ['/console/index.html', '/console/..%2Fpackage.json', '/console/app.js.map']) {
      assert.equal((await fetch(h.base + p)).status, 404, p);
    }
    const doc = await (await fetch(`${h.base}/openapi.json`)).json() as { paths: Record<string, unknown> };
    assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith('/console')), []);

    const built = path.join(root, 'dist', 'console', 'index.html');
    renameSync(built, `${built}.away`);
    try {
      const missing = await fetch(`${h.base}/console/`);
      assert.equal(missing.status, 503);
      assert.match(await missing.text(), /The console is not built: run <code>npm run build<\/code>/);
    } finally {
      renameSync(`${built}.away`, built);
    }
  });

  it('shows the API\'s message when the secret is wrong', async () => {
    await page.goto(`${h.base}/console`);
    assert.equal(await page.getByLabel('API base URL').inputValue(), h.base);
    await page.getByLabel('App ID').fill(appId);
    await page.getByLabel('Secret').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent())!, /^Sign-in failed: sign does not match/);
  });

  it('signs in from the keyboard and shows the quotas the API reports', async () => {
    await page.getByLabel('Secret').fill('');
    await page.getByLabel('App ID').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.type(secret);
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: `Signed in as ${appId}.` }).waitFor();

    const { account } = await sdk.account.get();
    const quotas = region('Quotas');
    await quotas.getByRole('definition').first().waitFor();
    const shown = await quotas.getByRole('definition').allTextContents();
    assert.equal(shown.length, 4);
    assert.equal(shown[0], `${count(account.ttsWordsAmount)} left of ${count(account.totalTtsWordsAmount)}`);
    assert.match(shown[1], /^\d+ (h|min|s)/);
    assert.equal(shown[2], `${count(account.fastTrainingAmount)} left of ${count(account.totalFastTrainingAmount)}`);
    assert.equal(shown[3], `${count(account.voiceCloneAmount)} left of ${count(account.totalVoiceCloneAmount)}`);

    // Every control is labelled and every button says what it does.
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll<HTMLInputElement>('input, select, textarea')]
      .filter((el) => !el.labels?.length).map((el) => el.outerHTML));
    assert.deepEqual(unlabelled, []);
    const blank = await page.evaluate(() => [...document.querySelectorAll('button')].filter((b) => !b.textContent?.trim()).map((b) => b.outerHTML));
    assert.deepEqual(blank, []);

    await page.reload();
    await region('Quotas').getByRole('definition').first().waitFor();
  });

  it('names the field when the speech text is empty', async () => {
    const form = region('Speech');
    await form.getByRole('button', { name: 'Synthesize speech' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent())!, /^content must contain text to speak/);
    const text = form.getByLabel('Text');
    assert.equal(await text.getAttribute('aria-invalid'), 'true');
    assert.ok(await text.evaluate((el) => el === document.activeElement));

    const clone = region('Voice clone');
    await clone.getByRole('button', { name: 'Clone voice' }).click();
    await clone.getByRole('alert').waitFor();
    assert.match((await clone.getByRole('alert').textContent())!, /^name must not be empty \(field\)/);
    assert.equal(await clone.getByLabel('Name').getAttribute('aria-invalid'), 'true');
  });

  it('creates speech, watches it finish in the task list, and plays it', async () => {
    const form = region('Speech');
    await form.getByLabel('Voice').selectOption('en-us-male');
    await form.getByLabel('Text').fill('Hello from the dhp console test.');
    await form.getByRole('button', { name: 'Synthesize speech' }).click();
    const note = form.getByText(/^Speech #\d+ submitted\.$/);
    await note.waitFor();
    const id = Number(/#(\d+)/.exec((await note.textContent())!)![1]);

    const task = region('Tasks').getByRole('listitem').filter({ hasText: new RegExp(`Speech #${id}\\b`) });
    await task.getByText('Succeeded', { exact: true }).waitFor({ timeout: 30_000 });
    await page.getByRole('status').filter({ hasText: `Speech #${id}: Succeeded.` }).waitFor();

    const record = await sdk.tts.get(id);
    assert.equal(record.speakerId, 'en-us-male');
    assert.equal(await task.getByRole('link', { name: 'Download WAV' }).getAttribute('href'), record.ttsUrl);
    assert.equal(await task.getByRole('link', { name: 'Download SRT' }).getAttribute('href'), record.srtUrl);
    assert.match(await (await fetch(record.srtUrl!)).text(), /-->/);

    const played = await task.locator('audio').evaluate(async (audio: HTMLAudioElement) => {
      if (audio.readyState < 1) await new Promise((resolve) => audio.addEventListener('loadedmetadata', resolve, { once: true }));
      await audio.play();
      await new Promise((resolve) => audio.addEventListener('timeupdate', resolve, { once: true }));
      const state = { duration: audio.duration, readyState: audio.readyState, error: audio.error?.message ?? null, playing: !audio.paused };
      audio.pause();
      return state;
    });
    assert.ok(played.duration > 0, `duration ${played.duration}`);
    assert.ok(played.readyState >= 2, `readyState ${played.readyState}`);
    assert.equal(played.error, null);
    assert.ok(played.playing);

    // The words spent show up in the quotas.
    const { account } = await sdk.account.get();
    await region('Quotas').getByText(`${count(account.ttsWordsAmount)} left of ${count(account.totalTtsWordsAmount)}`).waitFor();
  });

  it('makes a video from an uploaded recording, watches it finish, and plays it', async () => {
    const speech = (await sdk.tts.list()).records[0];
    const wav = Buffer.from(await (await fetch(speech.ttsUrl!)).arrayBuffer());
    const avatar = (await sdk.avatars.listPublic()).records[1];
    const form = region('Video');
    await form.getByLabel('Avatar').selectOption({ label: avatar.sceneName });
    await form.getByLabel('Name (optional)').fill('Console test');
    assert.ok(await form.getByLabel('File').isHidden());
    await form.getByLabel('Recorded audio').check();
    assert.ok(await form.getByLabel('Text', { exact: true }).isHidden());
    await form.getByLabel('File').setInputFiles({ name: 'speech.wav', mimeType: 'audio/wav', buffer: wav });
    await form.getByRole('button', { name: 'Create video' }).click();
    const note = form.getByText(/^Video #\d+ submitted\.$/);
    await note.waitFor({ timeout: 15_000 });
    const id = Number(/#(\d+)/.exec((await note.textContent())!)![1]);

    const task = region('Tasks').getByRole('listitem').filter({ hasText: new RegExp(`Video #${id}\\b`) });
    await task.getByText('Succeeded', { exact: true }).waitFor({ timeout: 60_000 });
    const record = await sdk.videos.get(id);
    assert.equal(record.videoName, 'Console test');
    assert.ok(Math.abs(Number(record.durationMs) - speech.duration!) < 300, `${record.durationMs} ms of video for ${speech.duration} ms of speech`);
    assert.equal(await task.getByRole('link', { name: 'Download MP4' }).getAttribute('href'), record.videoUrl);
    assert.equal(await task.getByRole('link', { name: 'Download cover' }).getAttribute('href'), record.coverUrl);
    assert.equal(record.srtUrl, null, 'no subtitles without a text');
    assert.equal(await task.getByRole('link', { name: 'Download SRT' }).count(), 0);

    const played = await task.locator('video').evaluate(async (video: HTMLVideoElement) => {
      if (video.readyState < 1) await new Promise((resolve) => video.addEventListener('loadedmetadata', resolve, { once: true }));
      await video.play();
      await new Promise((resolve) => video.addEventListener('timeupdate', resolve, { once: true }));
      const state = { duration: video.duration, width: video.videoWidth, readyState: video.readyState, error: video.error?.message ?? null };
      video.pause();
      return state;
    });
    assert.ok(played.duration > 0 && played.width > 0, JSON.stringify(played));
    assert.ok(played.readyState >= 2, `readyState ${played.readyState}`);
    assert.equal(played.error, null);
  });

  it('shows the public avatars with covers that load, and plays voice samples', async () => {
    const avatars = await sdk.avatars.listPublic({ size: 100 });
    const covers = region('Avatars').getByRole('list').first().locator('img');
    assert.equal(await covers.count(), avatars.records.length);
    for (const img of await covers.all()) {
      await img.scrollIntoViewIfNeeded();
      await img.evaluate((el: HTMLImageElement) => el.decode());
      assert.ok(await img.evaluate((el: HTMLImageElement) => el.naturalWidth > 0));
    }
    for (const a of avatars.records) await region('Avatars').getByText(a.sceneName, { exact: true }).waitFor();

    const voice = (await sdk.voices.listPublic()).records[0];
    const voices = region('Voices');
    await voices.getByRole('button', { name: `Play ${voice.ttsName} sample` }).click();
    await voices.getByRole('button', { name: `Stop ${voice.ttsName} sample` }).waitFor();
    await voices.getByRole('button', { name: `Stop ${voice.ttsName} sample` }).click();
    await voices.getByRole('button', { name: `Play ${voice.ttsName} sample` }).waitFor();

    await page.screenshot({ path: path.join(shots, 'desktop.png'), fullPage: true });
  });

  it('fits a 375 px phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `scrollWidth ${width}`);
    await page.screenshot({ path: path.join(shots, 'phone.png'), fullPage: true });
  });

  it('signs out, forgetting the credentials', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.deepEqual(problems, []);
    assert.deepEqual(refused, ['401 /openapi/oauth/token', '400 /openapi/speaker/v3/fastTts', '400 /openapi/speaker/v3/clone']);
  });
});
