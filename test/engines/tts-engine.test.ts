import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { TtsInputError, type SynthesisResult } from '../../src/engines/tts/engine.js';
import { EspeakEngine, buildTimings } from '../../src/engines/tts/espeak.js';
import type { RawEvent } from '../../src/engines/tts/espeak-worker.js';
import { buildCues, formatSrt, parseSrt, type WordTiming } from '../../src/media/srt.js';
import { decodeWav, encodeWavPcm16 } from '../../src/media/wav.js';

// ---------------------------------------------------------------------------------------------
// helpers

function rms(samples: Int16Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / Math.max(1, to - from));
}

/**
 * Median fundamental frequency over voiced frames, by normalized autocorrelation. Crude, but
 * plenty to tell a female from a male voice.
 */
function medianPitchHz(samples: Int16Array, sampleRate: number): number {
  const frame = Math.round(sampleRate * 0.04);
  const hop = Math.round(sampleRate * 0.02);
  const minLag = Math.floor(sampleRate / 500);
  const maxLag = Math.ceil(sampleRate / 60);
  const loudest = rms(samples) * 3;
  const estimates: number[] = [];
  for (let start = 0; start + frame + maxLag < samples.length; start += hop) {
    if (rms(samples, start, start + frame) < loudest * 0.3) continue;
    let best = 0;
    let bestLag = 0;
    for (let lag = minLag; lag <= maxLag; lag++) {
      let xy = 0;
      let xx = 0;
      let yy = 0;
      for (let i = start; i < start + frame; i++) {
        xy += samples[i] * samples[i + lag];
        xx += samples[i] * samples[i];
        yy += samples[i + lag] * samples[i + lag];
      }
      const r = xy / Math.sqrt(xx * yy || 1);
      if (r > best) {
        best = r;
        bestLag = lag;
      }
    }
    if (best > 0.6) estimates.push(sampleRate / bestLag);
  }
  assert.ok(estimates.length > 10, `too few voiced frames (${estimates.length})`);
  estimates.sort((a, b) => a - b);
  return estimates[Math.floor(estimates.length / 2)];
}

function assertWellFormed(text: string, result: SynthesisResult): Int16Array {
  const wav = decodeWav(result.wav);
  assert.equal(wav.sampleRate, 22050);
  assert.equal(result.sampleRate, 22050);
  assert.equal(wav.channels, 1);
  assert.equal(wav.bitsPerSample, 16);
  assert.equal(result.durationMs, (wav.samples.length * 1000) / 22050);
  assert.equal(wav.durationMs, result.durationMs);
  assert.ok(rms(wav.samples) > 500, `audio is too quiet: RMS ${rms(wav.samples)}`);

  assert.ok(result.words.length > 0);
  let prev: WordTiming | undefined;
  for (const w of result.words) {
    assert.equal(w.text, text.slice(w.charStart, w.charEnd));
    assert.ok(w.text.trim() === w.text && w.text.length > 0, `bad word text ${JSON.stringify(w.text)}`);
    assert.ok(w.endMs > w.startMs, `word ${w.text} has no duration`);
    assert.ok(w.endMs <= result.durationMs);
    if (prev) {
      assert.ok(w.startMs >= prev.endMs, `word ${w.text} overlaps ${prev.text}`);
      assert.ok(w.charStart >= prev.charEnd, `word ${w.text} text overlaps ${prev.text}`);
    }
    prev = w;
  }
  let prevPhonemeEnd = 0;
  for (const p of result.phonemes) {
    assert.ok(p.phoneme.length > 0 && p.endMs > p.startMs && p.startMs >= prevPhonemeEnd && p.endMs <= result.durationMs);
    prevPhonemeEnd = p.endMs;
  }
  return wav.samples;
}

function assertCuesCover(text: string, result: SynthesisResult): void {
  const cues = buildCues(text, result.words, { durationMs: result.durationMs });
  assert.ok(cues.length > 0);
  const parsed = parseSrt(formatSrt(cues));
  assert.equal(parsed.length, cues.length);
  let prevEnd = 0;
  for (const [i, cue] of parsed.entries()) {
    assert.equal(cue.index, i + 1);
    assert.equal(cue.text, cues[i].text);
    assert.ok(Math.abs(cue.startMs - cues[i].startMs) <= 1 && Math.abs(cue.endMs - cues[i].endMs) <= 1);
    assert.ok(cue.startMs >= prevEnd && cue.endMs > cue.startMs);
    prevEnd = cue.endMs;
  }
  assert.ok(Math.abs(parsed[parsed.length - 1].endMs - result.durationMs) <= 500);
  // Nothing spoken is lost: the cues, concatenated, contain every word in order.
  const joined = cues.map((c) => c.text).join(' ');
  let from = 0;
  for (const w of result.words) {
    const at = joined.indexOf(w.text, from);
    assert.ok(at >= 0, `word ${w.text} missing from cues`);
    from = at + w.text.length;
  }
}

