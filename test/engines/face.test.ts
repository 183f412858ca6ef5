import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { createCanvas, loadImage, type Image } from '@napi-rs/canvas';
import { FaceDetectorUnavailable, type DetectedFace, type FaceBox } from '../../src/engines/face/detector.js';
import { HumanFaceDetector, facesInFrames } from '../../src/engines/face/human.js';

// Real models on real photos: the face-api demo samples are group photos with 3 to 5 faces each.
const require = createRequire(import.meta.url);
const samplesDir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const samplePaths = [1, 2, 3, 4, 5, 6].map((n) => path.join(samplesDir, `sample${n}.jpg`));
const sample = (n: number) => readFileSync(samplePaths[n - 1]);

const MIN_SCORE = 0.5;

// ---------------------------------------------------------------------------------------------
// helpers

async function imageSize(bytes: Buffer): Promise<{ width: number; height: number }> {
  const image = await loadImage(bytes);
  return { width: image.width, height: image.height };
}

async function solidJpeg(width: number, height: number, colour: string): Promise<Buffer> {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = colour;
  context.fillRect(0, 0, width, height);
  return canvas.encode('jpeg', 90);
}

/** Deterministic RGB noise (mulberry32), so a failure reproduces. */
async function noisePng(width: number, height: number, seed: number): Promise<Buffer> {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  const pixels = context.createImageData(width, height);
  for (let i = 0; i < pixels.data.length; i += 4) {
    pixels.data[i] = random() * 256;
    pixels.data[i + 1] = random() * 256;
    pixels.data[i + 2] = random() * 256;
    pixels.data[i + 3] = 255;
  }
  context.putImageData(pixels, 0, 0);
  return canvas.encode('png');
}

/** Draws `image` scaled to `drawWidth` (keeping its aspect) centred on a grey canvas. */
async function composeJpeg(image: Image, width: number, height: number, drawWidth: number): Promise<Buffer> {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = '#808080';
  context.fillRect(0, 0, width, height);
  const drawHeight = Math.round((image.height * drawWidth) / image.width);
  context.drawImage(image, Math.round((width - drawWidth) / 2), Math.round((height - drawHeight) / 2), drawWidth, drawHeight);
  return canvas.encode('jpeg', 90);
}

function confident(faces: DetectedFace[]): DetectedFace[] {
  return faces.filter((face) => face.score >= MIN_SCORE);
}

function assertInside(box: FaceBox, width: number, height: number, what: string): void {
  assert.ok(box.x >= 0 && box.y >= 0, `${what} starts inside the image: ${JSON.stringify(box)}`);
  assert.ok(box.width > 0 && box.height > 0, `${what} is not empty: ${JSON.stringify(box)}`);
  assert.ok(box.x + box.width <= width && box.y + box.height <= height, `${what} ends inside ${width}x${height}: ${JSON.stringify(box)}`);
}

