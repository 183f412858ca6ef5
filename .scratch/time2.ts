import { EspeakEngine } from '../src/engines/tts/espeak.js';
let t = performance.now();
const e = new EspeakEngine({ threads: 1 });
const r = await e.synthesize('I am Alex Morgan. I consent to clone my voice for the synthesis of audio.', { engine: 'espeak', voice: 'en-us' });
console.log('first synth', (performance.now() - t).toFixed(0));
t = performance.now();
for (const v of ['en-us+f3', 'en', 'en+f4']) await e.synthesize('I am Alex Morgan. I consent to clone my voice for the synthesis of audio.', { engine: 'espeak', voice: v });
console.log('3 more', (performance.now() - t).toFixed(0));
await e.close();
