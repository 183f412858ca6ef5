// Worker-thread side of HumanFaceDetector (see human.ts). TensorFlow.js inference on the WASM
// backend is synchronous CPU work of a few hundred milliseconds per image, so it lives in its own
// thread to keep the main event loop free.
//
// Protocol: the worker posts 'ready' once models are loaded and warmed up, or 'failed' (with an
// operator-facing message) if it cannot start. The main thread then sends one DetectRequest at a
// time and waits for its 'result' before sending the next.

import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { parentPort } from 'node:worker_threads';
import type { Config, FaceResult, Human, Input, Point } from '@vladmandic/human';
import type { DetectedFace, FaceBox, FaceMesh } from './detector.js';

export interface DetectRequest {
  id: number;
  image: Uint8Array;
}

/**
 * Lip-sync analysis: the full face mesh of one raw RGB frame (24-bit, row by row), already scaled
 * by the caller. `track` lets Human reuse the previous frame's face boxes (it re-runs only the
 * mesh) for up to `track` frames; 0 detects afresh, which also counts every face in the frame.
 */
export interface MeshRequest {
  id: number;
  kind: 'mesh';
  rgb: Uint8Array;
  width: number;
  height: number;
  track: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; ok: true; faces: DetectedFace[] }
  | { type: 'mesh'; id: number; ok: true; faces: FaceMesh[] }
  | { type: 'result'; id: number; ok: false; message: string };

/**
 * Larger frames are scaled down before inference. The face detector looks at a 256x256 version of
 * the whole image and the mesh at 192x192 crops of each face, so more pixels only cost time
 * (a 1920px frame takes about twice as long as a 1280px one); 720p frames stay untouched.
 */
const MAX_SIDE = 1280;

/** Faces reported per image; a training video normally has one, more is worth reporting. */
const MAX_FACES = 10;

type Canvas = typeof import('@napi-rs/canvas');
type HumanModule = typeof import('@vladmandic/human');

/** The few TensorFlow.js calls used here; Human exposes its tfjs instance untyped. */
interface Tfjs {
  env(): { set(flag: string, value: boolean): void };
  getBackend(): string;
  tensor3d(values: Float32Array, shape: [number, number, number], dtype: 'float32'): unknown;
  dispose(tensor: unknown): void;
  io: {
    registerLoadRouter(router: (url: string | string[]) => { load(): Promise<unknown> } | null): void;
    getModelArtifactsForJSON(json: ModelJson, loadWeights: (manifest: WeightsManifest) => Promise<[unknown[], ArrayBuffer]>): Promise<unknown>;
  };
}

type WeightsManifest = { paths: string[]; weights: unknown[] }[];

interface ModelJson {
  weightsManifest: WeightsManifest;
}

interface Frame {
  /** RGB values 0..255, row by row. */
  rgb: Float32Array;
  width: number;
  height: number;
  /** Size of the frame relative to the original image (1 unless it was scaled down). */
  scale: number;
  originalWidth: number;
  originalHeight: number;
}

interface Engine {
  human: Human;
  tf: Tfjs;
  canvas: Canvas;
}

// ---------------------------------------------------------------------------------------------
// Startup

/** Human reports problems (missing models, backend failures) only through console.log. */
const humanLog: string[] = [];

function captureHumanLog(): void {
  console.log = (...args: unknown[]) => {
    humanLog.push(format(...args));
    if (humanLog.length > 20) humanLog.shift();
  };
}

