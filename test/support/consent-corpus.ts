// The consent corpus: recordings paired with the consent sentence they are checked against, by
// class, so the tests (a few voices) and bench/consent.ts (every voice) measure the same thing.
//
// Real speech is Debian's pocketsphinx-testdata: LibriVox book sentences and card names read by
// people, each with its transcript. Synthetic speech is espeak-ng saying the consent sentence
// right, negated, with another name, with another content word, or with a word left out.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { VoiceProfile } from '../../src/engines/tts/engine.js';
import { EspeakEngine } from '../../src/engines/tts/espeak.js';
import { toWav16kMono } from '../../src/media/ffmpeg.js';
import { locateMediaTools, type MediaTools } from '../../src/media/tools.js';
import { runTool } from '../../src/process/run-tool.js';
import { publicVoices } from '../../src/services/catalog.js';

/**
 * What a recording is, relative to the sentence it is checked against. `reading`: correct, with
 * a word outside the dictionary read otherwise than espeak-ng or pinyin read it (GUIJI_READINGS),
 * counted apart from `correct` because no reading can cover every way of saying such a word.
 */
export type ConsentClass = 'correct' | 'reading' | 'negation' | 'name' | 'content' | 'missing';

export interface ConsentCase {
  id: string;
  cls: ConsentClass;
  /** The authorizeText the recording is checked against. */
  text: string;
  /** What the recording says. */
  spoken: string;
}

export const TESTDATA = '/usr/share/pocketsphinx/test/data';

/** The sentence the issue used, and the fixtures' sentence (a pinyin word in it). */
export const ALEX = 'I am Alex Morgan. I consent to clone my voice for the synthesis of audio.';
export const JANE = 'I am Jane Doe. I consent guiji clone my avatar for the synthesis of video.';

/** The API document's own consent sentences (avatar and voice), with a name. */
const SPEC_VIDEO = 'I am John Smith. I consent guiji clone my avatar for the synthesis of video.';
const SPEC_AUDIO = 'I am Li Wei. I consent guiji clone my voice for the synthesis of audio.';

/**
 * The k-th of a list of cases that say `said` in place of "guiji", on the API document's sentences
 * in turn, with the company written as `written` ("guiji" as the document writes it, or "Guiji").
 */
function guijiSaidAs(said: string, k: number, written = 'guiji'): Pick<ConsentCase, 'text' | 'spoken'> {
  const text = (k % 2 ? SPEC_AUDIO : SPEC_VIDEO).replace('guiji', written);
  return { text, spoken: text.replace(written, said) };
}

/**
 * Refusals phrased otherwise than the negation cases above, on the API document's sentences: other
 * words and places ("I cannot", "I won't", "I will never", "I do not give my consent"), a refusal
 * before or after the sentence, a negated name, a repeated "do not", and the sentence cut short.
 * Never used while tuning (first measured Dec 5, sixth session; bench/RESULTS.md).
 */
export const ATTACKS: ConsentCase[] = [
  { id: 'give', cls: 'negation', text: SPEC_VIDEO, spoken: 'I am John Smith. I do not give my consent guiji clone my avatar for the synthesis of video.' },
  { id: 'will-never', cls: 'negation', text: SPEC_AUDIO, spoken: 'I am Li Wei. I will never consent guiji clone my voice for the synthesis of audio.' },
  { id: 'cannot', cls: 'negation', text: SPEC_AUDIO, spoken: 'I am Li Wei. I cannot consent guiji clone my voice for the synthesis of audio.' },
  { id: 'wont', cls: 'negation', text: SPEC_VIDEO, spoken: "I am John Smith. I won't consent guiji clone my avatar for the synthesis of video." },
  { id: 'kidding', cls: 'negation', text: SPEC_VIDEO, spoken: `${SPEC_VIDEO} Just kidding, I do not.` },
  { id: 'end-no', cls: 'negation', text: SPEC_AUDIO, spoken: `${SPEC_AUDIO} No.` },
  { id: 'prefix', cls: 'negation', text: SPEC_VIDEO, spoken: `I do not agree. ${SPEC_VIDEO}` },
  { id: 'not-name', cls: 'negation', text: SPEC_VIDEO, spoken: 'I am not John Smith. I consent guiji clone my avatar for the synthesis of video.' },
  { id: 'not-for', cls: 'negation', text: SPEC_VIDEO, spoken: 'I am John Smith. I consent guiji clone my avatar, not for the synthesis of video.' },
  { id: 'twice', cls: 'negation', text: SPEC_AUDIO, spoken: 'I am Li Wei. I do not, I do not consent guiji clone my voice for the synthesis of audio.' },
  { id: 'half', cls: 'missing', text: SPEC_VIDEO, spoken: 'I am John Smith. I consent guiji clone my avatar.' },
];

