// Measuring lip-sync on a finished video: the face mesh's mouth opening on every frame, and how
// well a track follows a target (Pearson correlation). Used by the tests and the benchmark.

import { decodeFrames } from '../../media/raw-video.js';
import type { MediaTools } from '../../media/tools.js';
import type { FaceDetector } from '../face/detector.js';
import { mouthShape } from './landmarks.js';

/** Mouth opening (eye distances) per frame of `video`, NaN where no face is found. */
export async function measureOpenings(tools: MediaTools, detector: FaceDetector, video: string, width: number, height: number): Promise<number[]> {
  const scale = Math.min(1, 640 / Math.max(width, height));
  const w = 2 * Math.round((width * scale) / 2), h = 2 * Math.round((height * scale) / 2);
  const out: number[] = [];
  let i = 0;
  for await (const rgb of decodeFrames(tools, video, { pixFmt: 'rgb24', width: w, height: h, scale: true })) {
    const faces = await detector.mesh({ rgb, width: w, height: h }, i++ % 8 === 0 ? 0 : 8);
    out.push(faces[0] ? mouthShape(faces[0].points).open : NaN);
  }
  return out;
}

/** Pearson correlation over the positions where both values are numbers. */
export function pearson(a: number[], b: number[]): number {
  const pairs: [number, number][] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (Number.isFinite(a[i]) && Number.isFinite(b[i])) pairs.push([a[i], b[i]]);
  const n = pairs.length;
  if (n < 3) return NaN;
  const ma = pairs.reduce((s, p) => s + p[0], 0) / n, mb = pairs.reduce((s, p) => s + p[1], 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (const [x, y] of pairs) { sab += (x - ma) * (y - mb); saa += (x - ma) ** 2; sbb += (y - mb) ** 2; }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}
