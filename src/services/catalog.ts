import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { Sex, VoiceStatus } from '../domain/status.js';
import { CHARACTERS } from '../engines/avatar2d/characters.js';
import { renderCover } from '../engines/avatar2d/render.js';
import type { TtsEngine, VoiceProfile } from '../engines/tts/engine.js';
import type { Storage } from '../media/storage.js';
import type { Page } from '../store/paging.js';

/** A voice anyone can use: the embedded engine's voices. */
export interface PublicVoice {
  speakerId: string;
  ttsName: string;
  ttsFeatures: string;
  languages: string[];
  sex: Sex;
  profile: VoiceProfile;
  /** Sentence spoken in the demo clip (ttsAudition). */
  demo: string;
}

export const publicVoices: readonly PublicVoice[] = [
  {
    speakerId: 'en-us-female', ttsName: 'Ava (US English, female)', ttsFeatures: 'Clear|Bright|Steady',
    languages: ['en'], sex: Sex.Female, profile: { engine: 'espeak', voice: 'en-us+f3', pitch: 55, rate: 165 },
    demo: 'Hello, I am Ava. I read your text aloud, clearly and at a steady pace.',
  },
  {
    speakerId: 'en-us-male', ttsName: 'Adam (US English, male)', ttsFeatures: 'Calm|Low|Steady',
    languages: ['en'], sex: Sex.Male, profile: { engine: 'espeak', voice: 'en-us+m3', pitch: 40, rate: 165 },
    demo: 'Hello, I am Adam. I read your text aloud in a calm, low voice.',
  },
  {
    speakerId: 'en-gb-female', ttsName: 'Grace (British English, female)', ttsFeatures: 'Gentle|Bright',
    languages: ['en'], sex: Sex.Female, profile: { engine: 'espeak', voice: 'en-gb-x-rp+f2', pitch: 55, rate: 160 },
    demo: 'Good day, I am Grace. I speak British English.',
  },
  {
    speakerId: 'en-gb-male', ttsName: 'Oliver (British English, male)', ttsFeatures: 'Calm|Formal',
    languages: ['en'], sex: Sex.Male, profile: { engine: 'espeak', voice: 'en-gb-x-rp+m1', pitch: 40, rate: 160 },
    demo: 'Good day, I am Oliver. I speak British English.',
  },
  {
    speakerId: 'zh-cn-female', ttsName: '晓梅 Xiaomei (Mandarin, female)', ttsFeatures: 'Gentle|Bright',
    languages: ['zh'], sex: Sex.Female, profile: { engine: 'espeak', voice: 'cmn+f3', pitch: 60, rate: 150 },
    demo: '你好，我是晓梅。我可以用普通话为你朗读文字。',
  },
  {
    speakerId: 'zh-cn-male', ttsName: '子轩 Zixuan (Mandarin, male)', ttsFeatures: 'Calm|Steady',
    languages: ['zh'], sex: Sex.Male, profile: { engine: 'espeak', voice: 'cmn+m3', pitch: 40, rate: 150 },
    demo: '你好，我是子轩。我可以用普通话为你朗读文字。',
  },
];

export const auditionKey = (speakerId: string) => `voices/${speakerId}.wav`;
export const avatarCoverKey = (key: string) => `avatars/${key}.jpg`;
/** Built-in avatars render at this size: portrait, fast on a CPU. */
export const BUILTIN_RESOLUTION = '720x1280';

export function paginate<T>(all: readonly T[], page: number, size: number): Page<T> {
  return { pageSize: size, pageNo: page, totalRecord: all.length, records: all.slice((page - 1) * size, page * size) };
}

/** A public avatar as the list answers it. */
export interface PublicAvatarView { id: number; sceneName: string; coverUrl: string; resolution: string }
/** A public voice as the list answers it. */
export interface PublicVoiceView { speakerId: string; ttsName: string; ttsFeatures: string; ttsAudition: string; languages: string[]; sex: number; status: number }

/** The public avatars (the built-in characters) and voices (the embedded engine's), as lists and by id. */
export class CatalogService {
  private readonly byId = new Map(publicVoices.map((v) => [v.speakerId, v]));

  private readonly fileUrl: (key: string) => string;
  private readonly storage: Storage;
  private readonly engine: TtsEngine;

  constructor(deps: { fileUrl: (key: string) => string; storage: Storage; engine: TtsEngine }) {
    ({ fileUrl: this.fileUrl, storage: this.storage, engine: this.engine } = deps);
  }

  /** Start-up: each public voice's demo clip and each built-in avatar's cover, made once and kept. */
  async prepare(log?: Logger): Promise<void> {
    for (const v of publicVoices) {
      const key = auditionKey(v.speakerId);
      if (await this.storage.exists(key)) continue;
      const result = await this.engine.synthesize(v.demo, v.profile);
      await this.storage.put(key, result.wav);
      log?.debug({ speakerId: v.speakerId }, 'made voice audition');
    }
    const missing = [];
    for (const c of CHARACTERS) if (!(await this.storage.exists(avatarCoverKey(c.key)))) missing.push(c);
    if (!missing.length) return;
    const dir = await mkdtemp(path.join(tmpdir(), 'dhp-covers-'));
    try {
      const [width, height] = BUILTIN_RESOLUTION.split('x').map(Number);
      for (const c of missing) {
        const file = path.join(dir, `${c.key}.jpg`);
        await renderCover(String(c.id), file, { width, height });
        await this.storage.put(avatarCoverKey(c.key), await readFile(file));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  listPublicAvatars(q: { page: number; size: number; name?: string }): Page<PublicAvatarView> {
    const name = q.name?.trim().toLowerCase();
    const avatars = CHARACTERS.filter((c) => !name || c.sceneName.toLowerCase().includes(name))
      .map((c) => ({ id: c.id, sceneName: c.sceneName, coverUrl: this.fileUrl(avatarCoverKey(c.key)), resolution: BUILTIN_RESOLUTION }));
    return paginate(avatars, q.page, q.size);
  }

  publicVoice(speakerId: string): PublicVoice | undefined {
    return this.byId.get(speakerId);
  }

  listPublicVoices(q: { page: number; size: number; name?: string; sex?: number }): Page<PublicVoiceView> {
    const name = q.name?.trim().toLowerCase();
    const matches = publicVoices.filter((v) =>
      (!name || v.ttsName.toLowerCase().includes(name) || v.speakerId.includes(name)) && (q.sex === undefined || v.sex === q.sex));
    const page = paginate(matches, q.page, q.size);
    return {
      ...page,
      records: page.records.map((v) => ({
        speakerId: v.speakerId, ttsName: v.ttsName, ttsFeatures: v.ttsFeatures,
        ttsAudition: this.fileUrl(auditionKey(v.speakerId)), languages: v.languages, sex: v.sex, status: VoiceStatus.Success,
      })),
    };
  }
}
