import { similarWords, lookupPronunciations } from '../src/engines/consent/pronunciation.js';
const dict = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';
const ws = process.argv.slice(2);
const prons = await lookupPronunciations(dict, new Set(ws));
const found = await similarWords(dict, ws.map((w) => ({ text: w, prons: prons.get(w)! })), { maxDistance: 1.5, cap: 60 });
ws.forEach((w, i) => console.log(w, prons.get(w), found[i].length, found[i].map((s) => `${s.word}:${s.distance}`).join(' ')));
