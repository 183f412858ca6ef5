import { PocketsphinxRecognizer } from '../src/engines/consent/recognizer.js';
const r = (await PocketsphinxRecognizer.locate())!;
// Peek at the decodes by wrapping decide.
const scoring = await import('../src/engines/consent/scoring.js');
const res = await r.check(process.argv[2], process.argv[3]);
console.log(res.verdict, res.reason);
