// A scene's mouth bank in storage: analysed at training (or on the first video of an avatar trained
// before lip-sync existed), read back for every video.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaceDetector } from '../engines/face/detector.js';
import { analyseClip, BANK_FORMAT_VERSION, type BankIndex, type Coverage } from '../engines/lipsync/bank.js';
import { newKey, type Storage } from '../media/storage.js';
import type { MediaTools } from '../media/tools.js';

export interface StoredBank {
  indexKey: string;
  videoKey: string | null;
  coverage: Coverage;
}

/** Analyses the scene clip `forward` and stores the bank; BankRefused when the clip shows more than one person. */
export async function analyseAndStore(
  tools: MediaTools, detector: FaceDetector, storage: Storage, dir: string,
  clip: { forward: string; width: number; height: number; fps: number; frames: number },
  opts: { signal?: AbortSignal; onProgress?: (done: number) => void } = {},
): Promise<StoredBank> {
  const made = await analyseClip({
    tools, detector, clip: clip.forward, width: clip.width, height: clip.height, fps: clip.fps, frames: clip.frames,
    outDir: dir, signal: opts.signal, onProgress: opts.onProgress,
  });
  const indexKey = newKey('scenes', 'json');
  const videoKey = made.video ? newKey('scenes', 'mp4') : null;
  if (made.video && videoKey) await storage.putFile(videoKey, made.video);
  await storage.putFile(indexKey, made.indexFile);
  return { indexKey, videoKey, coverage: made.index.coverage };
}

/** The bank's index and a local copy of its video; null when missing or from an older format (analyse again). */
export async function loadBank(storage: Storage, keys: { indexKey: string; videoKey: string | null }, dir: string): Promise<{ index: BankIndex; video: string | null } | null> {
  const indexFile = path.join(dir, 'bank.json');
  if (!(await storage.copyTo(keys.indexKey, indexFile))) return null;
  const index = JSON.parse(await readFile(indexFile, 'utf8')) as BankIndex;
  if (index.formatVersion !== BANK_FORMAT_VERSION) return null;
  if (!keys.videoKey) return { index, video: null };
  const video = path.join(dir, 'bank.mp4');
  if (!(await storage.copyTo(keys.videoKey, video))) return null;
  return { index, video };
}

/** The sentence the training record carries when the bank is thin: what to record instead. */
export function coverageComment(c: Coverage, fps: number): string {
  if (!c.thin && c.coverage >= 0.5) return '';
  const seconds = (c.usableFrames / fps).toFixed(1);
  return `Lip-sync: the training video gives ${c.usableFrames} usable frames of the face (about ${seconds} s) covering ${Math.round(c.coverage * 100)}% of mouth openings, `
    + (c.thin ? 'too few to build the mouth from, so videos open the mouth with a simple warp. ' : 'so some mouth shapes will be approximated. ')
    + 'For lip-sync from the person\'s own mouth, record 30-60 s of speech facing the camera, with varied vowels (a, e, i, o, u), plus a few seconds with the mouth closed.';
}
