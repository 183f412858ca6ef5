// Face detection with @vladmandic/human (TensorFlow.js on its WASM backend, models from the local
// package, nothing fetched from the network). Inference runs in one worker thread, started on
// first use; requests queue up FIFO and go to the worker one at a time.

import { Worker } from 'node:worker_threads';
import type { DetectedFace, FaceDetector, FaceMesh, RgbFrame } from './detector.js';
import { FaceDetectorUnavailable } from './detector.js';
import type { DetectRequest, MeshRequest, WorkerMessage } from './human-worker.js';

export { facesInFrames } from './detector.js';

interface Job {
  id: number;
  request: DetectRequest | MeshRequest;
  resolve(faces: DetectedFace[] | FaceMesh[]): void;
  reject(err: Error): void;
}

/** One worker thread and what it is doing. */
interface Running {
  worker: Worker;
  /** Settles when the worker has loaded its models (or failed to). */
  ready: Promise<void>;
  isReady: boolean;
  job: Job | null;
  /** The uncaught error that is about to make the worker exit, if any. */
  crash: Error | null;
}

export class HumanFaceDetector implements FaceDetector {
  private running: Running | null = null;
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Set when the engine could not start; sticky, since retrying cannot fix a missing package or model. */
  private unavailable: FaceDetectorUnavailable | null = null;

  /**
   * Starts the worker and loads the models now rather than on the first detect, e.g. at service
   * startup. Rejects with FaceDetectorUnavailable if the engine cannot start.
   */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the face detector is closed'));
    if (this.unavailable) return Promise.reject(this.unavailable);
    return (this.running ?? this.spawn()).ready;
  }

  detect(image: Buffer): Promise<DetectedFace[]> {
    return this.submit((id) => ({ id, image })) as Promise<DetectedFace[]>;
  }

  mesh(frame: RgbFrame, track: number): Promise<FaceMesh[]> {
    // A copy of just this view: posting a view clones its whole underlying buffer, which for a
    // frame cut out of a decoded clip is the clip (measured: 1.3 s instead of 35 ms per frame).
    const rgb = new Uint8Array(frame.rgb);
    return this.submit((id) => ({ id, kind: 'mesh', rgb, width: frame.width, height: frame.height, track })) as Promise<FaceMesh[]>;
  }

  private submit(request: (id: number) => DetectRequest | MeshRequest): Promise<DetectedFace[] | FaceMesh[]> {
    if (this.closed) return Promise.reject(new Error('the face detector is closed'));
    if (this.unavailable) return Promise.reject(this.unavailable);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.queue.push({ id, request: request(id), resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the face detector was closed'));
    // Terminating fires 'exit', which rejects the job in flight.
    await this.running?.worker.terminate();
  }

  /** Sends the oldest queued job to the worker once it is ready and idle; starts a worker if none. */
  private pump(): void {
    if (this.closed || this.unavailable || this.queue.length === 0) return;
    const running = this.running ?? this.spawn();
    if (!running.isReady || running.job) return;
    const job = this.queue.shift()!;
    running.job = job;
    running.worker.ref();
    const transfer = 'kind' in job.request ? [job.request.rgb.buffer as ArrayBuffer] : [];
    running.worker.postMessage(job.request, transfer);
  }

  private spawn(): Running {
    const worker = startWorker();
    let markReady!: () => void;
    let markFailed!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    // Startup failures reach callers through their detect() calls; start() callers await `ready`
    // themselves. Without this, a failed start nobody waits on would be an unhandled rejection.
    ready.catch(() => {});
    const running: Running = { worker, ready, isReady: false, job: null, crash: null };
    this.running = running;

    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'ready') {
        running.isReady = true;
        markReady();
        this.idle(running);
      } else if (msg.type === 'failed') {
        this.fail(new FaceDetectorUnavailable(msg.message), markFailed);
        void worker.terminate();
      } else {
        this.settle(running, msg);
      }
    });
    worker.on('error', (err: unknown) => {
      running.crash = err instanceof Error ? err : new Error(String(err));
    });
    worker.on('exit', (code) => {
      if (this.running === running) this.running = null;
      if (!running.isReady && !this.unavailable) {
        const reason = running.crash?.message ?? `the worker exited with code ${code}`;
        const err = this.closed ? new Error('the face detector was closed') : new FaceDetectorUnavailable(`face detection cannot start: ${reason}`);
        this.fail(err, markFailed);
        return;
      }
      const reason = this.closed ? 'the face detector was closed' : `the face detector worker died: ${running.crash?.message ?? `exit code ${code}`}`;
      running.job?.reject(new Error(reason));
      running.job = null;
      // Queued work gets a fresh worker.
      this.pump();
    });
    return running;
  }

  /** The engine cannot start: fail start() and every queued job, and refuse later ones. */
  private fail(err: Error, markFailed: (err: Error) => void): void {
    if (err instanceof FaceDetectorUnavailable) this.unavailable = err;
    markFailed(err);
    for (const job of this.queue.splice(0)) job.reject(err);
  }

  private settle(running: Running, msg: Extract<WorkerMessage, { type: 'result' | 'mesh' }>): void {
    const job = running.job;
    if (!job || job.id !== msg.id) return;
    running.job = null;
    if (msg.ok) job.resolve(msg.faces);
    else job.reject(new Error(msg.message));
    this.idle(running);
  }

  /** Only a starting or busy worker should keep the process alive. */
  private idle(running: Running): void {
    running.worker.unref();
    this.pump();
  }
}

/**
 * Starts the worker thread. From compiled JS (dist/) that is the sibling .js file. When the
 * TypeScript sources run through tsx (tests, dev), the sibling .ts file has to be loaded through
 * tsx's API: on Node 20 loader hooks registered by `--import tsx` do not reach worker threads,
 * so the worker would fail with "Unknown file extension .ts".
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./human-worker.js', import.meta.url));
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./human-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}));`;
  return new Worker(bootstrap, { eval: true });
}
