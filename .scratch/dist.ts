import { phoneDistance } from '../src/engines/consent/pronunciation.js';
const p = (s: string) => s.split(' ');
const pairs: Array<[string, string, string]> = [
  ['miserable', 'M IH Z ER AH B AH L', 'EY M IY AH B AH L'],
  ['miserable2', 'M IH Z R AH B AH L', 'EY M IY AH B AH L'],
  ['synthesis', 'S IH N TH AH S IH S', 'AH N AE L AH S IH S'],
  ['alex', 'AE L AH K S', 'AE D AH M'],
  ['morgan', 'M AO R G AH N', 'M AA R T AH N'],
  ['hearts', 'HH AA R T S', 'K L AH B Z'],
];
for (const [w, a, b] of pairs) console.log(w, phoneDistance(p(a), p(b)), p(a).length);
