import { Type, type TSchema, type Static } from '@sinclair/typebox';
import { tasks, type TaskKind } from './tasks.js';

/** "0 Preparing, 1 Processing, ...": the kind's statuses as domain/tasks.ts names them. */
const statusDoc = (kind: TaskKind) => Object.entries(tasks[kind].statuses)
  .map(([n, name]) => [Number(n), name] as const).sort(([a], [b]) => a - b).map(([n, name]) => `${n} ${name}`).join(', ');

/**
 * Wire schemas: the single source of truth for validation, serialization, the
 * OpenAPI document and the SDK's types. Field names are the platform's.
 */
export const Envelope = <T extends TSchema>(data: T, description?: string) =>
  Type.Object({
    code: Type.String({ description: '"0" on success, otherwise a numeric error code such as "40001" (see docs/errors.md); never "0" on failure' }),
    success: Type.Boolean(),
    message: Type.String(),
    data,
  }, { description });

export const ErrorEnvelope = Type.Object({
  code: Type.String({ description: 'Numeric error code, e.g. "40101"; see docs/errors.md' }),
  success: Type.Literal(false), message: Type.String(), data: Type.Null(),
  error: Type.String({ description: 'dhp addition: the error\'s symbolic name, e.g. "UNAUTHORIZED"' }),
});

/**
 * Every integer a client sends is bounded, so none reaches SQLite as a float or past
 * 2^53 (1e30 and 2^53+1 are JSON integers too); every string has a length limit.
 */
const Int32 = (o: { minimum?: number; maximum?: number; description?: string } = {}) =>
  Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647, ...o });
/** Ids: at most 15 digits, like the path parameter. */
const MAX_ID = 999_999_999_999_999;
/** The longest text the server can be configured to accept (DHP_TTS_MAX_CHARS caps it further). */
const MAX_TEXT = 1_000_000;
const Url = (o: { description?: string } = {}) => Type.String({ minLength: 1, maxLength: 2048, ...o });
const NullableUrl = Type.Union([Type.String({ maxLength: 2048 }), Type.Null()]);

export const PageQuery = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Page number, from 1' }),
  size: Type.Integer({ minimum: 1, maximum: 100, description: 'Page size, 1 to 100' }),
});

export const Page = <T extends TSchema>(record: T) => Type.Object({
  pageSize: Type.Integer(),
  pageNo: Type.Integer(),
  totalRecord: Type.Integer(),
  records: Type.Array(record),
});

export const AccessTokenQuery = Type.Object({
  access_token: Type.Optional(Type.String({ maxLength: 256, description: 'Token from /openapi/oauth/token' })),
});

export const TokenQuery = Type.Object({
  grant_type: Type.String({ maxLength: 32, description: 'Always "sign"' }),
  appId: Type.String({ minLength: 1, maxLength: 128 }),
  timestamp: Type.String({ pattern: '^[0-9]+$', maxLength: 20, description: 'Current time, epoch milliseconds' }),
  sign: Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: 'lowercase hex md5(appId + timestamp + secret)' }),
});
export const TokenData = Type.Object({ access_token: Type.String(), expires_in: Type.Integer({ description: 'Seconds' }) });

export const AccountData = Type.Object({
  user: Type.Object({ id: Type.Integer(), corpId: Type.Integer() }),
  account: Type.Object({
    fastTrainingAmount: Type.Integer(),
    totalFastTrainingAmount: Type.Integer(),
    voiceCloneAmount: Type.Integer(),
    totalVoiceCloneAmount: Type.Integer(),
    fastDuration: Type.Integer({ description: 'Remaining video synthesis duration, ms' }),
    totalFastDuration: Type.Integer(),
    ttsWordsAmount: Type.Integer(),
    totalTtsWordsAmount: Type.Integer(),
  }),
});

export const AvatarQuery = Type.Composite([PageQuery, Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })) })]);
export const Avatar = Type.Object({
  id: Type.Integer({ description: 'Scene ID (sceneId in video synthesis)' }),
  sceneName: Type.String(),
  coverUrl: Type.String(),
  resolution: Type.String(),
});

export const VoiceQuery = Type.Composite([PageQuery, Type.Object({
  name: Type.Optional(Type.String({ maxLength: 200 })),
  sex: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)], { description: '1 male, 2 female' })),
})]);
export const Voice = Type.Object({
  speakerId: Type.String(),
  ttsName: Type.String(),
  ttsFeatures: Type.String(),
  audioUrl: Type.Optional(Type.String()),
  ttsAudition: Type.String(),
  languages: Type.Array(Type.String()),
  sex: Type.Integer(),
  status: Type.Integer({ description: statusDoc('voice') }),
});

