import { openAsBlob, statSync } from 'node:fs';
import path from 'node:path';
import { DhpClient, DhpError } from '../client/index.js';
import { CliError, EXIT, parseArgs, stringFlag, UsageError, type Parsed } from './args.js';
import { duration, table } from './format.js';
import { loadCredentials, removeCredentials, saveCredentials } from './profile.js';
import { ask, askSecret } from './prompt.js';
import { checkOutputs, finish, holdInterrupts, kindOf, KINDS, resumeCommand, statusName, taskId, type Kind } from './tasks.js';

export type ClientCommandName = 'login' | 'logout' | 'account' | 'avatars' | 'voices' | 'tts' | 'voice' | 'avatar' | 'video' | 'wait';

/** The API user's commands: they talk to a dhp (or the cloud platform) over HTTP with the SDK. */
export async function clientCommand(cmd: ClientCommandName, args: string[]): Promise<number> {
  try {
    switch (cmd) {
      case 'login': return await login(args);
      case 'logout': return logout(args);
      case 'account': return await account(args);
      case 'avatars': return await avatars(args);
      case 'voices': return await voices(args);
      case 'tts': return await ttsCommand(args);
      case 'voice': return await sub(args, 'voice', { clone: voiceClone });
      case 'avatar': return await sub(args, 'avatar', { train: avatarTrain });
      case 'video': return await sub(args, 'video', { create: videoCreate, cancel: videoCancel });
      case 'wait': return await waitCommand(args);
    }
  } catch (err) {
    if (!(err instanceof DhpError)) throw err;
    if (refusedCredentials(err)) {
      throw new CliError(`the server refuses the credentials: ${err.message}\nRun "dhp login" again (or fix DHP_APP_ID / DHP_SECRET).`, EXIT.credentials);
    }
    const codes = err.apiCode && err.apiCode !== err.code ? `${err.code} ${err.apiCode}` : err.code;
    throw new CliError(`${err.message} (${codes}${err.status ? `, HTTP ${err.status}` : ''})`, EXIT.failed);
  }
}

/** The token endpoint refused the appId or secret (dhp says SIGNATURE_INVALID; any platform answers 401). */
function refusedCredentials(err: DhpError): boolean {
  return err.code === 'SIGNATURE_INVALID' || err.status === 401;
}

function sub(args: string[], cmd: string, subs: Record<string, (args: string[]) => Promise<number>>): Promise<number> {
  const [name, ...rest] = args;
  const fn = name === undefined ? undefined : subs[name];
  if (!fn) throw new UsageError(`${name ? `unknown ${cmd} command "${name}"` : `${cmd} needs a command`}: ${Object.keys(subs).join(' or ')}`);
  return fn(rest);
}

/** Exactly `n` positional arguments, named in the message when they are not. */
function positionals(p: Parsed, usage: string, n: number): string[] {
  if (p.positional.length !== n) throw new UsageError(`usage: dhp ${usage}`);
  return p.positional;
}

function required(p: Parsed, flag: string, what: string): string {
  const v = stringFlag(p, flag);
  if (v === undefined || v.trim() === '') throw new UsageError(`${what} needs --${flag}`);
  return v;
}

function print(json: boolean, data: unknown, text: () => string): number {
  process.stdout.write(json ? `${JSON.stringify(data)}\n` : text());
  return EXIT.ok;
}

const connect = () => new DhpClient(loadCredentials());

// ---------------------------------------------------------------- login

