import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, download, removeDir, startDhp, waitFor, type Harness } from '../support/helpers.js';
import { AVATAR_CONSENT, CONSENT_VOICE, faceVideo, ffmpeg, probeFile, serveFolder, Speech } from '../support/fixtures.js';
import { storagePath } from '../support/storage-path.js';
import { HumanFaceDetector } from '../../src/engines/face/human.js';
import { EspeakEngine } from '../../src/engines/tts/espeak.js';
import { publicVoices } from '../../src/services/catalog.js';
import { composeVideo } from '../../src/media/compose.js';
import { measureOpenings, pearson } from '../../src/engines/lipsync/measure.js';
import { mouthFromAudio } from '../../src/engines/mouth/audio.js';
import { targetFromPhonemes } from '../../src/engines/mouth/target.js';
import { decodeWav } from '../../src/media/wav.js';
import { keptPt, type BankIndex } from '../../src/engines/lipsync/bank.js';
import { sceneFrames } from '../../src/engines/lipsync/embedded.js';
import { eyeDistance, LOWER_FACE } from '../../src/engines/lipsync/landmarks.js';
import { fullFromKept } from '../../src/engines/lipsync/bank.js';
import { decodeFrames } from '../../src/media/raw-video.js';
import { loadConfig } from '../../src/config/config.js';
import { locateMediaTools, type MediaTools } from '../../src/media/tools.js';

/**
 * Embedded lip-sync, end to end over HTTP: footage with real mouth motion is made by dhp itself
 * (a built-in avatar reading ~25 s of text), trained as an avatar, and asked to say other words.
 * The mouth opening on the output, measured with the face mesh, must follow the wanted track.
 */
const media = mkdtempSync(path.join(tmpdir(), 'dhp-lipsync-embedded-'));
const TRAINING_TEXT = 'Hello there. My name is Mira, and I like to talk about apples, oranges and blue moons. '
  + 'We saw a boat on the water, and the people on it waved at us. Open wide, then close the mouth, and smile at the camera.';
const NEW_TEXT = 'The weather is lovely today, so we will go outside and play by the river. I hope you enjoy this video about my favourite books.';
const VOICE = 'en-us-female';
/**
 * Lowest correlation accepted for the fallback warp on the photo of a real face. Measured
 * 2026-12-05 at 360x640 on NEW_TEXT (183 frames): r = 0.86 (plain loop -0.16); 0.80 in two runs
 * before the opened gap darkened below the teeth. The bound leaves the same room as the trained
 * avatar's (0.9 against 0.7) for espeak's small call-to-call differences and the mesh's noise.
 */
const PHOTO_MIN_R = 0.7;
let files: Awaited<ReturnType<typeof serveFolder>>;
let h: Harness;
let alice: Client;
let tools: MediaTools;
const detector = new HumanFaceDetector();
/** The avatar trained on the built-in avatar's speech, shared by the cases below. */
let speaking: { trainingId: number; sceneId: number; training: any };

