// Consent check accuracy (not part of the test suite): `node --import tsx bench/consent.ts`.
//
// Every synthetic case of test/support/consent-corpus.ts in every espeak voice, and every real recording
// of pocketsphinx-testdata against its transcript and altered transcripts, through the real
// recognizer. Prints, per class and voice, how many were verified, sent to review and refused:
// a verified negation, name or content substitution or missing word is a false accept; a correct
// recording that is not verified is a false refusal (review counted apart), and so is one that reads
// a word outside the dictionary otherwise (class `reading`, its own column).
//
// Settings (environment):
//   CONSENT_BENCH_VOICES=en-us,en+f3   only these voices (names as in the table)
//   CONSENT_BENCH_CACHE=DIR            where synthesized clips are kept (default /tmp/dhp-consent-corpus)
//   CONSENT_BENCH_JOBS=2               checks run at once
//   CONSENT_BENCH_JSON=FILE            also write every result as JSON
//   CONSENT_BENCH_CASES=alex,do-not    only these synthetic cases
//   CONSENT_BENCH_RECOGNIZER=FILE      measure another recognizer module (e.g. an older version)
//   CONSENT_BENCH_VERBOSE=1            print each result as it comes
//   CONSENT_BENCH_FLITE=1              also Flite's voices (Debian's flite; out of sample: never tuned on), as flite:kal, ...

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PocketsphinxRecognizer, type ConsentResult } from '../src/engines/consent/recognizer.js';
import { EspeakEngine } from '../src/engines/tts/espeak.js';
import { FLITE_VOICES, SYNTHETIC_CASES, VOICES, realCases, synthesize, synthesizeFlite, voiceName, type ConsentCase, type ConsentClass } from '../test/support/consent-corpus.js';

interface Row { source: string; c: ConsentCase; result: ConsentResult; ms: number }

const cache = process.env.CONSENT_BENCH_CACHE ?? path.join(tmpdir(), 'dhp-consent-corpus');
const jobs = Number(process.env.CONSENT_BENCH_JOBS ?? 2);
const only = process.env.CONSENT_BENCH_VOICES?.split(',');
const only_cases = process.env.CONSENT_BENCH_CASES?.split(',');

// CONSENT_BENCH_RECOGNIZER=path/to/module.ts: another recognizer module (an older version, for the baseline).
const Recognizer: typeof PocketsphinxRecognizer = process.env.CONSENT_BENCH_RECOGNIZER
  ? (await import(path.resolve(process.env.CONSENT_BENCH_RECOGNIZER))).PocketsphinxRecognizer
  : PocketsphinxRecognizer;
const recognizer = await Recognizer.locate();
if (!recognizer) throw new Error('pocketsphinx is not installed (apt-get install pocketsphinx pocketsphinx-en-us pocketsphinx-testdata)');

const work: Array<{ source: string; c: ConsentCase; file: () => Promise<string> }> = [];
if (!only || only.includes('real')) for (const c of realCases()) work.push({ source: 'real speech', c, file: async () => c.file });
const engine = new EspeakEngine({ threads: 1 });
const speakers: Array<{ source: string; speak: (c: ConsentCase) => Promise<string> }> = [
  ...VOICES.map((v) => ({ source: voiceName(v), speak: (c: ConsentCase) => synthesize(engine, cache, c, v) })),
  ...(process.env.CONSENT_BENCH_FLITE ? FLITE_VOICES.map((voice) => ({ source: `flite:${voice}`, speak: (c: ConsentCase) => synthesizeFlite(cache, c, voice) })) : []),
];
for (const { source, speak } of speakers) {
  if (only && !only.includes(source)) continue;
  for (const c of SYNTHETIC_CASES) {
    if (only_cases && !only_cases.includes(c.id)) continue;
    work.push({ source, c, file: () => speak(c) });
  }
}

const rows: Row[] = [];
let next = 0;
const started = performance.now();
await Promise.all(Array.from({ length: jobs }, async () => {
  while (next < work.length) {
    const w = work[next++];
    const file = await w.file();
    const t = performance.now();
    const result = await recognizer.check(file, w.c.text);
    rows.push({ source: w.source, c: w.c, result, ms: performance.now() - t });
    if (process.env.CONSENT_BENCH_VERBOSE) console.error(`${w.source} ${w.c.id}: ${result.verdict} ${result.reason}`);
  }
}));
await engine.close();

const classes: ConsentClass[] = ['correct', 'reading', 'negation', 'name', 'content', 'missing'];
/** Classes that should be verified (a wrong outcome is a false refusal); the others should not (a false accept). */
const shouldVerify = (cls: ConsentClass) => cls === 'correct' || cls === 'reading';
/** A false refusal of a recording that should be verified, or a false accept of one that should not. */
const isWrong = (r: Row) => (shouldVerify(r.c.cls) ? r.result.verdict !== 'verified' : r.result.verdict === 'verified');
const sources = [...new Set(rows.map((r) => r.source))];
const cell = (source: string, cls: ConsentClass) => {
  const rs = rows.filter((r) => r.source === source && r.c.cls === cls);
  if (rs.length === 0) return '';
  const review = rs.filter((r) => r.result.verdict === 'review').length;
  return `${rs.filter(isWrong).length}/${rs.length}${review ? ` (${review} review)` : ''}`;
};
console.log(`\n| source | false refusals: correct | read otherwise | false accepts: negation | name | content word | missing word |`);
console.log('|---|---|---|---|---|---|---|');
for (const s of sources) console.log(`| ${s} | ${classes.map((c) => cell(s, c)).join(' | ')} |`);
const all = (cls: ConsentClass) => {
  const rs = rows.filter((r) => r.source !== 'real speech' && r.c.cls === cls);
  return `${rs.filter(isWrong).length}/${rs.length}`;
};
console.log(`| all synthetic | ${classes.map(all).join(' | ')} |`);
const ms = rows.map((r) => r.ms).sort((a, b) => a - b);
console.log(`\n${rows.length} checks in ${((performance.now() - started) / 1000).toFixed(0)} s wall; per check median ${ms[Math.floor(ms.length / 2)].toFixed(0)} ms, max ${ms[ms.length - 1].toFixed(0)} ms`);
for (const r of rows) {
  if (isWrong(r)) console.log(`  ${shouldVerify(r.c.cls) ? 'refused' : 'accepted'}: ${r.source} ${r.c.id} (${r.result.verdict}): ${r.result.reason}`);
}
if (process.env.CONSENT_BENCH_JSON) writeFileSync(process.env.CONSENT_BENCH_JSON, JSON.stringify(rows.map((r) => ({ source: r.source, id: r.c.id, cls: r.c.cls, ...r.result, ms: Math.round(r.ms) })), null, 1));