async function startEngine(): Promise<Engine> {
  captureHumanLog();
  const require = createRequire(import.meta.url);
  // Human's package exports map only allows its default (tfjs-node) build, which needs native
  // TensorFlow; its WASM build sits next to it and is loaded by file path.
  const humanDist = path.dirname(require.resolve('@vladmandic/human'));
  const humanFile = path.join(humanDist, 'human.node-wasm.js');
  const canvas = await import('@napi-rs/canvas');
  const lib = require(humanFile) as HumanModule;
  // The .wasm binaries must come from the very backend package that Human's build loads.
  const wasmDir = path.dirname(createRequire(humanFile).resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
  const modelsDir = path.join(humanDist, '..', 'models');

  const human = new lib.Human(humanConfig(wasmDir, pathToFileURL(modelsDir).href + '/'));
  const tf = human.tf as Tfjs;
  // Multi-threaded WASM would start its own pool of threads on a machine whose cores are shared
  // with the API and the video pipeline; one inference thread is the budget.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  registerFileLoader(tf);
  await human.load();
  checkStarted(human, tf, modelsDir);
  const engine = { human, tf, canvas };
  await warmUp(engine);
  return engine;
}

function humanConfig(wasmPath: string, modelBasePath: string): Partial<Config> {
  const off = { enabled: false };
  return {
    backend: 'wasm',
    wasmPath,
    modelBasePath,
    debug: false,
    warmup: 'none',
    // Frames are independent stills: no reuse of the previous result or of its face boxes.
    cacheSensitivity: 0,
    // Image filters need a browser canvas; tensors are fed unfiltered.
    filter: { enabled: false },
    face: {
      enabled: true,
      detector: { rotation: false, maxDetected: MAX_FACES, skipFrames: 0, skipTime: 0, return: false },
      mesh: { enabled: true },
      attention: off,
      iris: off,
      emotion: off,
      description: off,
      antispoof: off,
      liveness: off,
    },
    body: off,
    hand: off,
    object: off,
    gesture: off,
    segmentation: off,
  };
}

/**
 * TensorFlow.js has no file:// model loader without its native Node binding, and Node's fetch
 * does not read files; models are read from disk here instead.
 */
function registerFileLoader(tf: Tfjs): void {
  tf.io.registerLoadRouter((url) => {
    if (typeof url !== 'string' || !url.startsWith('file://')) return null;
    const jsonPath = fileURLToPath(url);
    return {
      load: async () => {
        const json = JSON.parse(await readFile(jsonPath, 'utf8')) as ModelJson;
        return tf.io.getModelArtifactsForJSON(json, (manifest) => readWeights(path.dirname(jsonPath), manifest));
      },
    };
  });
}

async function readWeights(dir: string, manifest: WeightsManifest): Promise<[unknown[], ArrayBuffer]> {
  const specs = manifest.flatMap((group) => group.weights);
  const shards = await Promise.all(manifest.flatMap((group) => group.paths).map((file) => readFile(path.join(dir, file))));
  const data = Buffer.concat(shards);
  return [specs, data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)];
}

/** Human.load() does not throw when the backend or a model fails; it only logs. */
function checkStarted(human: Human, tf: Tfjs, modelsDir: string): void {
  const backend = tf.getBackend();
  if (backend !== 'wasm') throw new Error(`the TensorFlow.js WASM backend did not start (backend is '${backend}')`);
  const missing = ['blazeface', 'facemesh'].filter((name) => !human.models.loaded().includes(name));
  if (missing.length > 0) throw new Error(`face models ${missing.join(', ')} could not be loaded from ${modelsDir}`);
}

/** The first inference initialises kernels and weights; do it now so the first real frame is not slow. */
async function warmUp(engine: Engine): Promise<void> {
  const size = 64;
  const blank = engine.tf.tensor3d(new Float32Array(size * size * 3), [size, size, 3], 'float32');
  try {
    const result = await engine.human.detect(blank as Input);
    if (result.error) throw new Error(`a test detection failed: ${result.error}`);
  } finally {
    engine.tf.dispose(blank);
  }
}

/** Turns a startup error into a message that tells an operator what to fix. */
function describeStartupError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const missingModule = /Cannot find (?:module|package) '([^']+)'/.exec(message)?.[1];
  if (missingModule) {
    const pkg = missingModule.startsWith('@') ? missingModule.split('/').slice(0, 2).join('/') : missingModule.split('/')[0];
    return `face detection cannot start: the npm package ${pkg} is not installed (npm install ${pkg}${versionHint(pkg)})`;
  }
  const log = humanLog.length > 0 ? ` (Human said: ${humanLog.join(' | ')})` : '';
  return `face detection cannot start: ${message}${log}`;
}