/**
 * A company other than the one the sentence authorizes: the API document's "guiji", a word no
 * dictionary has, swapped for others. Known misses (bench/RESULTS.md): 3 of 60 over 15 voices
 * (13 while "guiji" was read eight ways: one guess, "guy-jih", fitted "Baidu" nearly as well as
 * the recording fits the sentence).
 */
export const COMPANY_SWAPS: ConsentCase[] = ['Acme', 'Google', 'Baidu', 'Tencent'].map((company, k) => ({
  id: `company-${company.toLowerCase()}`, cls: 'name', ...guijiSaidAs(company, k),
}));

/**
 * The company capitalized, "I consent Guiji clone my avatar ...", as a user may well type it: said
 * right (class `correct`, both of the API document's sentences) and with another company in its
 * place. While a capitalized word inside a sentence was taken for a name, "Guiji" kept every reading
 * of its spelling, and 11 of these swaps in 60 were verified over 15 voices; 2 since the party a
 * sentence authorizes is not a name (bench/RESULTS.md).
 */
export const CAPITALIZED_COMPANY: ConsentCase[] = [
  ...[0, 1].map((k) => ({ id: `capital-guiji-${k}`, cls: 'correct' as const, ...guijiSaidAs('Guiji', k, 'Guiji') })),
  ...['Acme', 'Google', 'Baidu', 'Tencent'].map((company, k) => ({ id: `capital-${company.toLowerCase()}`, cls: 'name' as const, ...guijiSaidAs(company, k, 'Guiji') })),
];

/**
 * "guiji" read the ways a person might read a word they have never heard, spelled out for espeak:
 * the Mandarin reading ("gway-jee"), "goo-ee-jee", "ghee-jee", "gwee-jee", "guy-jee". All are
 * correct (class `reading`): such a person should be verified or sent to review rather than turned
 * away; measured in bench/RESULTS.md (half are not verified, with eight readings of "guiji" or two).
 */
export const GUIJI_READINGS: ConsentCase[] = ['gway jee', 'gooey jee', 'ghee jee', 'gwee jee', 'guy jee'].map((reading, k) => ({
  id: `guiji-${reading.split(' ')[0]}`, cls: 'reading', ...guijiSaidAs(reading, k),
}));

