// The consent service end to end: recordings served over HTTP, downloaded, probed, converted and
// checked by the real recognizer, outcomes stored in SQLite.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { analyzeVoice } from '../../src/engines/voice/analyze.js';
import { toWav16kMono } from '../../src/media/ffmpeg.js';
import { decodeWav } from '../../src/media/wav.js';
import { ffmpeg, serveFolder, Speech } from '../support/fixtures.js';
import { removeDir, startDhp, type Harness } from '../support/helpers.js';
import { locateMediaTools } from '../../src/media/tools.js';

const TEXT = 'I am Alex Morgan. I consent to clone my voice for the synthesis of audio.';
let h: Harness;
let media: string;
let served: Awaited<ReturnType<typeof serveFolder>>;
let appPk: number;
const speech = new Speech();

before(async () => {
  h = await startDhp();
  media = mkdtempSync(path.join(tmpdir(), 'dhp-consent-service-'));
  served = await serveFolder(media);
  const app = await h.app.services.apps.create({ name: 'consent-service' });
  appPk = (await h.app.services.apps.byAppId(app.appId))!.id;
  // en-us: of the US male voices, the one whose correct sentence the recognizer verifies rather than
  // sends to review (close words, bench/RESULTS.md); this test is about the pitch check after it.
  await speech.wav(path.join(media, 'male.wav'), TEXT, 'en-us');
  await speech.wav(path.join(media, 'refusal.wav'), 'I am Alex Morgan. I do not consent to clone my voice for the synthesis of audio.', 'en-us+m3');
  await speech.sample(path.join(media, 'female-sample.wav'), 'en-us+f3', 60);
  await speech.sample(path.join(media, 'male-sample.wav'), 'en-us', 50);
  // 10 hours of silence in a few kilobytes: the recording a hostile tenant sends to tie up the server.
  ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '36000', '-c:a', 'flac', path.join(media, 'ten-hours.flac')]);
});
after(async () => {
  await speech.close();
  await served?.close();
  await h?.close();
  if (h) removeDir(h.dir);
  if (media) removeDir(media);
});

async function check(file: string, subjectId: number, text = TEXT) {
  const { consent } = h.app.services;
  const id = await consent.records.create(h.app.services.db, appPk, 'voice', subjectId, served.url(file), text);
  const outcome = await consent.verify(id);
  return { id, outcome, row: await consent.records.byId(id) };
}

async function pitchOf(file: string): Promise<number> {
  return analyzeVoice(decodeWav(await readFile(path.join(media, file)))).medianPitchHz!;
}

test('a recording that says "I do not consent" is refused, naming the negation', async () => {
  const { outcome } = await check('refusal.wav', 1);
  assert.equal(outcome.state, 'refused', outcome.reason);
  assert.match(outcome.reason, /'((do|does|did|will) )?not'|'don't'|'cannot'/);
});

test('a 10-hour recording is refused from its probed length, without decoding it', async () => {
  const { outcome, row } = await check('ten-hours.flac', 2);
  assert.equal(outcome.state, 'refused');
  assert.match(outcome.reason, /authorizeUrl is 36000 s long; a consent recording must be at most 60 s/);
  assert.equal(row.pitch_hz, null);
});

test('a voice consent in a man\'s voice for a woman\'s sample goes to operator review, saying why', async () => {
  const { consent } = h.app.services;
  const { id, outcome, row } = await check('male.wav', 3);
  assert.equal(outcome.state, 'verified', outcome.reason);
  assert.ok(row.pitch_hz !== null && row.pitch_hz < 160, `consent pitch ${row.pitch_hz}`);
  // The same voice: the consent stands.
  assert.equal((await consent.bindToVoice(id, await pitchOf('male-sample.wav'))).state, 'verified');
  const bound = await consent.bindToVoice(id, await pitchOf('female-sample.wav'));
  assert.equal(bound.state, 'review');
  assert.match(bound.reason, /does not sound like the voice sample/);
  assert.equal((await consent.records.byId(id)).state, 'review');
  // The operator's list shows the reason; the voice is not usable until an operator approves.
  const listed = await consent.records.list({ state: 'review' });
  assert.match(listed.find((c) => c.id === id)!.reason!, /median pitch \d+ Hz/);
});

test('the conversion stops at the length it is given, whatever the file holds', async () => {
  const out = path.join(media, 'capped.wav');
  await toWav16kMono(await locateMediaTools(), path.join(media, 'male.wav'), out, 1);
  const wav = decodeWav(await readFile(out));
  assert.equal(wav.samples.length, 16_000);
});