/** TensorFlow.js packages only work together at the exact same version. */
function versionHint(pkg: string): string {
  if (!pkg.startsWith('@tensorflow/')) return '';
  try {
    const core = createRequire(import.meta.url)('@tensorflow/tfjs-core/package.json') as { version: string };
    return `@${core.version}`;
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Detection

/** Human merges per-call settings into its config for good, so every call states its own. */
const stills = { cacheSensitivity: 0, face: { detector: { skipFrames: 0, skipTime: 0 } } } as Partial<Config>;
const tracking = (frames: number) => ({ cacheSensitivity: 0.9, face: { detector: { skipFrames: frames, skipTime: 60_000 } } }) as Partial<Config>;

async function detectFaces(engine: Engine, image: Uint8Array): Promise<DetectedFace[]> {
  const frame = await decodeFrame(engine.canvas, image);
  const tensor = engine.tf.tensor3d(frame.rgb, [frame.height, frame.width, 3], 'float32');
  try {
    const result = await engine.human.detect(tensor as Input, stills);
    if (result.error) throw new Error(`face detection failed: ${result.error}`);
    return result.face.map((face) => toDetectedFace(face, frame));
  } finally {
    engine.tf.dispose(tensor);
  }
}

/** Decodes JPEG/PNG bytes to RGB pixels, scaled down to MAX_SIDE. */
async function decodeFrame(canvas: Canvas, bytes: Uint8Array): Promise<Frame> {
  let image: Awaited<ReturnType<Canvas['loadImage']>>;
  try {
    image = await canvas.loadImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new Error(`the image cannot be decoded: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!(image.width > 0 && image.height > 0)) throw new Error('the image cannot be decoded: it has no pixels');
  const scale = Math.min(1, MAX_SIDE / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const context = canvas.createCanvas(width, height).getContext('2d');
  context.drawImage(image, 0, 0, width, height);
  const { data } = context.getImageData(0, 0, width, height);
  return { rgb: toRgb(data), width, height, scale, originalWidth: image.width, originalHeight: image.height };
}

/**
 * Drops alpha and converts to float here: handed RGBA or integers, Human slices and casts the
 * full-size tensor inside WASM, which took longer than the detection itself.
 */
function toRgb(rgba: Uint8ClampedArray): Float32Array {
  const rgb = new Float32Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

async function meshFaces(engine: Engine, request: MeshRequest): Promise<FaceMesh[]> {
  const { rgb, width, height } = request;
  if (rgb.length !== width * height * 3) throw new Error(`a mesh frame of ${width}x${height} needs ${width * height * 3} bytes, got ${rgb.length}`);
  const values = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) values[i] = rgb[i];
  const tensor = engine.tf.tensor3d(values, [height, width, 3], 'float32');
  try {
    const result = await engine.human.detect(tensor as Input, request.track > 0 ? tracking(request.track) : stills);
    if (result.error) throw new Error(`face detection failed: ${result.error}`);
    return result.face.filter((face) => face.mesh.length >= 468).map((face) => {
      const points = new Float32Array(face.mesh.length * 2);
      face.mesh.forEach((p, i) => { points[2 * i] = p[0]; points[2 * i + 1] = p[1]; });
      const [x, y, w, h] = face.box;
      const angle = face.rotation?.angle ?? { yaw: 0, pitch: 0, roll: 0 };
      return { score: face.score, box: { x, y, width: w, height: h }, points, yaw: angle.yaw, pitch: angle.pitch, roll: angle.roll };
    });
  } finally {
    engine.tf.dispose(tensor);
  }
}

function toDetectedFace(face: FaceResult, frame: Frame): DetectedFace {
  const [x, y, width, height] = face.box;
  const detected: DetectedFace = { score: face.score, box: toImageBox(x, y, x + width, y + height, frame) };
  const lips = [...(face.annotations?.lipsUpperOuter ?? []), ...(face.annotations?.lipsLowerOuter ?? [])];
  if (lips.length > 0) detected.mouth = boundingBox(lips, frame);
  return detected;
}

function boundingBox(points: Point[], frame: Frame): FaceBox {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return toImageBox(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys), frame);
}

/** Maps frame corners back to original-image pixels, clipped to the image: callers crop with it. */
function toImageBox(left: number, top: number, right: number, bottom: number, frame: Frame): FaceBox {
  const clamp = (v: number, max: number) => Math.round(Math.min(Math.max(v / frame.scale, 0), max));
  const x = clamp(left, frame.originalWidth);
  const y = clamp(top, frame.originalHeight);
  return { x, y, width: clamp(right, frame.originalWidth) - x, height: clamp(bottom, frame.originalHeight) - y };
}

// ---------------------------------------------------------------------------------------------
// Message loop

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('human-worker must run in a worker thread');
  let engine: Engine;
  try {
    engine = await startEngine();
  } catch (err) {
    const failed: WorkerMessage = { type: 'failed', message: describeStartupError(err) };
    port.postMessage(failed);
    return;
  }
  port.on('message', async (request: DetectRequest | MeshRequest) => {
    let reply: WorkerMessage;
    try {
      reply = 'kind' in request
        ? { type: 'mesh', id: request.id, ok: true, faces: await meshFaces(engine, request) }
        : { type: 'result', id: request.id, ok: true, faces: await detectFaces(engine, request.image) };
    } catch (err) {
      reply = { type: 'result', id: request.id, ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
  const ready: WorkerMessage = { type: 'ready' };
  port.postMessage(ready);
}

await main();
