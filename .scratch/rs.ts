import { resampleTo16k } from '../src/engines/consent/audio.js';
const x = Int16Array.from({ length: 22050 * 70 }, (_, i) => Math.round(8000 * Math.sin(i / 7)));
const t = performance.now(); resampleTo16k(x, 22050); console.log('70 s:', (performance.now() - t).toFixed(0), 'ms');
