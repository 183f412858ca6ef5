import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeDir, startDhp, waitFor, type Harness } from '../support/helpers.js';
import { AVATAR_CONSENT, CONSENT_VOICE, faceVideo, ffmpeg, ffmpegBin, greenScreenVideo, probeFile, serveFolder, Speech } from '../support/fixtures.js';
import { signature } from '../../src/services/auth.js';
import { errorTable } from '../../src/domain/errors.js';

/**
 * Clients written for the cloud platform, used as they are: only the v2 paths, and errors
 * tested the PHP way, `if ($result['code'] != 0)`, over real HTTP.
 */

/**
 * PHP 7's `$code != 0` for what json_decode gives: a numeric string compares as a number; any
 * other string is converted to 0, so "UNAUTHORIZED" != 0 is false (and reads as success).
 */
function phpNotZero(code: unknown): boolean {
  if (typeof code === 'number') return code !== 0;
  if (typeof code === 'string') {
    const numeric = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(code);
    return numeric ? Number(code) !== 0 : Number.parseFloat(code.trim()) ? true : false;
  }
  return Boolean(code);
}

/** A port of the PHP service class: one request method, `code != 0` means failure. */
class PhpStyleClient {
  token = '';
  constructor(readonly base: string, readonly appId: string, readonly secret: string) {}

  async login(): Promise<void> {
    const ts = Date.now();
    const r = await this.get(`/openapi/oauth/token?grant_type=sign&appId=${this.appId}&timestamp=${ts}&sign=${signature(this.appId, ts, this.secret)}`);
    if (phpNotZero(r.code)) throw new Error(`login failed: ${r.message}`);
    this.token = r.data.access_token;
  }

  async get(p: string): Promise<any> {
    return (await fetch(this.base + p)).json();
  }

  /** Answers data, or throws the message as the PHP class does when code != 0. */
  async post(p: string, body: unknown): Promise<any> {
    const r = await this.postRaw(p, body);
    if (phpNotZero(r.code)) throw new Error(r.message);
    return r.data;
  }