async function login(args: string[]): Promise<number> {
  const p = parseArgs(args, { 'base-url': 'string', 'app-id': 'string', secret: 'string' });
  positionals(p, 'login [--base-url URL] [--app-id ID] [--secret S]', 0);
  const tty = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  // A flag, else its environment variable (keeps the secret out of `ps` and shell history), else ask.
  const envOf: Record<string, string> = { 'base-url': 'DHP_BASE_URL', 'app-id': 'DHP_APP_ID', secret: 'DHP_SECRET' };
  const value = async (flag: string, question: string, opts: { secret?: boolean; fallback?: string } = {}) => {
    const given = stringFlag(p, flag) ?? process.env[envOf[flag]];
    if (given !== undefined && given !== '') return given.trim();
    if (!tty) throw new UsageError(`login needs --${flag} or ${envOf[flag]} (not a terminal, so it cannot ask)`);
    return opts.secret ? askSecret(question) : ask(question, opts.fallback);
  };
  const baseUrl = (await value('base-url', 'Base URL', { fallback: 'http://127.0.0.1:8080' })).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/i.test(baseUrl)) throw new UsageError(`--base-url must be an http(s) URL, got "${baseUrl}"`);
  const appId = await value('app-id', 'App ID');
  if (!appId) throw new UsageError('--app-id must not be empty');
  const secret = await value('secret', 'Secret', { secret: true });
  if (!secret) throw new UsageError('--secret must not be empty');
  try {
    await new DhpClient({ baseUrl, appId, secret, maxRetries: 1 }).getToken();
  } catch (err) {
    if (err instanceof DhpError) throw new CliError(`login failed: ${err.message}`, refusedCredentials(err) ? EXIT.credentials : EXIT.failed);
    throw err;
  }
  const file = saveCredentials({ baseUrl, appId, secret });
  process.stdout.write(`Logged in to ${baseUrl} as app ${appId}; saved to ${file}\n`);
  return EXIT.ok;
}

function logout(args: string[]): number {
  positionals(parseArgs(args, {}), 'logout', 0);
  process.stdout.write(removeCredentials() ? 'Logged out: the saved credentials are removed.\n' : 'Not logged in; nothing to remove.\n');
  return EXIT.ok;
}

// ---------------------------------------------------------------- account and catalogs

async function account(args: string[]): Promise<number> {
  const p = parseArgs(args, { json: 'boolean' });
  positionals(p, 'account [--json]', 0);
  const a = await connect().account.get();
  const q = a.account;
  const n = (v: number) => v.toLocaleString('en-US');
  return print(Boolean(p.flags.json), a, () => `user ${a.user.id}, corp ${a.user.corpId}\n\n${table([
    ['QUOTA', 'REMAINING', 'TOTAL'],
    ['TTS characters', n(q.ttsWordsAmount), n(q.totalTtsWordsAmount)],
    ['video duration', duration(q.fastDuration), duration(q.totalFastDuration)],
    ['avatar trainings', n(q.fastTrainingAmount), n(q.totalFastTrainingAmount)],
    ['voice clones', n(q.voiceCloneAmount), n(q.totalVoiceCloneAmount)],
  ])}`);
}

async function all<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of pages) out.push(r);
  return out;
}

async function avatars(args: string[]): Promise<number> {
  const p = parseArgs(args, { mine: 'boolean', json: 'boolean' });
  positionals(p, 'avatars [--mine] [--json]', 0);
  const client = connect();
  const json = Boolean(p.flags.json);
  if (p.flags.mine) {
    const list = await all(client.trainings.list({ size: 100 }));
    return print(json, list, () => (list.length ? table([
      ['SCENE', 'TRAINING', 'STATUS', 'NAME', 'RESOLUTION', 'CREATED'],
      ...list.map((t) => [t.sceneId === null ? '-' : String(t.sceneId), String(t.id), statusName('training', t.status), t.title, t.resolution ?? '-', t.createTime]),
    ]) : 'No avatar trainings yet: dhp avatar train --video FILE --consent FILE --consent-text "..."\n'));
  }
  const list = await all(client.avatars.listPublic({ size: 100 }));
  return print(json, list, () => table([['SCENE', 'NAME', 'RESOLUTION'], ...list.map((a) => [String(a.id), a.sceneName, a.resolution])]));
}

const sexName = (s: number | null) => (s === 1 ? 'male' : s === 2 ? 'female' : '-');

async function voices(args: string[]): Promise<number> {
  const p = parseArgs(args, { mine: 'boolean', json: 'boolean' });
  positionals(p, 'voices [--mine] [--json]', 0);
  const client = connect();
  const json = Boolean(p.flags.json);
  if (p.flags.mine) {
    const list = await all(client.voices.listClones({ size: 100 }));
    return print(json, list, () => (list.length ? table([
      ['VOICE', 'NAME', 'SEX', 'STATUS', 'EXPIRES'],
      ...list.map((v) => [v.speakerId, v.ttsName, sexName(v.sex), statusName('voice', v.status), v.expireTime ?? '-']),
    ]) : 'No cloned voices yet: dhp voice clone --audio FILE --consent FILE --consent-text "..."\n'));
  }
  const list = await all(client.voices.listPublic({ size: 100 }));
  return print(json, list, () => table([
    ['VOICE', 'NAME', 'SEX', 'LANGUAGES', 'FEATURES'],
    ...list.map((v) => [v.speakerId, v.ttsName, sexName(v.sex), v.languages.join(','), v.ttsFeatures]),
  ]));
}

