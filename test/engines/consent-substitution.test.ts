// Consent check (issue 9): words that sound like the written ones, and names outside the
// dictionary. The recordings are real speech (pocketsphinx-testdata) and espeak voices; most
// substitution cases below (Ashford, hearts, king, and the espeak ones) were verified by the
// recognizer before close words competed with the sentence (bench/RESULTS.md, "Consent check accuracy").
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PocketsphinxRecognizer, type ConsentResult } from '../../src/engines/consent/recognizer.js';
import { englishPronunciations, ipaToArpabet, lookupPronunciations, phoneDistance, similarWords } from '../../src/engines/consent/pronunciation.js';
import { EspeakEngine } from '../../src/engines/tts/espeak.js';
import { SYNTHETIC_CASES, TESTDATA, realCases, synthesize } from '../support/consent-corpus.js';

const MODEL = '/usr/share/pocketsphinx/model/en-us';
const DICT = path.join(MODEL, 'cmudict-en-us.dict');

describe('similar-sounding words (no recognizer needed)', () => {
  test('phone distance: vowel for vowel and voiced for unvoiced cost less than other changes', () => {
    assert.equal(phoneDistance('V OY S'.split(' '), 'V OY S'.split(' ')), 0);
    assert.equal(phoneDistance('V OY S'.split(' '), 'F EY S'.split(' ')), 1); // V→F 0.5, OY→EY 0.5
    assert.equal(phoneDistance('K L OW N'.split(' '), 'K L OW Z'.split(' ')), 1);
    assert.equal(phoneDistance('K L OW N'.split(' '), 'K L OW'.split(' ')), 1);
    assert.equal(phoneDistance('M AO R G AH N'.split(' '), 'M AA R K AH N'.split(' ')), 1); // AO→AA 0.5, G→K 0.5
  });

  test('the words competing with a sentence word: near ones, deterministic, not its homophones nor vowel-only changes', async () => {
    const prons = await lookupPronunciations(DICT, new Set(['clone', 'voice', 'morgan']));
    const targets = ['clone', 'voice', 'morgan'].map((text) => ({ text, prons: prons.get(text)! }));
    const [clone, voice, morgan] = await similarWords(DICT, targets, { maxDistance: 1.5, cap: 60 });
    assert.ok(clone.some((s) => s.word === 'close'), clone.map((s) => s.word).join(' '));
    assert.ok(voice.some((s) => s.word === 'face'), voice.map((s) => s.word).join(' '));
    assert.ok(voice.some((s) => s.word === 'choice'));
    assert.ok(morgan.some((s) => s.word === 'marcon' || s.word === 'morton'));
    // 'clean' and 'clan' differ from 'clone' only in the vowel; vowels vary with accent.
    assert.ok(!clone.some((s) => ['clone', 'clean', 'clan'].includes(s.word)));
    for (const list of [clone, voice, morgan]) {
      assert.ok(list.length <= 60);
      assert.deepEqual(list.map((s) => s.distance), [...list.map((s) => s.distance)].sort((a, b) => a - b));
    }
    const again = await similarWords(DICT, targets, { maxDistance: 1.5, cap: 60 });
    assert.deepEqual(again, [clone, voice, morgan]);
  });

  test('espeak-ng phonemes map to ARPAbet; spellings get several English readings', () => {
    assert.equal(ipaToArpabet(['d', 'ˈæ', 'ʃ', 'w', 'ʊ', 'd']), 'D AE SH W UH D');
    assert.equal(ipaToArpabet(['m', 'ˈɔːɹ', 'ɡ', 'ə', 'n']), 'M AO R G AH N');
    assert.equal(ipaToArpabet(['ʃ', 'ɪ', 'v', 'ˈɔː', 'n']), 'SH IH V AO N');
    assert.equal(ipaToArpabet(['☃']), null);
    const readings = englishPronunciations('dashwood');
    assert.ok(readings.length > 1 && readings.length <= 6, readings.join(' | '));
    assert.equal(readings[0], 'D AE SH W UW D');
    assert.ok(readings.includes('D AE SH W UH D'));
  });
});