// ---------------------------------------------------------------------------------------------
// wav

describe('wav', () => {
  test('encode/decode roundtrip, mono and stereo', () => {
    const mono = Int16Array.from({ length: 2205 }, (_, i) => Math.round(Math.sin(i / 10) * 20000));
    const buf = encodeWavPcm16(mono, 22050);
    assert.equal(buf.length, 44 + mono.length * 2);
    const d = decodeWav(buf);
    assert.deepEqual(
      { sampleRate: d.sampleRate, channels: d.channels, bitsPerSample: d.bitsPerSample, durationMs: d.durationMs },
      { sampleRate: 22050, channels: 1, bitsPerSample: 16, durationMs: 100 },
    );
    assert.deepEqual(d.samples, mono);

    const stereo = Int16Array.from([1, -1, 32767, -32768, 5, 6]);
    const s = decodeWav(encodeWavPcm16(stereo, 8000, 2));
    assert.equal(s.channels, 2);
    assert.deepEqual(s.samples, stereo);
    assert.equal(s.durationMs, (3 * 1000) / 8000);
  });

  test('skips unknown chunks (odd-sized LIST with pad byte) before the data', () => {
    const samples = Int16Array.from([100, -200, 300, -400]);
    const plain = encodeWavPcm16(samples, 16000);
    const listBody = Buffer.from('INFOISFT\x05\x00\x00\x00dhp!\x00', 'latin1'); // 17 bytes: odd
    const list = Buffer.alloc(8 + listBody.length + 1);
    list.write('LIST', 0, 'ascii');
    list.writeUInt32LE(listBody.length, 4);
    listBody.copy(list, 8);
    const fmt = plain.subarray(12, 36);
    const data = plain.subarray(36);
    const riffBody = Buffer.concat([Buffer.from('WAVE'), fmt, list, data]);
    const header = Buffer.alloc(8);
    header.write('RIFF', 0, 'ascii');
    header.writeUInt32LE(riffBody.length, 4);
    // Prepend a byte so the data sits at an odd offset in memory, as it can inside a pooled Buffer.
    const file = Buffer.concat([Buffer.from([0]), header, riffBody]).subarray(1);
    const d = decodeWav(file);
    assert.equal(d.sampleRate, 16000);
    assert.deepEqual(d.samples, samples);
  });

  test('rejects non-WAV and non-PCM16 input with a clear error; tolerates streamed sizes', () => {
    assert.throws(() => decodeWav(Buffer.from('ID3\x04 this is an mp3')), /not a WAV file/);
    assert.throws(() => decodeWav(Buffer.alloc(0)), /not a WAV file/);
    const eightBit = encodeWavPcm16(new Int16Array(4), 8000);
    eightBit.writeUInt16LE(8, 34);
    assert.throws(() => decodeWav(eightBit), /8 bits; only 16-bit PCM/);
    const float = encodeWavPcm16(new Int16Array(4), 8000);
    float.writeUInt16LE(3, 20);
    assert.throws(() => decodeWav(float), /format tag 3/);
    const streamed = encodeWavPcm16(Int16Array.from([7, 8, 9]), 8000);
    streamed.writeUInt32LE(0xffffffff, 4);
    streamed.writeUInt32LE(0xffffffff, 40);
    assert.deepEqual(decodeWav(streamed).samples, Int16Array.from([7, 8, 9]));
    const noData = encodeWavPcm16(new Int16Array(4), 8000).subarray(0, 36);
    assert.throws(() => decodeWav(noData), /no "data" chunk/);
  });
});

// ---------------------------------------------------------------------------------------------
// srt