// ---------------------------------------------------------------- media inputs

/** A media option: an http(s) URL is passed on; anything else is a local file, uploaded first. */
interface Media { flag: string; value: string; file?: string }

function media(p: Parsed, flag: string, what: string): Media {
  const value = required(p, flag, what);
  if (/^https?:\/\//i.test(value)) return { flag, value };
  const file = path.resolve(value);
  let isFile = false;
  try { isFile = statSync(file).isFile(); } catch { /* reported below */ }
  if (!isFile) throw new UsageError(`--${flag}: no such file: ${value}`);
  return { flag, value, file };
}

async function mediaUrl(client: DhpClient, m: Media): Promise<string> {
  if (!m.file) return m.value;
  process.stderr.write(`uploading ${m.value} (${(statSync(m.file).size / 1e6).toFixed(1)} MB)\n`);
  return (await client.files.upload(await openAsBlob(m.file), path.basename(m.file))).url;
}

/** A default task name from a file or URL: its base name without the extension. */
function nameOf(m: Media): string {
  const p = m.file ?? new URL(m.value).pathname;
  return path.basename(p, path.extname(p)) || m.flag;
}

// ---------------------------------------------------------------- tasks

/**
 * Creates a task (uploads included) with Ctrl-C held, then waits for it (the default) or, with
 * --no-wait, prints the API's answer and how to wait later. Ctrl-C during the creation lets the
 * request finish, names the task and says how to resume.
 */
async function create(kind: Kind, p: Parsed, make: (client: DhpClient) => Promise<{ id: string; created: unknown }>): Promise<number> {
  const hold = holdInterrupts();
  try {
    const client = connect();
    const { id, created } = await make(client);
    const json = Boolean(p.flags.json);
    const announce = `${KINDS[kind].noun} ${id} created\n`;
    const outputs = { output: stringFlag(p, 'output'), srt: stringFlag(p, 'srt') };
    if (hold.interrupted()) {
      process.stderr.write(`${announce}Not waiting for it; the task keeps running. Resume with: ${resumeCommand(kind, id, outputs)}\n`);
      return EXIT.interrupted;
    }
    if (p.flags['no-wait']) {
      process.stderr.write(announce);
      return print(json, created, () => `wait for it with: dhp wait ${kind} ${id}\n`);
    }
    // finish() takes Ctrl-C over before its first await; only then is the hold released.
    const waiting = finish(client, kind, id, { json, ...outputs, announce });
    hold.release();
    return await waiting;
  } finally {
    hold.release();
  }
}

function noWaitWithOutputs(p: Parsed) {
  if (p.flags['no-wait'] && (p.flags.output || p.flags.srt)) throw new UsageError('-o/--srt download results, so they need waiting: drop --no-wait (or use "dhp wait" later)');
}

async function ttsCommand(args: string[]): Promise<number> {
  const p = parseArgs(args, { voice: 'string', output: 'string', srt: 'string', 'no-wait': 'boolean', json: 'boolean' });
  const [text] = positionals(p, 'tts "TEXT" --voice ID [-o out.wav] [--srt out.srt] [--no-wait] [--json]', 1);
  const voice = required(p, 'voice', 'tts');
  noWaitWithOutputs(p);
  checkOutputs('tts', { output: stringFlag(p, 'output'), srt: stringFlag(p, 'srt') });
  return create('tts', p, async (client) => {
    const created = await client.tts.create({ speakerId: voice, content: text });
    return { id: String(created.id), created };
  });
}

const consentFlags = { consent: 'string', 'consent-text': 'string', name: 'string', 'no-wait': 'boolean', json: 'boolean' } as const;

async function voiceClone(args: string[]): Promise<number> {
  const p = parseArgs(args, { ...consentFlags, audio: 'string', sex: 'string' });
  positionals(p, 'voice clone --audio FILE|URL --consent FILE|URL --consent-text "..." [--name N] [--sex male|female]', 0);
  const audio = media(p, 'audio', 'voice clone');
  const consent = media(p, 'consent', 'voice clone');
  const authorizeText = required(p, 'consent-text', 'voice clone');
  const sexFlag = stringFlag(p, 'sex');
  if (sexFlag !== undefined && sexFlag !== 'male' && sexFlag !== 'female') throw new UsageError(`--sex must be male or female, got "${sexFlag}"`);
  return create('voice', p, async (client) => {
    const cloned = await client.voices.clone({
      name: stringFlag(p, 'name') ?? nameOf(audio), audioUrl: await mediaUrl(client, audio), authorizeUrl: await mediaUrl(client, consent), authorizeText,
      sex: sexFlag === undefined ? undefined : sexFlag === 'male' ? 1 : 2,
    });
    return { id: cloned.speakerId, created: cloned };
  });
}

async function avatarTrain(args: string[]): Promise<number> {
  const p = parseArgs(args, { ...consentFlags, video: 'string', compress: 'boolean' });
  positionals(p, 'avatar train --video FILE|URL --consent FILE|URL --consent-text "..." [--name N] [--compress]', 0);
  const videoIn = media(p, 'video', 'avatar train');
  const consent = media(p, 'consent', 'avatar train');
  const authorizeText = required(p, 'consent-text', 'avatar train');
  return create('training', p, async (client) => {
    const created = await client.trainings.create({
      name: stringFlag(p, 'name') ?? nameOf(videoIn), videoUrl: await mediaUrl(client, videoIn), authorizeUrl: await mediaUrl(client, consent), authorizeText,
      level: 1, compress: p.flags.compress ? true : undefined,
    });
    return { id: String(created.trainingId), created };
  });
}

async function videoCreate(args: string[]): Promise<number> {
  const p = parseArgs(args, {
    avatar: 'string', text: 'string', voice: 'string', audio: 'string', name: 'string', pn: 'string', output: 'string', 'no-wait': 'boolean', json: 'boolean',
  });
  positionals(p, 'video create --avatar ID (--text "..." --voice ID | --audio FILE|URL) [--name N] [--pn 0|1] [-o out.mp4]', 0);
  const sceneId = required(p, 'avatar', 'video create');
  if (!/^-?\d{1,15}$/.test(sceneId)) throw new UsageError(`--avatar is a scene id (see "dhp avatars"), got "${sceneId}"`);
  const pn = stringFlag(p, 'pn');
  if (pn !== undefined && pn !== '0' && pn !== '1') throw new UsageError(`--pn must be 0 or 1, got "${pn}"`);
  const byText = stringFlag(p, 'text') !== undefined;
  if (byText === (stringFlag(p, 'audio') !== undefined)) throw new UsageError('video create needs either --text "..." with --voice ID, or --audio FILE|URL');
  if (!byText && stringFlag(p, 'voice') !== undefined) throw new UsageError('--voice goes with --text; --audio is already speech');
  const speech = byText ? { text: required(p, 'text', 'video create'), speakerId: required(p, 'voice', 'video create --text') } : undefined;
  const audio = byText ? undefined : media(p, 'audio', 'video create');
  noWaitWithOutputs(p);
  checkOutputs('video', { output: stringFlag(p, 'output') });
  return create('video', p, async (client) => {
    const created = await client.videos.create({
      sceneId: Number(sceneId), videoName: stringFlag(p, 'name'), pn: pn === undefined ? undefined : Number(pn),
      ...(speech ?? { audioUrl: await mediaUrl(client, audio!) }),
    });
    return { id: String(created.videoId), created };
  });
}

async function videoCancel(args: string[]): Promise<number> {
  const p = parseArgs(args, { json: 'boolean' });
  const [id] = positionals(p, 'video cancel ID [--json]', 1);
  const v = await connect().videos.cancel(taskId('video', id));
  return print(Boolean(p.flags.json), v, () => `video ${v.id}: ${statusName('video', v.synthesisStatus)}\n`);
}

async function waitCommand(args: string[]): Promise<number> {
  const p = parseArgs(args, { output: 'string', srt: 'string', json: 'boolean' });
  const [word, rawId] = positionals(p, 'wait tts|voice|training|video ID [-o FILE] [--srt FILE] [--json]', 2);
  const kind = kindOf(word);
  if (!kind) throw new UsageError(`wait: the kind is tts, voice, training (or avatar) or video, got "${word}"`);
  const id = taskId(kind, rawId);
  const outputs = { output: stringFlag(p, 'output'), srt: stringFlag(p, 'srt') };
  checkOutputs(kind, outputs);
  return finish(connect(), kind, id, { json: Boolean(p.flags.json), ...outputs });
}