describe('consent recognition: substituted words and names (pocketsphinx)', () => {
  let recognizer: PocketsphinxRecognizer;
  let engine: EspeakEngine;
  let dir: string;

  before(async () => {
    const found = await PocketsphinxRecognizer.locate();
    assert.ok(found, 'pocketsphinx is not installed: run `apt-get install pocketsphinx pocketsphinx-en-us pocketsphinx-testdata`');
    recognizer = found;
    engine = new EspeakEngine({ threads: 1 });
    dir = await mkdtemp(path.join(tmpdir(), 'dhp-consent-subst-'));
  });
  after(async () => {
    await engine?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const describeResult = (id: string, r: ConsentResult) => `${id}: ${r.verdict}: ${r.reason}`;

  /** Not verified, and the reason names the written word that was not heard or is uncertain. */
  function assertCaught(id: string, r: ConsentResult, written: string): void {
    assert.notEqual(r.verdict, 'verified', describeResult(id, r));
    assert.ok([...(r.notHeard ?? []), ...(r.uncertain ?? [])].includes(written) || (r.negations ?? []).some((n) => n.gain > 0), describeResult(id, r));
    assert.match(r.reason, new RegExp(`'${written}'|says '`, 'i'), describeResult(id, r));
  }

  test('real speech: a name or content word changed in the transcript to a similar-sounding one is not verified', async () => {
    const cases: Record<string, string> = {
      'librivox-0870-surname': 'ashford', 'librivox-0870-name': 'james', 'cards-001-hearts': 'hearts', 'cards-002-king': 'king', 'cards-003-spades': 'spades',
    };
    const real = realCases().filter((c) => c.id in cases);
    assert.equal(real.length, Object.keys(cases).length);
    for (const c of real) assertCaught(c.id, await recognizer.check(c.file, c.text), cases[c.id]);
  });

  test('real speech against its own transcript is still verified', async () => {
    for (const c of realCases().filter((c) => c.cls === 'correct' && /0870|0920|cards-002|cards-005/.test(c.id))) {
      const r = await recognizer.check(c.file, c.text);
      assert.equal(r.verdict, 'verified', describeResult(c.id, r));
    }
  });

  test('a name outside the dictionary ("Dashwood") is read by espeak-ng and letter-to-sound rules: verified on real speech, another name is not', async () => {
    // A model directory whose dictionary lacks "dashwood".
    const model = path.join(dir, 'model');
    await rm(model, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(model);
    await symlink(path.join(MODEL, 'en-us'), path.join(model, 'en-us'));
    const dict = (await readFile(DICT, 'utf8')).split('\n').filter((l) => !/^dashwood[\s(]/.test(l));
    await writeFile(path.join(model, 'cmudict-en-us.dict'), dict.join('\n'));
    const oov = (await PocketsphinxRecognizer.locate({ modelDir: model }))!;
    const file = path.join(TESTDATA, 'librivox', 'sense_and_sensibility_01_austen_64kb-0870.wav');
    const text = 'and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them';
    const right = await oov.check(file, text);
    assert.equal(right.verdict, 'verified', describeResult('dashwood', right));
    assertCaught('james', await oov.check(file, text.replace('john', 'james')), 'james');
  });

  // Each of these espeak voices verified these four substitutions before close words competed
  // (bench/RESULTS.md). (Their correct sentences are verified or sent to review from one
  // synthesis to the next: consent.test.ts checks that a review names the words.)
  for (const voice of ['en-us', 'en-us+f5', 'en-us+m1', 'en+f3']) {
    test(`espeak ${voice}: "Martin" for "Morgan", "face" for "voice", "video" for "audio", "close" for "clone" are never verified`, async () => {
      const written: Record<string, string> = { 'alex-martin': 'Morgan', face: 'voice', video: 'audio', close: 'clone' };
      const failures: string[] = [];
      for (const c of SYNTHETIC_CASES.filter((c) => c.id in written)) {
        const r = await recognizer.check(await synthesize(engine, dir, c, { voice }), c.text);
        if (r.verdict === 'verified') failures.push(describeResult(c.id, r));
        // Whatever is not verified names a word: not heard, uncertain, or heard in its place.
        if (r.verdict !== 'verified') assert.ok((r.notHeard?.length ?? 0) + (r.uncertain?.length ?? 0) + (r.negations?.length ?? 0) > 0, describeResult(c.id, r));
      }
      assert.deepEqual(failures, []);
    });
  }
});