  async postRaw(p: string, body: unknown): Promise<any> {
    const res = await fetch(`${this.base}${p}?access_token=${this.token}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return res.json();
  }

  async detail(p: string): Promise<any> {
    const r = await this.get(`${p}?access_token=${this.token}`);
    if (phpNotZero(r.code)) throw new Error(r.message);
    return r.data;
  }

  waitTraining(id: number) {
    return waitFor(`training ${id}`, async () => {
      const d = await this.detail(`/openapi/video/v2/training/get/${id}`);
      return d.status >= 2 ? d : null;
    }, 180_000);
  }

  waitVideo(id: number) {
    return waitFor(`video ${id}`, async () => {
      const d = await this.detail(`/openapi/video/v2/get/${id}`);
      return d.synthesisStatus >= 3 ? d : null;
    }, 180_000);
  }
}

const media = mkdtempSync(path.join(tmpdir(), 'dhp-cloud-media-'));
let files: Awaited<ReturnType<typeof serveFolder>>;
let strict: Harness;
let relaxed: Harness;

before(async () => {
  const speech = new Speech();
  try {
    faceVideo(path.join(media, 'face.mp4'), 6);
    greenScreenVideo(path.join(media, 'green.mp4'), 6);
    await speech.consent(path.join(media, 'consent.wav'), AVATAR_CONSENT, CONSENT_VOICE, path.join(media, 'consent.mp4'));
    await speech.wav(path.join(media, 'speech.wav'), 'Hello from a client of the cloud platform.', 'en-us+f3');
  } finally {
    await speech.close();
  }
  // Left half blue, right half orange: a picture, not a colour, so its placement shows.
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=0x1040d0:s=400x600', '-f', 'lavfi', '-i', 'color=c=0xf08020:s=400x600',
    '-filter_complex', '[0:v][1:v]hstack', '-frames:v', '1', path.join(media, 'background.png')]);
  files = await serveFolder(media);
  strict = await startDhp();
  // These tests are about the output fields; lip-sync has its own tests, and analysing two
  // more training clips for a mouth bank would only lengthen the suite.
  relaxed = await startDhp({ consentRequired: false, lipsync: 'off' });
});

after(async () => {
  await files?.close();
  for (const h of [strict, relaxed]) if (h) { await h.close(); removeDir(h.dir); }
  removeDir(media);
});

async function phpClient(h: Harness, name: string): Promise<PhpStyleClient> {
  const a = await h.app.services.apps.create({ name, quota: { fast_training: 10, fast_duration: 30 * 60_000 } });
  const c = new PhpStyleClient(h.base, a.appId, a.secret);
  await c.login();
  return c;
}

function ffprobe(file: string) {
  return probeFile(file);
}

async function saved(url: string, name: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  const file = path.join(media, name);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** The RGB of pixel (x, y) of the frame at `seconds` (0 for a picture). */
function pixel(file: string, seconds: number, x: number, y: number): [number, number, number] {
  // No -ss for a still: seeking in a JPEG yields no frame.
  const raw = execFileSync(ffmpegBin, ['-v', 'error', ...(seconds ? ['-ss', String(seconds)] : []), '-i', file, '-frames:v', '1', '-vf', `format=rgb24,crop=1:1:${x}:${y}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  return [raw[0], raw[1], raw[2]];
}

const near = (got: number[], want: number[], tolerance = 40) => got.every((v, i) => Math.abs(v - want[i]) <= tolerance);
const BLUE = [0x10, 0x40, 0xd0];
const ORANGE = [0xf0, 0x80, 0x20];

describe('error codes', () => {
  test('one table: every code is numeric, not "0", unique, and starts with its HTTP status', () => {
    const codes = Object.values(errorTable).map((e) => e.code);
    assert.equal(new Set(codes).size, codes.length);
    for (const [name, e] of Object.entries(errorTable)) {
      assert.match(e.code, /^[1-9]\d{4}$/, name);
      assert.ok(phpNotZero(e.code), `${name}: PHP reads ${e.code} != 0`);
      assert.equal(e.code.slice(0, 3), String(e.status), name);
    }
    // The emulation itself: a symbolic code reads as success in PHP 7, which is why codes are numeric.
    assert.equal(phpNotZero('UNAUTHORIZED'), false);
    assert.equal(phpNotZero('0'), false);
  });

  test('docs/errors.md lists exactly the table', () => {
    const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\d+)` \| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[2], m[1], Number(m[3])]);
    assert.deepEqual(rows.sort(), Object.entries(errorTable).map(([name, e]) => [name, e.code, e.status]).sort());
  });

  test('errors carry a numeric code, the name as error, and their usual HTTP status', async () => {
    const c = await phpClient(strict, 'codes');
    const missing = await fetch(`${strict.base}/openapi/user/v2/get`);
    assert.equal(missing.status, 401);
    const body = await missing.json();
    assert.deepEqual(body, { code: '40101', success: false, message: body.message, data: null, error: 'UNAUTHORIZED' });
    assert.ok(phpNotZero(body.code));

    const nowhere = await c.postRaw('/openapi/video/v2/nowhere', {});
    assert.equal(nowhere.code, '40401');
    assert.equal(nowhere.error, 'NOT_FOUND');
    const bad = await c.postRaw('/openapi/robot/v2/freeListPage', { page: 0, size: 10 });
    assert.equal(bad.code, '40001');
    assert.match(bad.message, /^page must be at least 1/);
    const ok = await c.postRaw('/openapi/robot/v2/freeListPage', { page: 1, size: 10 });
    assert.equal(ok.code, '0');
    assert.equal(phpNotZero(ok.code), false);
  });

  test('an expired token is 401 with its own code (40102 TOKEN_EXPIRED), distinct from an unknown one (40101)', async () => {
    const c = await phpClient(strict, 'expiry');
    const unknown = await fetch(`${strict.base}/openapi/user/v2/get?access_token=00000000-0000-4000-8000-000000000000`);
    assert.equal(unknown.status, 401);
    assert.equal((await unknown.json()).code, '40101');

    const hash = createHash('sha256').update(c.token).digest('hex');
    await strict.app.services.db.updateTable('tokens').set({ expires_at: Date.now() - 1 }).where('token_hash', '=', hash).execute();
    const res = await fetch(`${strict.base}/openapi/user/v2/get?access_token=${c.token}`);
    assert.equal(res.status, 401);
    const body = await res.json();
    assert.equal(body.code, '40102');
    assert.equal(body.error, 'TOKEN_EXPIRED');
    assert.equal(body.success, false);
    assert.match(body.message, /expired/);
    assert.ok(phpNotZero(body.code), 'the PHP check sees the expiry as an error');
  });
});

test('/docs documents every v2 path as what the cloud serves', async () => {
  const doc = await (await fetch(`${strict.base}/openapi.json`)).json();
  for (const p of ['/openapi/robot/v2/freeListPage', '/openapi/video/v2/simpleCreate', '/openapi/video/v2/create/training', '/openapi/video/v2/create']) {
    assert.match(doc.paths[p]?.post?.summary ?? '', /what the cloud serves/, p);
  }
  const full = doc.paths['/openapi/video/v2/create'].post.requestBody.content['application/json'].schema.properties;
  for (const f of ['backgroundUrl', 'width', 'height', 'fps', 'bitRate', 'videoFormat', 'mask', 'matting', 'pixFmt', 'sceneId']) assert.ok(f in full, f);
});

describe('a client that knows only the v2 paths', () => {
  test('lists avatars, trains without consent, authorizes, and makes videos (consent required)', async () => {
    const c = await phpClient(strict, 'php-app');
    const avatars = await c.post('/openapi/robot/v2/freeListPage', { page: 1, size: 10 });
    const same = await c.post('/openapi/robot/v2/fastPublicPageList', { page: 1, size: 10 });
    assert.deepEqual(avatars, same, 'freeListPage is the public avatar list');
    assert.ok(avatars.records.length >= 3);
    const builtin = avatars.records[0].id;

    // A video of a built-in avatar through the v2 path.
    const { videoId } = await c.post('/openapi/video/v2/simpleCreate', { sceneId: builtin, text: 'Hello from version two.', speakerId: 'en-us-female' });
    const v = await c.waitVideo(videoId);
    assert.equal(v.synthesisStatus, 3, v.failReason);
    assert.equal(ffprobe(await saved(v.videoUrl, 'v2-builtin.mp4')).streams.find((s: any) => s.codec_type === 'video').width, 720);
    const listed = await c.post('/openapi/video/v2/pageList', { page: 1, size: 10 });
    assert.deepEqual(listed.records.map((r: any) => r.id), [videoId], 'the alias makes the same records');

    // The v2 training body: no consent fields.
    const { trainingId } = await c.post('/openapi/video/v2/create/training', {
      name: 'jane', videoUrl: files.url('face.mp4'), callbackUrl: '', level: 1, greenScreen: false,
    });
    const t = await c.waitTraining(trainingId);
    assert.equal(t.status, 2, t.comment);
    assert.equal(t.authorizeStatus, 0);
    assert.match(t.comment, /without a consent recording.*cannot be used in videos until consent is verified .*\/openapi\/video\/v3\/authorize/);
    const review = await strict.app.services.consent.records.list({ state: 'review' });
    assert.ok(review.some((r) => r.subject === 'training' && r.subject_id === trainingId), 'the operator sees it in dhp consent list --state review');

    // Unusable until consent is settled, and the PHP check sees the refusal.
    const refused = await c.postRaw('/openapi/video/v2/simpleCreate', { sceneId: t.sceneId, audioUrl: files.url('speech.wav') });
    assert.equal(refused.code, '40001');
    assert.ok(phpNotZero(refused.code));
    assert.match(refused.message, /consent/);
    await assert.rejects(c.post('/openapi/video/v2/simpleCreate', { sceneId: t.sceneId, audioUrl: files.url('speech.wav') }), /consent/);

    assert.equal(await c.post('/openapi/video/v3/authorize', { sceneId: t.sceneId, authorizeUrl: files.url('consent.mp4'), authorizeText: AVATAR_CONSENT }), true);
    await waitFor('authorizeStatus 1', async () => (await c.detail(`/openapi/video/v2/training/get/${trainingId}`)).authorizeStatus === 1, 120_000);

    const made = await c.post('/openapi/video/v2/simpleCreate', { sceneId: String(t.sceneId), audioUrl: files.url('speech.wav') });
    const trained = await c.waitVideo(made.videoId);
    assert.equal(trained.synthesisStatus, 3, trained.failReason);
    const p = ffprobe(await saved(trained.videoUrl, 'v2-trained.mp4'));
    assert.equal(`${p.streams[0].width}x${p.streams[0].height}`, '360x640');
  });

  test('an operator can settle the consent of a v2 training', async () => {
    const c = await phpClient(strict, 'php-operator');
    const { trainingId } = await c.post('/openapi/video/v2/create/training', { name: 'op', videoUrl: files.url('face.mp4'), level: 1 });
    const t = await c.waitTraining(trainingId);
    assert.equal(t.status, 2, t.comment);
    const pending = (await strict.app.services.consent.records.list({ state: 'review' })).find((r) => r.subject_id === trainingId && r.subject === 'training');
    assert.ok(pending);
    await strict.app.services.consent.records.decide(pending.id, true);
    assert.equal((await c.detail(`/openapi/video/v2/training/get/${trainingId}`)).authorizeStatus, 1);
  });

  test('v2 training bodies are checked: half a consent, a bad greenScreen', async () => {
    const c = await phpClient(strict, 'php-bad');
    const half = await c.postRaw('/openapi/video/v2/create/training', { name: 'x', videoUrl: files.url('face.mp4'), level: 1, authorizeText: AVATAR_CONSENT });
    assert.equal(half.code, '40001');
    assert.match(half.message, /^authorizeUrl is required with authorizeText/);
    const green = await c.postRaw('/openapi/video/v2/create/training', { name: 'x', videoUrl: files.url('face.mp4'), level: 1, greenScreen: 'yes' });
    assert.equal(green.code, '40001');
    assert.match(green.message, /^greenScreen/);
  });
});

describe('the full create (POST /openapi/video/v2/create), consent not required', () => {
  let c: PhpStyleClient;
  let plainScene = 0;
  let greenScene = 0;

  before(async () => {
    c = await phpClient(relaxed, 'full-create');
    const plain = await c.post('/openapi/video/v2/create/training', { name: 'plain', videoUrl: files.url('face.mp4'), level: 1 });
    const green = await c.post('/openapi/video/v2/create/training', { name: 'green', videoUrl: files.url('green.mp4'), level: 1, greenScreen: true });
    const [p, g] = [await c.waitTraining(plain.trainingId), await c.waitTraining(green.trainingId)];
    assert.equal(p.status, 2, p.comment);
    assert.equal(g.status, 2, g.comment);
    assert.equal(p.authorizeStatus, 0);
    assert.match(p.comment, /does not require consent \(DHP_CONSENT_REQUIRED=false\), so the avatar is usable now/);
    plainScene = p.sceneId;
    greenScene = g.sceneId;
  });

  test('a built-in avatar at another size, frame rate and bit rate, over a background picture', async () => {
    const { videoId } = await c.post('/openapi/video/v2/create', {
      sceneId: -101, text: 'A new background and size.', speakerId: 'en-us-female',
      backgroundUrl: files.url('background.png'), width: 480, height: 640, fps: 30, bitRate: 800_000, videoFormat: 'mp4', pixFmt: 'yuv420p',
      mask: null, matting: false,
    });
    const v = await c.waitVideo(videoId);
    assert.equal(v.synthesisStatus, 3, v.failReason);
    assert.equal(v.videoFormat, 'mp4');
    const file = await saved(v.videoUrl, 'builtin-bg.mp4');
    const p = ffprobe(file);
    const video = p.streams.find((s: any) => s.codec_type === 'video');
    assert.equal(`${video.width}x${video.height}`, '480x640');
    assert.equal(video.r_frame_rate, '30/1');
    assert.equal(video.pix_fmt, 'yuv420p');
    assert.ok(Number(video.bit_rate) < 1_600_000, `bit rate ${video.bit_rate} follows the 800 kbit/s asked`);
    // The picture is behind the character: blue top left, orange top right.
    assert.ok(near(pixel(file, 0.5, 4, 4), BLUE), `top left ${pixel(file, 0.5, 4, 4)}`);
    assert.ok(near(pixel(file, 0.5, 475, 4), ORANGE), `top right ${pixel(file, 0.5, 475, 4)}`);
    const cover = await saved(v.coverUrl, 'builtin-bg.jpg');
    assert.ok(near(pixel(cover, 0, 4, 4), BLUE), `the cover shows the background too: ${pixel(cover, 0, 4, 4)}`);
  });

  test('videoFormat webm is a WebM file (VP9 + Opus), and the record says webm', async () => {
    const { videoId } = await c.post('/openapi/video/v2/create', { sceneId: -102, text: 'In WebM.', speakerId: 'en-gb-male', videoFormat: 'WebM', width: 360 });
    const v = await c.waitVideo(videoId);
    assert.equal(v.synthesisStatus, 3, v.failReason);
    assert.equal(v.videoFormat, 'webm');
    assert.match(v.videoUrl, /\.webm$/);
    const res = await fetch(v.videoUrl);
    assert.equal(res.headers.get('content-type'), 'video/webm');
    const file = path.join(media, 'out.webm');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const p = ffprobe(file);
    assert.match(p.format.format_name, /webm/);
    const video = p.streams.find((s: any) => s.codec_type === 'video');
    assert.equal(video.codec_name, 'vp9');
    assert.equal(`${video.width}x${video.height}`, '360x640', 'width alone keeps the avatar\'s proportions');
    assert.equal(p.streams.find((s: any) => s.codec_type === 'audio').codec_name, 'opus');
    assert.ok(Number(p.format.duration) > 0.5);
  });

  test('an avatar trained with greenScreen gets the background keyed in behind it', async () => {
    const { videoId } = await c.post('/openapi/video/v2/create', {
      sceneId: greenScene, audioUrl: files.url('speech.wav'), backgroundUrl: files.url('background.png'), width: 720, height: 1280, fps: 25,
    });
    const v = await c.waitVideo(videoId);
    assert.equal(v.synthesisStatus, 3, v.failReason);
    const file = await saved(v.videoUrl, 'green-bg.mp4');
    const video = ffprobe(file).streams.find((s: any) => s.codec_type === 'video');
    assert.equal(`${video.width}x${video.height}`, '720x1280');
    assert.equal(video.r_frame_rate, '25/1');
    // The green is gone where the background shows; the person (the photo) is still there.
    assert.ok(near(pixel(file, 0.5, 8, 8), BLUE), `top left ${pixel(file, 0.5, 8, 8)}`);
    assert.ok(near(pixel(file, 0.5, 710, 8), ORANGE), `top right ${pixel(file, 0.5, 710, 8)}`);
    const face = pixel(file, 0.5, 330, 800);
    assert.ok(!near(face, BLUE) && !near(face, ORANGE) && !(face[1] > face[0] + 60 && face[1] > face[2] + 60), `the person stays: ${face}`);
  });

  test('a trained avatar at another size keeps its proportions on black, at the asked rate and bit rate', async () => {
    const { videoId } = await c.post('/openapi/video/v2/create', { sceneId: plainScene, audioUrl: files.url('speech.wav'), width: 640, height: 360, fps: 15, bitRate: '300000' });
    const v = await c.waitVideo(videoId);
    assert.equal(v.synthesisStatus, 3, v.failReason);
    const file = await saved(v.videoUrl, 'plain-resized.mp4');
    const p = ffprobe(file);
    const video = p.streams.find((s: any) => s.codec_type === 'video');
    assert.equal(`${video.width}x${video.height}`, '640x360');
    assert.equal(video.r_frame_rate, '15/1');
    assert.ok(Number(video.bit_rate) < 600_000, `bit rate ${video.bit_rate}`);
    assert.ok(pixel(file, 0.5, 4, 180).every((x) => x < 30), 'pillarboxed in black');
    const audio = p.streams.find((s: any) => s.codec_type === 'audio');
    assert.ok(Math.abs(Number(video.duration) - Number(audio.duration)) < 0.1, `${video.duration} s of picture for ${audio.duration} s of sound`);
  });

  test('what the compositor cannot do is refused with the field named, and nothing is created', async () => {
    const before = (await c.post('/openapi/video/v2/pageList', { page: 1, size: 1 })).totalRecord;
    const base = { sceneId: -102, text: 'Hi.', speakerId: 'en-us-female' };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ videoFormat: 'avi' }, /^videoFormat "avi" cannot be produced/],
      [{ pixFmt: 'yuva420p' }, /^pixFmt "yuva420p"/],
      [{ mask: 'https://example.com/mask.png' }, /^mask cannot be applied/],
      [{ matting: 1 }, /^matting cannot be done/],
      [{ width: 721, height: 1280 }, /^width must be an even number/],
      [{ fps: 120 }, /^fps must be a whole number/],
      [{ bitRate: 2000 }, /^bitRate is the video bit rate in bits per second.*send 2000000/],
      [{ width: 'wide' }, /^width must be a whole number/],
      [{ sceneId: plainScene, audioUrl: files.url('speech.wav'), text: null, backgroundUrl: files.url('background.png') }, /^backgroundUrl needs an avatar whose background can be replaced.*greenScreen/],
      [{ backgroundUrl: 'ftp://example.com/bg.png' }, /^backgroundUrl/],
    ];
    for (const [extra, message] of cases) {
      const r = await c.postRaw('/openapi/video/v2/create', { ...base, ...extra });
      assert.equal(r.code, '40001', JSON.stringify(r));
      assert.ok(phpNotZero(r.code));
      assert.match(r.message, message);
    }
    assert.equal((await c.post('/openapi/video/v2/pageList', { page: 1, size: 1 })).totalRecord, before);
  });

  test('a background that is not a picture ends the video with status 7 and says why', async () => {
    const { videoId } = await c.post('/openapi/video/v2/create', { sceneId: -103, audioUrl: files.url('speech.wav'), backgroundUrl: files.url('speech.wav') });
    const v = await c.waitVideo(videoId);
    assert.equal(v.synthesisStatus, 7);
    assert.match(v.failReason, /^backgroundUrl must be a picture/);
  });
});
