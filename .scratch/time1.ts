import { PocketsphinxRecognizer } from '../src/engines/consent/recognizer.ts';
const r = (await PocketsphinxRecognizer.locate())!;
const f = process.argv[2]; const text = process.argv[3];
for (let i = 0; i < 2; i++) { const t = performance.now(); const res = await r.check(f, text); console.log(((performance.now()-t)/1000).toFixed(2), res.verdict, JSON.stringify(res.substitutions), JSON.stringify(res.negations)); }
