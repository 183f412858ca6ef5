import { spokenForm } from '../src/engines/consent/pronunciation.js';
for (const t of ['I am Alex Morgan. I consent to clone my voice, for 100% & the 3rd time!', 'I & consent', '~ % @ #', 'Line one\nline two']) console.log(JSON.stringify(spokenForm(t)));