export const TtsCreateBody = Type.Object({
  speakerId: Type.String({ minLength: 1, maxLength: 128 }),
  content: Type.String({ maxLength: MAX_TEXT, description: 'Text to speak' }),
  callbackUrl: Type.Optional(NullableUrl),
});
export const TtsCreated = Type.Object({ id: Type.Integer(), status: Type.Integer() });
export const TtsRecord = Type.Object({
  id: Type.Integer(),
  status: Type.Integer({ description: statusDoc('tts') }),
  duration: Type.Union([Type.Integer(), Type.Null()], { description: 'Audio length, ms' }),
  ttsUrl: Type.Union([Type.String(), Type.Null()]),
  srtUrl: Type.Union([Type.String(), Type.Null()]),
  speakerId: Type.String({ description: 'dhp addition' }),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'dhp addition: why the synthesis failed' }),
  callbackStatus: Type.Integer({ description: 'dhp addition: 0 Initial, 1 Success, 2 Failed' }),
  createTime: Type.String({ description: 'dhp addition: yyyy-MM-dd HH:mm:ss, as in the platform\'s other lists' }),
  updateTime: Type.String({ description: 'dhp addition: yyyy-MM-dd HH:mm:ss' }),
});
export const IdParam = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,15}$', description: 'Numeric id' }) });

export type TtsCreateBody = Static<typeof TtsCreateBody>;

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

export const TrainingCreateBody = Type.Object({
  id: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: MAX_ID }), Type.Null()], { description: 'Training ID to re-run; empty for a new training' })),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  videoUrl: Url(),
  authorizeUrl: Url({ description: 'Video or audio of the person speaking authorizeText' }),
  authorizeText: Type.String({ minLength: 1, maxLength: 1000 }),
  level: Int32({ description: '1: Rapid Avatar Cloning' }),
  compress: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  callbackUrl: Type.Optional(NullableUrl),
  greenScreen: Type.Optional(Type.Union([Type.Boolean(), Type.Literal(0), Type.Literal(1), Type.Null()], { description: 'dhp addition here (the cloud\'s v2 field): the person stands in front of a green screen, so a video can put backgroundUrl behind them' })),
});
/** The cloud's v2 training body: no consent fields (they are accepted, both or neither). */
export const TrainingCreateV2Body = Type.Object({
  id: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: MAX_ID }), Type.Null()], { description: 'Training ID to re-run; empty for a new training' })),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  videoUrl: Url(),
  level: Int32({ description: '1: Rapid Avatar Cloning' }),
  greenScreen: Type.Optional(Type.Union([Type.Boolean(), Type.Literal(0), Type.Literal(1), Type.Null()], { description: 'The person stands in front of a green screen, so a video can put backgroundUrl behind them' })),
  callbackUrl: Type.Optional(NullableUrl),
  compress: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  authorizeUrl: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()], { description: 'dhp addition: optional here; without it the avatar\'s consent waits (authorizeStatus 0)' })),
  authorizeText: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()], { description: 'dhp addition: with authorizeUrl' })),
});
export const TrainingCreated = Type.Object({ trainingId: Type.Integer() });
export const TrainingRecord = Type.Object({
  id: Type.Integer(),
  title: Type.String(),
  videoUrl: Type.String(),
  status: Type.Integer({ description: statusDoc('training') }),
  callbackStatus: Type.Integer({ description: '0 Initial, 1 Success, 2 Failed' }),
  comment: Type.String({ description: 'Why it failed or was rejected; notes' }),
  sceneId: NullableInt,
  coverUrl: NullableString,
  authorizeStatus: Type.Integer({ description: '0 no, 1 yes' }),
  createTime: Type.String(),
  updateTime: Type.String(),
  resolution: Type.Union([Type.String(), Type.Null()], { description: 'dhp addition: the avatar\'s resolution (e.g. 1080x1920) once trained' }),
  lipsync: Type.Union([
    Type.Object({
      frames: Type.Integer({ description: 'frames in the training video' }),
      usableFrames: Type.Integer({ description: 'frames with one frontal face, usable as mouths' }),
      coverage: Type.Number({ description: 'share (0..1) of the range of mouth openings those frames cover' }),
    }),
    Type.Null(),
  ], { description: 'dhp addition: the embedded lip-sync\'s analysis of the training video; null until analysed' }),
});