/** Synthetic cases: each says `spoken`; all are checked against `text`. */
export const SYNTHETIC_CASES: ConsentCase[] = [
  { id: 'alex', cls: 'correct', text: ALEX, spoken: ALEX },
  { id: 'jane', cls: 'correct', text: JANE, spoken: JANE },
  // More correct sentences, so each voice's false refusals are counted over ten: names from several
  // languages, other companies in the API's sentence, and other sentence shapes.
  ...[
    'I am Maria Garcia. I consent guiji clone my voice for the synthesis of audio.',
    'I am Wei Zhang. I consent guiji clone my avatar for the synthesis of video.',
    'I am Priya Patel. I consent Acme Studio clone my voice for the synthesis of audio.',
    'I am Oliver Brown. I consent to clone my avatar for the synthesis of video.',
    "I am Sarah O'Connor. I consent guiji clone my voice for the synthesis of audio.",
    'I am Kenji Tanaka. I consent Northwind Media clone my avatar for the synthesis of video.',
    'My name is Ahmed Hassan. I consent to the cloning of my voice for audio synthesis.',
    'I am Emily Johnson, and I consent guiji clone my avatar for the synthesis of video.',
  ].map((text, k) => ({ id: `correct-${k + 3}`, cls: 'correct' as const, text, spoken: text })),
  { id: 'do-not', cls: 'negation', text: ALEX, spoken: 'I am Alex Morgan. I do not consent to clone my voice for the synthesis of audio.' },
  { id: 'never', cls: 'negation', text: ALEX, spoken: 'I am Alex Morgan. I never consent to clone my voice for the synthesis of audio.' },
  { id: 'dont', cls: 'negation', text: ALEX, spoken: "I am Alex Morgan. I don't consent to clone my voice for the synthesis of audio." },
  { id: 'refuse', cls: 'negation', text: ALEX, spoken: 'I am Alex Morgan. I refuse to consent to clone my voice for the synthesis of audio.' },
  { id: 'not-clone', cls: 'negation', text: ALEX, spoken: 'I am Alex Morgan. I consent not to clone my voice for the synthesis of audio.' },
  { id: 'withdraw', cls: 'negation', text: ALEX, spoken: 'I am Alex Morgan. I withdraw consent to clone my voice for the synthesis of audio.' },
  { id: 'without', cls: 'negation', text: ALEX, spoken: 'I am Alex Morgan. I consent to clone my voice without the synthesis of audio.' },
  { id: 'no', cls: 'negation', text: ALEX, spoken: 'I am Alex Morgan. No, I consent to clone my voice for the synthesis of audio.' },
  { id: 'jane-not', cls: 'negation', text: JANE, spoken: 'I am Jane Doe. I do not consent guiji clone my avatar for the synthesis of video.' },
  { id: 'mary-jones', cls: 'name', text: ALEX, spoken: 'I am Mary Jones. I consent to clone my voice for the synthesis of audio.' },
  { id: 'alex-martin', cls: 'name', text: ALEX, spoken: 'I am Alex Martin. I consent to clone my voice for the synthesis of audio.' },
  { id: 'adam-morgan', cls: 'name', text: ALEX, spoken: 'I am Adam Morgan. I consent to clone my voice for the synthesis of audio.' },
  { id: 'jane-smith', cls: 'name', text: JANE, spoken: 'I am Jane Smith. I consent guiji clone my avatar for the synthesis of video.' },
  { id: 'face', cls: 'content', text: ALEX, spoken: 'I am Alex Morgan. I consent to clone my face for the synthesis of audio.' },
  { id: 'analysis', cls: 'content', text: ALEX, spoken: 'I am Alex Morgan. I consent to clone my voice for the analysis of audio.' },
  { id: 'video', cls: 'content', text: ALEX, spoken: 'I am Alex Morgan. I consent to clone my voice for the synthesis of video.' },
  { id: 'close', cls: 'content', text: ALEX, spoken: 'I am Alex Morgan. I consent to close my voice for the synthesis of audio.' },
  { id: 'your', cls: 'content', text: ALEX, spoken: 'I am Alex Morgan. I consent to clone your voice for the synthesis of audio.' },
  { id: 'no-consent', cls: 'missing', text: ALEX, spoken: 'I am Alex Morgan. I to clone my voice for the synthesis of audio.' },
  { id: 'no-clone', cls: 'missing', text: ALEX, spoken: 'I am Alex Morgan. I consent to my voice for the synthesis of audio.' },
  ...ATTACKS,
  ...COMPANY_SWAPS,
  ...CAPITALIZED_COMPANY,
  ...GUIJI_READINGS,
];

/** An espeak-ng voice, optionally at a speaking rate and pitch (the TTS engine's own units). */
export type CorpusVoice = Pick<VoiceProfile, 'voice' | 'rate' | 'pitch'>;

/** The platform's own English public voices (src/services/catalog.ts) as they speak. */
export const PUBLIC_VOICES: CorpusVoice[] = publicVoices.filter((v) => v.languages.includes('en')).map(({ profile: { voice, rate, pitch } }) => ({ voice, rate, pitch }));

/**
 * espeak-ng voices: US and UK English, male and female variants, two speaking rates, and the
 * platform's own English public voices (src/services/catalog.ts) as they speak: a client can make
 * a consent recording with the platform's audio synthesis.
 */
export const VOICES: CorpusVoice[] = [
  { voice: 'en-us' }, { voice: 'en-us+m1' }, { voice: 'en-us+m3' }, { voice: 'en-us+m7' },
  { voice: 'en-us+f2' }, { voice: 'en-us+f3' }, { voice: 'en-us+f5' },
  { voice: 'en' }, { voice: 'en+m3' }, { voice: 'en+f3' }, { voice: 'en+f4' },
  { voice: 'en-us', rate: 140 }, { voice: 'en-us+f3', rate: 210 },
  ...PUBLIC_VOICES,
];

export function voiceName(v: CorpusVoice): string {
  return `${v.voice}${v.rate ? `@${v.rate}` : ''}${v.pitch !== undefined ? `^${v.pitch}` : ''}`;
}

/** Real recordings: each checked against its transcript and against altered transcripts. */
export interface RealCase extends ConsentCase { file: string }

const LIBRIVOX: Array<[string, string]> = [
  ['0870', 'and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them'],
  ['0880', 'he was not an ill disposed young man'],
  ['0890', 'unless to be rather cold hearted and rather selfish is to be ill disposed'],
  ['0920', 'had he married a more amiable woman he might have been made still more respectable than he was'],
  ['0930', 'he might even have been made amiable himself'],
];
const CARDS: Array<[string, string]> = [
  ['001', 'ten of clubs'], ['002', 'four queen of clubs'], ['003', 'seven of clubs'], ['004', 'five five'],
  ['005', 'eight of spades four of clubs seven of hearts'],
];