before(async () => {
  tools = await locateMediaTools();
  const speech = new Speech();
  try {
    await speech.consent(path.join(media, 'consent.wav'), AVATAR_CONSENT, CONSENT_VOICE, path.join(media, 'consent.mp4'));
  } finally { await speech.close(); }
  faceVideo(path.join(media, 'still.mp4'), 6);
  // Two people in view: the same face twice, side by side.
  ffmpeg(['-i', path.join(media, 'still.mp4'), '-filter_complex', '[0:v]split[a][b];[a][b]hstack,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', path.join(media, 'two.mp4')]);
  files = await serveFolder(media);
  h = await startDhp();
  alice = await Client.create(h, 'alice', { fast_training: 10, fast_duration: 30 * 60_000 });

  // 1. dhp makes the footage: a built-in avatar reading the training text (~18 s) (scaled down: the tests pay for every pixel).
  const made = await done(await create({ sceneId: -101, text: TRAINING_TEXT, speakerId: VOICE }));
  assert.equal(made.synthesisStatus, 3, made.failReason);
  const full = path.join(media, 'avatar-full.mp4');
  writeFileSync(full, (await download(made.videoUrl)).body);
  ffmpeg(['-i', full, '-vf', 'scale=360:640', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-c:a', 'copy', path.join(media, 'avatar.mp4')]);

  // 2. It becomes a trained avatar.
  const trainingId = await train('avatar.mp4');
  const training = await alice.waitTraining(trainingId, 600_000);
  assert.equal(training.status, 2, training.comment);
  speaking = { trainingId, sceneId: training.sceneId, training };
});

after(async () => {
  await detector.close();
  await files?.close();
  await h?.close();
  removeDir(media);
  if (h) removeDir(h.dir);
});

async function create(body: Record<string, unknown>): Promise<number> {
  const r = await alice.call('POST', '/openapi/video/v3/simpleCreate', body);
  assert.equal(r.body.code, '0', JSON.stringify(r.body));
  return r.body.data.videoId;
}

function done(id: number) {
  return waitFor(`video ${id}`, async () => {
    const v = (await alice.call('GET', `/openapi/video/v2/get/${id}`)).body.data;
    return v && ![1, 2].includes(v.synthesisStatus) ? v : null;
  }, 600_000);
}

async function train(video: string): Promise<number> {
  const r = await alice.call('POST', '/openapi/video/v3/create/training', {
    name: video, videoUrl: files.url(video), authorizeUrl: files.url('consent.mp4'), authorizeText: AVATAR_CONSENT, level: 1,
  });
  assert.equal(r.body.code, '0', JSON.stringify(r.body));
  return r.body.data.trainingId;
}

async function scene(sceneId: number) {
  return h.app.services.db.selectFrom('scenes').selectAll().where('id', '=', sceneId).executeTakeFirstOrThrow();
}

async function saved(url: string, name: string): Promise<string> {
  const file = path.join(media, name);
  writeFileSync(file, (await download(url)).body);
  return file;
}

function streams(file: string) {
  const p = probeFile(file);
  return { video: p.streams.find((s: any) => s.codec_type === 'video'), audio: p.streams.find((s: any) => s.codec_type === 'audio') };
}

/** The plain loop of the scene under the same speech, as dhp made it before lip-sync (compose.ts). */
async function plainLoop(sceneId: number, speechWav: string, name: string) {
  const s = await scene(sceneId);
  return composeVideo(tools, {
    forward: storagePath(h, s.forward_key), reverse: storagePath(h, s.reverse_key), fps: s.fps, frames: s.frames, width: s.width, height: s.height,
  }, speechWav, path.join(media, name), { pn: 1 });
}

describe('embedded lip-sync of a trained avatar', () => {
  let output = '';
  let loop = '';

  test('training analyses the mouth: coverage on the record, a bank in storage', async () => {
    const t = speaking.training;
    assert.ok(t.lipsync, 'the training record reports lip-sync coverage');
    assert.ok(t.lipsync.frames > 300, JSON.stringify(t.lipsync));
    assert.ok(t.lipsync.usableFrames >= 0.9 * t.lipsync.frames, JSON.stringify(t.lipsync));
    assert.ok(t.lipsync.coverage >= 0.5, JSON.stringify(t.lipsync));
    assert.equal(t.comment, '', 'a well-covered bank needs no advice');
    const s = await scene(speaking.sceneId);
    assert.ok(s.lipsync_key && s.lipsync_video_key);
    const index = JSON.parse(readFileSync(storagePath(h, s.lipsync_key!), 'utf8')) as BankIndex;
    assert.equal(index.formatVersion, 1);
    assert.equal(index.frames.length, s.frames);
  });

  test('a video of other words: the mouth follows the speech (correlation >= 0.7), the plain loop does not', async () => {
    const v = await done(await create({ sceneId: speaking.sceneId, text: NEW_TEXT, speakerId: VOICE, pn: 1 }));
    assert.equal(v.synthesisStatus, 3, v.failReason);
    assert.equal(v.progress, 100);
    output = await saved(v.videoUrl, 'spoken.mp4');
    const st = streams(output);
    assert.equal(st.video.codec_name, 'h264');
    assert.equal(st.audio.codec_name, 'aac');
    assert.equal(`${st.video.width}x${st.video.height}`, '360x640');
    assert.ok((await download(v.coverUrl)).body.length > 1000);
    assert.match((await download(v.srtUrl)).body.toString('utf8'), /weather/);

    // The wanted track: the same voice's phoneme timings for the same text.
    const tts = new EspeakEngine({ threads: 1 });
    const voice = publicVoices.find((p) => p.speakerId === VOICE)!.profile;
    const spoken = await tts.synthesize(NEW_TEXT, voice).finally(() => tts.close());
    const wav = path.join(media, 'new.wav');
    writeFileSync(wav, spoken.wav);
    const target = targetFromPhonemes(spoken.phonemes, spoken.durationMs, 25).map((t) => t.open);
    const composed = await plainLoop(speaking.sceneId, wav, 'loop');
    loop = composed.video;

    const measured = await measureOpenings(tools, detector, output, 360, 640);
    const looped = await measureOpenings(tools, detector, loop, 360, 640);
    const embedded = pearson(measured, target);
    const plain = pearson(looped, target);
    console.log(`# mouth opening vs target track: embedded lip-sync r = ${embedded.toFixed(3)}, plain loop r = ${plain.toFixed(3)} (${measured.length} frames)`);
    assert.ok(embedded >= 0.7, `embedded lip-sync correlation ${embedded.toFixed(3)} < 0.7`);
    assert.ok(embedded > plain + 0.3, `the loop (${plain.toFixed(3)}) follows the speech about as well as lip-sync (${embedded.toFixed(3)})`);
  });

  test('audioUrl: the mouth follows the loudness and brightness of the uploaded speech', async () => {
    assert.ok(loop, 'needs the speech of the previous case');
    const v = await done(await create({ sceneId: speaking.sceneId, audioUrl: files.url('new.wav'), pn: 1 }));
    assert.equal(v.synthesisStatus, 3, v.failReason);
    const file = await saved(v.videoUrl, 'from-audio.mp4');
    const wav = decodeWav(readFileSync(path.join(media, 'new.wav')));
    const target = mouthFromAudio(wav.samples, wav.sampleRate, 25).map((t) => t.open);
    const embedded = pearson(await measureOpenings(tools, detector, file, 360, 640), target);
    const plain = pearson(await measureOpenings(tools, detector, loop, 360, 640), target);
    console.log(`# audioUrl: mouth opening vs the sound's track: embedded r = ${embedded.toFixed(3)}, plain loop r = ${plain.toFixed(3)}`);
    assert.ok(embedded >= 0.6, `embedded lip-sync from audio correlation ${embedded.toFixed(3)} < 0.6`);
    assert.ok(embedded > plain + 0.2);
  });

  test('seams: outside the mouth and jaw the output is the base frame; inside it changed', async () => {
    assert.ok(output && loop, 'needs the video of the previous case');
    const s = await scene(speaking.sceneId);
    const index = JSON.parse(readFileSync(storagePath(h, s.lipsync_key!), 'utf8')) as BankIndex;
    const { width: w, height: hh } = index;
    const base = decodeFrames(tools, loop, { pixFmt: 'yuv420p', width: w, height: hh });
    const order = sceneFrames(index.frames.length, 10_000, 1);
    let t = 0;
    let outside = 0, outsideN = 0, inside = 0, insideN = 0;
    for await (const out of decodeFrames(tools, output, { pixFmt: 'yuv420p', width: w, height: hh })) {
      const b = (await base.next()).value as Buffer | undefined;
      if (!b) break;
      const f = index.frames[order[t++]];
      if (!f.points) continue;
      // The mouth region with a generous margin (the mask's feather and the jaw's travel).
      const eye = eyeDistance(fullFromKept(f.points));
      const pts = LOWER_FACE.map((k) => keptPt(f.points!, k));
      const x0 = Math.min(...pts.map((p) => p[0])) - 0.5 * eye, x1 = Math.max(...pts.map((p) => p[0])) + 0.5 * eye;
      const y0 = Math.min(...pts.map((p) => p[1])) - 0.5 * eye, y1 = Math.max(...pts.map((p) => p[1])) + 0.8 * eye;
      const mx = Math.min(...pts.map((p) => p[0])), Mx = Math.max(...pts.map((p) => p[0]));
      const my = keptPt(f.points, 13)[1];
      for (let y = 0; y < hh; y += 2) {
        for (let x = 0; x < w; x += 2) {
          const d = Math.abs(out[y * w + x] - b[y * w + x]);
          if (x < x0 || x > x1 || y < y0 || y > y1) { outside += d; outsideN++; }
          else if (x > mx && x < Mx && Math.abs(y - my) < 0.15 * eye) { inside += d; insideN++; }
        }
      }
    }
    const out = outside / outsideN, ins = inside / insideN;
    console.log(`# mean luma difference output vs base: outside the mouth region ${out.toFixed(2)}, at the lips ${ins.toFixed(2)}`);
    assert.ok(out < 1.5, `outside the mask the picture changed by ${out.toFixed(2)} on average (more than encoding noise)`);
    assert.ok(ins > 3 * out + 2, `the lips did not change (${ins.toFixed(2)})`);
  });

  test('a clip of a real person\'s photo (no speech) trains with advice; the fallback warp follows the target track', async () => {
    const id = await train('still.mp4');
    const t = await alice.waitTraining(id, 300_000);
    assert.equal(t.status, 2, t.comment);
    assert.ok(t.lipsync.usableFrames > 0, JSON.stringify(t.lipsync));
    assert.match(t.comment, /record 30-60 s of speech facing the camera/);
    const v = await done(await create({ sceneId: t.sceneId, text: NEW_TEXT, speakerId: VOICE, pn: 1 }));
    assert.equal(v.synthesisStatus, 3, v.failReason);
    const file = await saved(v.videoUrl, 'still-spoken.mp4');
    const openings = await measureOpenings(tools, detector, file, 360, 640);
    const measured = openings.filter(Number.isFinite);
    assert.ok(measured.length >= 0.9 * openings.length, `the face mesh found the face in ${measured.length} of ${openings.length} frames`);
    assert.ok(Math.max(...measured) - Math.min(...measured) > 0.05, 'the fallback opened the mouth');

    // A real person's face (a photo, so the clip has no mouth motion at all): the parametric warp
    // must follow the target track, measured with the face mesh like the trained avatar above.
    const tts = new EspeakEngine({ threads: 1 });
    const spoken = await tts.synthesize(NEW_TEXT, publicVoices.find((p) => p.speakerId === VOICE)!.profile).finally(() => tts.close());
    const target = targetFromPhonemes(spoken.phonemes, spoken.durationMs, 25).map((x) => x.open);
    writeFileSync(path.join(media, 'still-new.wav'), spoken.wav);
    const looped = await measureOpenings(tools, detector, (await plainLoop(t.sceneId, path.join(media, 'still-new.wav'), 'still-loop')).video, 360, 640);
    const warped = pearson(openings, target), plain = pearson(looped, target);
    console.log(`# photo of a real face (fallback warp): mouth opening vs target track r = ${warped.toFixed(3)}, plain loop r = ${plain.toFixed(3)} (${openings.length} frames)`);
    assert.ok(warped >= PHOTO_MIN_R, `the fallback warp on a photo follows the target with r = ${warped.toFixed(3)} < ${PHOTO_MIN_R}`);
    assert.ok(warped > plain + 0.3, `the loop (${plain.toFixed(3)}) follows the speech about as well as the fallback warp (${warped.toFixed(3)})`);

    // An avatar trained before lip-sync (no bank yet) is analysed on its first video.
    await h.app.services.db.updateTable('scenes').set({ lipsync_key: null, lipsync_video_key: null }).where('id', '=', t.sceneId).execute();
    await h.app.services.db.updateTable('trainings').set({ lipsync: null }).where('id', '=', id).execute();
    assert.equal((await alice.call('GET', `/openapi/video/v2/training/get/${id}`)).body.data.lipsync, null);
    const again = await done(await create({ sceneId: t.sceneId, text: 'Analysed now.', speakerId: VOICE }));
    assert.equal(again.synthesisStatus, 3, again.failReason);
    assert.ok((await scene(t.sceneId)).lipsync_key);
    assert.ok((await alice.call('GET', `/openapi/video/v2/training/get/${id}`)).body.data.lipsync.usableFrames > 0);
  });

  test('a training video with two people in view is refused with a reason', async () => {
    const t = await alice.waitTraining(await train('two.mp4'), 300_000);
    assert.equal(t.status, 3);
    assert.match(t.comment, /second face appears in \d+% of the training video; it must show one person only/);
    assert.equal(t.sceneId, null);
  });

  test('DHP_LIPSYNC chooses embedded (default) or off, and names bad values', () => {
    assert.equal(loadConfig({}).lipsync, 'embedded');
    assert.equal(loadConfig({ DHP_LIPSYNC: 'off' }).lipsync, 'off');
    assert.throws(() => loadConfig({ DHP_LIPSYNC: 'gpu' }), /DHP_LIPSYNC: must be one of embedded, off/);
  });
});