export const CloneBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  audioUrl: Url({ description: 'WAV only' }),
  authorizeUrl: Url(),
  authorizeText: Type.String({ minLength: 1, maxLength: 1000 }),
  sex: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2), Type.Null()])),
  callbackUrl: Type.Optional(NullableUrl),
});
export const ClonedVoice = Type.Object({
  speakerId: Type.String(),
  ttsName: Type.String(),
  ttsFeatures: Type.String(),
  audioUrl: Type.String(),
  ttsAudition: Type.String(),
  languages: Type.Array(Type.String()),
  sex: NullableInt,
  status: Type.Integer({ description: statusDoc('voice') }),
  authorizeStatus: Type.Integer(),
  reason: NullableString,
  expireTime: NullableString,
});
const DateTime = Type.String({ maxLength: 32, description: 'yyyy-MM-dd HH:mm:ss' });
export const CloneListQuery = Type.Composite([PageQuery, Type.Object({
  sex: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
  status: Type.Optional(Type.Integer({ minimum: 0, maximum: 4 })),
  expireStartTime: Type.Optional(DateTime),
  expireEndTime: Type.Optional(DateTime),
})]);
export const SpeakerParam = Type.Object({ speakerId: Type.String({ minLength: 1, maxLength: 64 }) });

export const AuthorizeSceneBody = Type.Object({
  sceneId: Type.Union([Type.Integer({ minimum: -MAX_ID, maximum: MAX_ID }), Type.String({ pattern: '^-?[0-9]{1,15}$' })]),
  authorizeUrl: Url(),
  authorizeText: Type.String({ minLength: 1, maxLength: 1000 }),
});
export const AuthorizeSpeakerBody = Type.Object({
  speakerId: Type.String({ minLength: 1, maxLength: 64 }),
  authorizeUrl: Url(),
  authorizeText: Type.String({ minLength: 1, maxLength: 1000 }),
});

export const VideoCreateBody = Type.Object({
  videoName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  sceneId: Type.Union([Type.Integer({ minimum: -MAX_ID, maximum: MAX_ID }), Type.String({ maxLength: 20 })], { description: 'Scene ID: a public avatar or one of your trainings; number or string' }),
  audioUrl: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()], { description: 'Speech audio; wins over text' })),
  text: Type.Optional(Type.Union([Type.String({ maxLength: MAX_TEXT }), Type.Null()])),
  speakerId: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Null()])),
  pn: Type.Optional(Type.Union([Int32(), Type.Null()], { description: 'Loop direction when the speech is longer than the clip: 0 forward (restart), 1 reverse (ping-pong). Default 1.' })),
  callbackUrl: Type.Optional(NullableUrl),
});
const OutputNumber = (description: string) => Type.Optional(Type.Union([Int32(), Type.String({ maxLength: 20 }), Type.Null()], { description }));
/** The cloud's full create: simpleCreate's fields and the output's. Each output field is honoured or refused with a reason naming it. */
export const VideoCreateFullBody = Type.Composite([VideoCreateBody, Type.Object({
  backgroundUrl: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()], { description: 'A picture (JPEG, PNG) behind the avatar, scaled to cover the frame: built-in avatars, or avatars trained with greenScreen (keyed out)' })),
  width: OutputNumber('Output width in pixels, even, 64 to 4096; alone, the height keeps the avatar\'s proportions'),
  height: OutputNumber('Output height in pixels, even, 64 to 4096'),
  fps: OutputNumber('Frames per second, 1 to 60'),
  bitRate: OutputNumber('Video bit rate in bits per second, 100000 to 50000000; empty: constant quality'),
  videoFormat: Type.Optional(Type.Union([Type.String({ maxLength: 20 }), Type.Null()], { description: 'mp4 (H.264 + AAC, the default) or webm (VP9 + Opus)' })),
  pixFmt: Type.Optional(Type.Union([Type.String({ maxLength: 20 }), Type.Null()], { description: 'yuv420p (the only pixel format produced)' })),
  mask: Type.Optional(Type.Unknown({ description: 'Not supported: refused unless empty, false or 0' })),
  matting: Type.Optional(Type.Unknown({ description: 'Not supported: refused unless empty, false or 0 (use greenScreen avatars with backgroundUrl)' })),
})]);
export const VideoCreated = Type.Object({ videoId: Type.Integer() });
export const VideoRecord = Type.Object({
  id: Type.Integer(),
  videoName: NullableString,
  videoFormat: Type.String(),
  synthesisStatus: Type.Integer({ description: statusDoc('video') }),
  videoUrl: NullableString,
  srtUrl: NullableString,
  duration: NullableString,
  durationMs: NullableString,
  coverUrl: NullableString,
  createTime: Type.String(),
  updateTime: Type.String(),
  failReason: NullableString,
  progress: Type.Integer({ minimum: 0, maximum: 100, description: 'dhp addition: how far the synthesis is, 0 to 100; 100 once it succeeded' }),
});

/** What /openapi/file/upload answers (a dhp extension). */
export const UploadRecord = Type.Object({
  url: Type.String({ description: 'Use as videoUrl, audioUrl or authorizeUrl; only the uploading app can use it there' }),
  kind: Type.Union([Type.Literal('video'), Type.Literal('audio'), Type.Literal('image')]),
  format: Type.String({ description: 'Container as ffprobe names it' }),
  size: Type.Integer({ description: 'Bytes' }),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
});