export function realCases(): RealCase[] {
  const lv = (n: string) => path.join(TESTDATA, 'librivox', `sense_and_sensibility_01_austen_64kb-${n}.wav`);
  const cd = (n: string) => path.join(TESTDATA, 'cards', `${n}.wav`);
  const cases: RealCase[] = [
    ...LIBRIVOX.map(([n, t]) => ({ id: `librivox-${n}`, cls: 'correct' as const, text: t, spoken: t, file: lv(n) })),
    ...CARDS.map(([n, t]) => ({ id: `cards-${n}`, cls: 'correct' as const, text: t, spoken: t, file: cd(n) })),
  ];
  const altered = (id: string, cls: ConsentClass, file: string, spoken: string, text: string) => cases.push({ id, cls, text, spoken, file });
  const s = Object.fromEntries([...LIBRIVOX, ...CARDS]);
  // The recording says "not" where the sentence has none: a negation the sentence does not contain.
  altered('librivox-0880-not', 'negation', lv('0880'), s['0880'], 'he was an ill disposed young man');
  altered('librivox-0870-name', 'name', lv('0870'), s['0870'], s['0870'].replace('john dashwood', 'james dashwood'));
  altered('librivox-0870-surname', 'name', lv('0870'), s['0870'], s['0870'].replace('dashwood', 'ashford'));
  altered('librivox-0880-old', 'content', lv('0880'), s['0880'], s['0880'].replace('young', 'old'));
  altered('librivox-0930-miserable', 'content', lv('0930'), s['0930'], s['0930'].replace('amiable', 'miserable'));
  altered('librivox-0920-man', 'content', lv('0920'), s['0920'], s['0920'].replace('woman', 'man'));
  altered('librivox-0890-generous', 'content', lv('0890'), s['0890'], s['0890'].replace('selfish', 'generous'));
  altered('cards-001-hearts', 'content', cd('001'), s['001'], s['001'].replace('clubs', 'hearts'));
  altered('cards-003-spades', 'content', cd('003'), s['003'], s['003'].replace('clubs', 'spades'));
  altered('cards-002-king', 'content', cd('002'), s['002'], s['002'].replace('queen', 'king'));
  // The sentence has a word the recording leaves out.
  altered('librivox-0930-not', 'missing', lv('0930'), s['0930'], 'he might not even have been made amiable himself');
  altered('librivox-0880-very', 'missing', lv('0880'), s['0880'], 'he was not an ill disposed young man at all');
  altered('cards-004-six', 'missing', cd('004'), s['004'], 'five six five');
  return cases;
}

/**
 * Speaks `spoken` with `voice` and converts it as the consent service converts downloads; cached
 * in `dir` by voice and case id, since espeak output for the same input is nearly identical.
 */
export function synthesize(engine: EspeakEngine, dir: string, c: ConsentCase, v: CorpusVoice): Promise<string> {
  return convertedClip(dir, `${voiceName(v).replace(/[^\w.@-]/g, '_')}--${c.id}`, async (source) => {
    const { wav } = await engine.synthesize(c.spoken, { engine: 'espeak', voice: v.voice, rate: v.rate, pitch: v.pitch });
    writeFileSync(source, wav);
  });
}

/**
 * Flite (Debian's `flite`): another synthesizer than espeak-ng, never used for tuning or as a
 * reference, so its voices are out of sample: `kal` and `kal16` are diphone voices (8 and 16 kHz,
 * US male); `slt`, `awb` and `rms` are statistical ones (US female, Scottish male, US male).
 */
export const FLITE_VOICES = ['kal', 'kal16', 'slt', 'awb', 'rms'];

/** Speaks `c.spoken` with Flite voice `voice`, converted and cached as `synthesize` does. */
export function synthesizeFlite(dir: string, c: ConsentCase, voice: string): Promise<string> {
  return convertedClip(dir, `flite-${voice}--${c.id}`, async (source) => {
    await runTool('flite', ['-voice', voice, '-t', c.spoken, '-o', source], { timeoutMs: 60_000 });
  });
}

let mediaTools: Promise<MediaTools> | undefined;

/**
 * `dir`/`name`.wav: what `speak` writes to the source file it is given, converted to 16 kHz mono
 * as the consent service converts downloads; made once, then reused.
 */
async function convertedClip(dir: string, name: string, speak: (source: string) => Promise<void>): Promise<string> {
  const target = path.join(dir, `${name}.wav`);
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true });
  const source = `${target}.src.wav`;
  await speak(source);
  await toWav16kMono(await (mediaTools ??= locateMediaTools()), source, target);
  return target;
}
