// The WASM espeak-ng build always reads its input as SSML, so a tenant's `<break time="600s"/>`
// would be obeyed (22 characters made 10 minutes of audio). Escaping the three markup characters
// makes espeak speak the text as written; its event positions then count the escaped text, so they
// are mapped back to the caller's text.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

export interface EscapedText {
  /** What espeak is given. */
  text: string;
  /**
   * Maps an espeak event span (1-based start and length in code points of the escaped text) to
   * the same span in the original text. A span inside an entity maps to the character it stands for.
   */
  toOriginal(pos: number, len: number): { pos: number; len: number };
}

export function escapeMarkup(original: string): EscapedText {
  if (!/[&<>]/.test(original)) return { text: original, toOriginal: (pos, len) => ({ pos, len }) };
  let text = '';
  // origin[i]: the original code point index that escaped code point i came from.
  const origin: number[] = [];
  let index = 0;
  for (const ch of original) {
    const out = ENTITIES[ch] ?? ch;
    text += out;
    for (let k = 0; k < [...out].length; k++) origin.push(index);
    index++;
  }
  const total = index;
  const at = (cp: number) => (cp < 0 ? 0 : cp >= origin.length ? total : origin[cp]);
  return {
    text,
    toOriginal(pos, len) {
      const start = at(pos - 1);
      const end = len > 0 ? at(pos - 1 + len - 1) + 1 : start;
      return { pos: start + 1, len: Math.max(0, end - start) };
    },
  };
}