/** Timings for every whitespace-separated word (or each CJK character), `stepMs` apart. */
function craftWords(text: string, stepMs: number, pattern = /[\p{L}\p{N}'’-]+/gu): WordTiming[] {
  return [...text.matchAll(pattern)].map((m, i) => ({
    text: m[0],
    charStart: m.index!,
    charEnd: m.index! + m[0].length,
    startMs: i * stepMs,
    endMs: i * stepMs + stepMs - 20,
  }));
}

describe('srt', () => {
  test('splits at sentence ends, long clauses and maxChars; keeps punctuation and quotes', () => {
    const text =
      'Hello world. "Short one!" Then comes a rather long clause, which goes on; and on until it must be split somewhere sensible. Ok?';
    const words = craftWords(text, 300);
    const cues = buildCues(text, words, { durationMs: words[words.length - 1].endMs + 300 });
    assert.deepEqual(
      cues.map((c) => c.text),
      [
        'Hello world.',
        '"Short one!"',
        'Then comes a rather long clause,',
        // Overflowing goes back to the last clause mark rather than cutting mid-phrase.
        'which goes on;',
        'and on until it must be split somewhere',
        'sensible.',
        'Ok?',
      ],
    );
    for (const c of cues) assert.ok(c.text.length <= 42);
    assert.equal(cues[0].startMs, 0);
    assert.equal(cues[0].endMs, 580);
    assert.equal(cues[cues.length - 1].endMs, words[words.length - 1].endMs + 300);
    assert.deepEqual(cues.map((c) => c.index), [1, 2, 3, 4, 5, 6, 7]);
  });

  test('CJK text without spaces', () => {
    const text = '你好，世界。我是一个数字人，我可以说很多很多很多很多很多的话，也可以一直说下去。好！';
    const words = craftWords(text, 250, /\p{Script=Han}/gu);
    const cues = buildCues(text, words);
    assert.deepEqual(
      cues.map((c) => c.text),
      // The second cue goes back to the comma instead of splitting 很多很多 mid-phrase.
      ['你好，世界。', '我是一个数字人，', '我可以说很多很多很多很多很多的话，', '也可以一直说下去。', '好！'],
    );
    for (const c of cues) assert.ok([...c.text].length <= 20);
  });

  test('maxDurationMs splits slow speech; whitespace collapses; times stay monotonic', () => {
    const text = 'one  two\tthree\nfour five six seven';
    const words = craftWords(text, 2000);
    const cues = buildCues(text, words, { maxDurationMs: 5000 });
    // "three" would make the first cue 5980 ms long; the newline ends the second one.
    assert.deepEqual(cues.map((c) => c.text), ['one two', 'three', 'four five', 'six seven']);
    for (let i = 1; i < cues.length; i++) assert.ok(cues[i].startMs >= cues[i - 1].endMs);
  });

  test('last cue is extended to the audio duration; no words means no cues', () => {
    const text = 'Hi there.';
    const cues = buildCues(text, craftWords(text, 200), { durationMs: 1234 });
    assert.equal(cues.length, 1);
    assert.equal(cues[0].endMs, 1234);
    assert.deepEqual(buildCues('', []), []);
  });

  test('formatSrt and parseSrt (CRLF tolerant)', () => {
    const cues = [
      { index: 1, startMs: 0, endMs: 1500.4, text: 'Hello world.' },
      { index: 2, startMs: 3_723_004, endMs: 3_725_999.6, text: '你好，世界。' },
    ];
    const srt = formatSrt(cues);
    assert.equal(
      srt,
      '1\n00:00:00,000 --> 00:00:01,500\nHello world.\n\n2\n01:02:03,004 --> 01:02:06,000\n你好，世界。\n',
    );
    const parsed = parseSrt('\uFEFF' + srt.replace(/\n/g, '\r\n') + '\r\n');
    assert.deepEqual(parsed, [
      { index: 1, startMs: 0, endMs: 1500, text: 'Hello world.' },
      { index: 2, startMs: 3_723_004, endMs: 3_726_000, text: '你好，世界。' },
    ]);
    assert.deepEqual(parseSrt('1\n00:00:01.5 --> 00:00:02,000\nline one\nline two\n'), [
      { index: 1, startMs: 1500, endMs: 2000, text: 'line one\nline two' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// espeak timings from raw events (deterministic, no engine)

describe('buildTimings', () => {
  const ev = (type: RawEvent['type'], ms: number, pos = 0, len = 0, id = ''): RawEvent => ({ type, ms, pos, len, id });

  test('converts code-point positions, drops whitespace-only and overlapping words', () => {
    // espeak counts code points: '😀' is one position but two UTF-16 units.
    const text = 'Hi 😀 you 3.5';
    const { words } = buildTimings(
      text,
      [
        ev('word', 0, 1, 2), ev('phoneme', 0, 0, 0, 'h'), ev('phoneme', 50, 0, 0, 'aɪ'), ev('phoneme', 150),
        ev('word', 200, 4, 1), // 😀
        ev('word', 400, 5, 1), // the space after it: emoji names are several spoken words
        ev('word', 600, 6, 3), // you
        ev('end', 800),
        ev('word', 900, 10, 3), // 3.5
        ev('word', 1000, 11, 3), // ".5" again: "three point five"
      ],
      1300,
    );
    assert.deepEqual(
      words.map((w) => [w.text, w.charStart, w.charEnd, w.startMs, w.endMs]),
      [
        ['Hi', 0, 2, 0, 150], // ends with its last phoneme, not at the next word
        ['😀', 3, 5, 200, 600],
        ['you', 6, 9, 600, 800],
        ['3.5', 10, 13, 900, 1300],
      ],
    );
  });

  test('extends CJK words reported with length 1 or 0 to the whole written word', () => {
    const text = '你好，数字人。';
    const { words } = buildTimings(
      text,
      [ev('word', 0, 1, 1), ev('end', 500), ev('word', 500, 4, 1), ev('word', 700, 5, 1), ev('word', 900, 6, 0)],
      1200,
    );
    assert.deepEqual(words.map((w) => w.text), ['你好', '数', '字', '人']);
  });
});

// ---------------------------------------------------------------------------------------------
// the real engine

const EN = 'Hello world. This is dhp speaking, from an embedded speech engine. It runs off the main thread!';
const ZH = '你好，世界。我是数字人，很高兴认识你。今天天气很好！';

describe('EspeakEngine', () => {
  let engine: EspeakEngine;
  before(() => {
    engine = new EspeakEngine({ threads: 2 });
  });
  after(async () => {
    await engine.close();
  });

  test('English: valid WAV, sane word timings, SRT covering the audio', async () => {
    const result = await engine.synthesize(EN, { engine: 'espeak', voice: 'en-us+f3' });
    assertWellFormed(EN, result);
    assert.deepEqual(
      result.words.map((w) => w.text),
      ['Hello', 'world', 'This', 'is', 'dhp', 'speaking', 'from', 'an', 'embedded', 'speech', 'engine', 'It', 'runs', 'off', 'the', 'main', 'thread'],
    );
    assert.ok(result.phonemes.length > 30);
    assertCuesCover(EN, result);
  });

  test('Mandarin: valid WAV, word timings, SRT covering the audio', async () => {
    const result = await engine.synthesize(ZH, { engine: 'espeak', voice: 'cmn+f2' });
    assertWellFormed(ZH, result);
    const spoken = result.words.map((w) => w.text).join('');
    assert.ok(spoken.length >= 15, `too little of the text is covered by words: ${spoken}`);
    assertCuesCover(ZH, result);
  });

  test('text with astral characters keeps word positions aligned', async () => {
    const text = 'Smile 😀 please, 𝒜lgebra is fun. 𠮷野家很好吃。';
    const result = await engine.synthesize(text, { engine: 'espeak', voice: 'en-us' });
    assertWellFormed(text, result);
    const words = result.words.map((w) => w.text);
    for (const expected of ['Smile', 'please', 'is', 'fun']) assert.ok(words.includes(expected), `${expected} in ${words}`);
  });

  test('a female variant speaks higher than a male one', async () => {
    const text = 'We were away a year ago, and now we are home again.';
    const [female, male] = await Promise.all([
      engine.synthesize(text, { engine: 'espeak', voice: 'en-us+f3' }),
      engine.synthesize(text, { engine: 'espeak', voice: 'en-us+m3' }),
    ]);
    const f0Female = medianPitchHz(decodeWav(female.wav).samples, 22050);
    const f0Male = medianPitchHz(decodeWav(male.wav).samples, 22050);
    console.log(`# pitch: female ${f0Female.toFixed(0)} Hz, male ${f0Male.toFixed(0)} Hz`);
    assert.ok(f0Female > f0Male * 1.4, `female ${f0Female.toFixed(0)} Hz vs male ${f0Male.toFixed(0)} Hz`);
    assert.ok(f0Male > 70 && f0Male < 180, `male pitch ${f0Male}`);
    assert.ok(f0Female > 160 && f0Female < 350, `female pitch ${f0Female}`);
  });

  test('pitch and rate parameters are applied per request', async () => {
    const text = 'Testing the speaking rate of this voice.';
    const slow = await engine.synthesize(text, { engine: 'espeak', voice: 'en-us', rate: 120 });
    const fast = await engine.synthesize(text, { engine: 'espeak', voice: 'en-us', rate: 300 });
    const normal = await engine.synthesize(text, { engine: 'espeak', voice: 'en-us' });
    assert.ok(slow.durationMs > normal.durationMs * 1.2 && normal.durationMs > fast.durationMs * 1.2);
    const low = await engine.synthesize(text, { engine: 'espeak', voice: 'en-us', pitch: 10 });
    const high = await engine.synthesize(text, { engine: 'espeak', voice: 'en-us', pitch: 90 });
    assert.ok(medianPitchHz(decodeWav(high.wav).samples, 22050) > medianPitchHz(decodeWav(low.wav).samples, 22050) * 1.2);
  });

  test('input errors are TtsInputError with a readable message', async () => {
    await assert.rejects(engine.synthesize('Hello.', { engine: 'espeak', voice: 'xx-nope' }), (err: unknown) => {
      assert.ok(err instanceof TtsInputError);
      assert.equal(err.message, "unknown espeak voice 'xx-nope'");
      return true;
    });
    await assert.rejects(engine.synthesize('   ', { engine: 'espeak', voice: 'en-us' }), TtsInputError);
    await assert.rejects(engine.synthesize('... ?', { engine: 'espeak', voice: 'en-us' }), /nothing that can be spoken/);
    await assert.rejects(engine.synthesize('Hello.', { engine: 'espeak', voice: 'en-us', rate: 5000 }), TtsInputError);
    await assert.rejects(engine.synthesize('Hello.', { engine: 'espeak', voice: 'en-us; rm -rf' }), TtsInputError);
    // The worker is still fine afterwards.
    const ok = await engine.synthesize('Still here.', { engine: 'espeak', voice: 'en-us' });
    assert.ok(ok.words.length === 2);
  });

  test('4 concurrent requests on a 2-thread pool all succeed with their own results', async () => {
    const texts = ['First request.', 'Second request, a bit longer than the first.', '第三个请求。', 'Fourth and last.'];
    const results = await Promise.all(
      texts.map((t, i) => engine.synthesize(t, { engine: 'espeak', voice: i === 2 ? 'cmn' : 'en-us', rate: 150 + i * 20 })),
    );
    for (const [i, r] of results.entries()) {
      assertWellFormed(texts[i], r);
      assert.equal(r.words[0].charStart, 0, `request ${i} got someone else's timings`);
    }
    assert.ok((engine as unknown as { slots: unknown[] }).slots.length <= 2);
  });

  test('a crashed worker fails its request and is replaced', async () => {
    const crashEngine = new EspeakEngine({ threads: 1 });
    try {
      await crashEngine.synthesize('Warm up.', { engine: 'espeak', voice: 'en-us' });
      const slots = (crashEngine as unknown as { slots: { worker: Worker }[] }).slots;
      const inFlight = crashEngine.synthesize('This one dies.', { engine: 'espeak', voice: 'en-us' });
      const queued = crashEngine.synthesize('This one survives.', { engine: 'espeak', voice: 'en-us' });
      await slots[0].worker.terminate();
      await assert.rejects(inFlight, (err: unknown) => err instanceof Error && !(err instanceof TtsInputError) && /exited/.test(err.message));
      const survived = await queued;
      assert.equal(survived.words.length, 3);
    } finally {
      await crashEngine.close();
    }
    await assert.rejects(crashEngine.synthesize('Too late.', { engine: 'espeak', voice: 'en-us' }), /closed/);
  });

  test('a 20,000 character text synthesizes in one piece', async () => {
    const sentences = [
      'The quick brown fox jumps over the lazy dog.',
      'Digital humans need long narrations, and long narrations need a steady engine.',
      'Numbers like 42 and 2024 are read out, too!',
      'Is this the last sentence of the paragraph?',
    ];
    let text = '';
    for (let i = 0; text.length < 20_000; i++) text += sentences[i % sentences.length] + (i % 7 === 6 ? '\n\n' : ' ');
    text = text.slice(0, 20_000).replace(/\S*$/, '').trimEnd() + '.';
    const started = Date.now();
    const result = await engine.synthesize(text, { engine: 'espeak', voice: 'en-us' });
    const elapsed = Date.now() - started;
    const samples = assertWellFormed(text, result);
    const minutes = result.durationMs / 60_000;
    // ~3,300 words at 175 wpm.
    assert.ok(minutes > 15 && minutes < 30, `duration ${minutes.toFixed(1)} min`);
    assert.equal(samples.length, Math.round((result.durationMs * 22050) / 1000));
    const writtenWords = text.match(/[\p{L}\p{N}]+/gu)!.length;
    assert.ok(result.words.length > writtenWords * 0.95 && result.words.length <= writtenWords, `${result.words.length} of ${writtenWords} words`);
    const lastWord = result.words[result.words.length - 1];
    assert.ok(result.durationMs - lastWord.endMs < 1000);
    assertCuesCover(text, result);
    console.log(`# 20k chars: ${minutes.toFixed(1)} min of audio in ${elapsed} ms (${((result.durationMs / elapsed)).toFixed(0)}x real time)`);
  });
});