/** A face box on these photos: inside the image, not tiny, not most of it, with a mouth in its lower half. */
function assertSaneFace(face: DetectedFace, width: number, height: number): void {
  assertInside(face.box, width, height, 'face box');
  assert.ok(face.box.width >= width * 0.03 && face.box.width <= width * 0.6, `face width plausible: ${JSON.stringify(face.box)} in ${width}x${height}`);
  assert.ok(face.box.height >= height * 0.03 && face.box.height <= height * 0.9, `face height plausible: ${JSON.stringify(face.box)}`);
  assert.ok(face.mouth, 'the mesh gives a mouth region');
  assertInside(face.mouth, width, height, 'mouth box');
  const mouthCentreX = face.mouth.x + face.mouth.width / 2;
  const mouthCentreY = face.mouth.y + face.mouth.height / 2;
  assert.ok(mouthCentreX > face.box.x && mouthCentreX < face.box.x + face.box.width, 'mouth horizontally within the face');
  assert.ok(mouthCentreY > face.box.y + face.box.height / 2 && mouthCentreY < face.box.y + face.box.height, 'mouth in the lower half of the face');
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

// ---------------------------------------------------------------------------------------------

describe('HumanFaceDetector', () => {
  const detector = new HumanFaceDetector();
  const warmDetectMs: number[] = [];

  before(async () => {
    const started = performance.now();
    await detector.start();
    console.log(`face worker start (spawn, load models, warm-up): ${Math.round(performance.now() - started)} ms`);
  });

  after(async () => {
    if (warmDetectMs.length > 0) {
      console.log(`warm detect on 1920px photos: mean ${Math.round(mean(warmDetectMs))} ms, max ${Math.round(Math.max(...warmDetectMs))} ms over ${warmDetectMs.length}`);
    }
    await detector.close();
  });

  test('finds faces with sane boxes in every sample photo', async () => {
    for (const [index, file] of samplePaths.entries()) {
      const bytes = readFileSync(file);
      const { width, height } = await imageSize(bytes);
      const started = performance.now();
      const faces = confident(await detector.detect(bytes));
      warmDetectMs.push(performance.now() - started);
      assert.ok(faces.length >= 1, `sample${index + 1}: a face with score >= ${MIN_SCORE}`);
      for (const face of faces) assertSaneFace(face, width, height);
    }
  });

  test('finds no face in a solid-colour image', async () => {
    for (const colour of ['#d9b38c', '#000000', '#ffffff']) {
      assert.deepEqual(await detector.detect(await solidJpeg(1280, 720, colour)), [], colour);
    }
  });

  test('finds no face in random noise', async () => {
    for (const seed of [1, 2, 3]) {
      assert.deepEqual(confident(await detector.detect(await noisePng(640, 480, seed))), [], `seed ${seed}`);
    }
  });

  test('still finds a face in a 320px-wide version of a sample', async () => {
    const small = await composeJpeg(await loadImage(sample(3)), 320, 225, 320);
    const faces = confident(await detector.detect(small));
    assert.ok(faces.length >= 1, 'a face at 320px');
    for (const face of faces) assertInside(face.box, 320, 225, 'face box');
  });

  test('finds the face in a portrait 720x1280 frame with the photo in the middle', async () => {
    const portrait = await composeJpeg(await loadImage(sample(1)), 720, 1280, 720);
    const faces = confident(await detector.detect(portrait));
    assert.ok(faces.length >= 1, 'a face in the portrait frame');
    for (const face of faces) {
      assertSaneFace(face, 720, 1280);
      // The photo (720x480) sits in the vertical middle; its faces must too.
      assert.ok(face.box.y >= 400 && face.box.y + face.box.height <= 880, `face within the pasted photo: ${JSON.stringify(face.box)}`);
    }
  });

  test('scales boxes of large frames back to image pixels', async () => {
    const image = await loadImage(sample(6));
    const large = await composeJpeg(image, 2560, 2048, 2560);
    const [inLarge, inOriginal] = await Promise.all([detector.detect(large), detector.detect(sample(6))]);
    const top = (faces: DetectedFace[]) => confident(faces).sort((a, b) => a.box.x - b.box.x)[0];
    const ratio = 2560 / image.width;
    assert.ok(top(inLarge) && top(inOriginal));
    assert.ok(Math.abs(top(inLarge).box.x - top(inOriginal).box.x * ratio) < 0.05 * 2560, 'same face position, scaled');
    assert.ok(Math.abs(top(inLarge).box.width / (top(inOriginal).box.width * ratio) - 1) < 0.15, 'same face size, scaled');
  });

  test('serves 3 concurrent detects in order with the same results as one by one', async () => {
    const inputs = [sample(1), sample(4), await solidJpeg(640, 480, '#336699')];
    const alone: DetectedFace[][] = [];
    for (const input of inputs) alone.push(await detector.detect(input));
    const together = await Promise.all(inputs.map((input) => detector.detect(input)));
    assert.deepEqual(together.map((faces) => faces.length), alone.map((faces) => faces.length));
    assert.deepEqual(together.map((faces) => confident(faces).length), alone.map((faces) => confident(faces).length));
    assert.equal(together[2].length, 0);
  });

  test('rejects an undecodable image and keeps working', async () => {
    await assert.rejects(detector.detect(Buffer.from('not an image')), (err: Error) => {
      assert.ok(!(err instanceof FaceDetectorUnavailable));
      assert.match(err.message, /cannot be decoded/);
      return true;
    });
    assert.ok(confident(await detector.detect(sample(2))).length >= 1);
  });

  test('facesInFrames counts frames with a face and keeps the best one', async () => {
    const frames = [sample(5), await solidJpeg(640, 360, '#202020'), await noisePng(640, 360, 7), sample(2)];
    const summary = await facesInFrames(detector, frames);
    assert.equal(summary.total, 4);
    assert.equal(summary.framesWithFace, 2);
    assert.ok(summary.best && summary.best.score >= MIN_SCORE);
    const none = await facesInFrames(detector, [await solidJpeg(320, 240, '#ff0000')]);
    assert.deepEqual(none, { framesWithFace: 0, total: 1, best: null });
  });

  test('rejects the job in flight when the worker dies, and recovers with a new worker', async () => {
    const crashing = new HumanFaceDetector();
    try {
      await crashing.start();
      const inFlight = crashing.detect(sample(1));
      const running = (crashing as unknown as { running: { worker: Worker } | null }).running;
      assert.ok(running);
      await running.worker.terminate();
      await assert.rejects(inFlight, /worker died/);
      assert.ok(confident(await crashing.detect(sample(3))).length >= 1, 'a fresh worker serves the next request');
    } finally {
      await crashing.close();
    }
  });
});

describe('HumanFaceDetector.close', () => {
  test('rejects later detects', async () => {
    const detector = new HumanFaceDetector();
    await detector.close();
    await assert.rejects(detector.detect(sample(1)), /closed/);
  });

  test('lets the process exit, even with a detect in flight', async () => {
    const moduleUrl = new URL('../../src/engines/face/human.ts', import.meta.url).href;
    const script = `
      import { readFileSync } from 'node:fs';
      import { HumanFaceDetector } from ${JSON.stringify(moduleUrl)};
      const detector = new HumanFaceDetector();
      const image = readFileSync(${JSON.stringify(samplePaths[0])});
      const faces = await detector.detect(image);
      const inFlight = detector.detect(image).then(() => 'resolved', (err) => err.message);
      await detector.close();
      console.log(JSON.stringify({ faces: faces.length, inFlight: await inFlight }));
    `;
    const started = performance.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 }, (err, out, errOut) =>
        err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
      );
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { faces: number; inFlight: string };
    assert.ok(result.faces >= 1);
    assert.match(result.inFlight, /closed/);
    assert.ok(performance.now() - started < 30_000, 'exited promptly');
  });
});
