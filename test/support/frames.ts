import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Crop { x: number; y: number; width: number; height: number }

/**
 * Decoded video frames as small grayscale pictures, for comparing content:
 * scaled to `width` x `height`, or cut to `crop` at full resolution.
 */
export async function grayFrames(ffmpeg: string, file: string, size: { width: number; height: number } | { crop: Crop } = { width: 36, height: 64 }): Promise<Buffer[]> {
  const [vf, bytes] = 'crop' in size
    ? [`crop=${size.crop.width}:${size.crop.height}:${size.crop.x}:${size.crop.y},format=gray`, size.crop.width * size.crop.height]
    : [`scale=${size.width}:${size.height},format=gray`, size.width * size.height];
  const { stdout } = await exec(ffmpeg, ['-v', 'error', '-i', file, '-vf', vf, '-f', 'rawvideo', 'pipe:1'], { encoding: 'buffer', maxBuffer: 1 << 30 });
  const frames: Buffer[] = [];
  for (let at = 0; at + bytes <= stdout.length; at += bytes) frames.push(stdout.subarray(at, at + bytes));
  return frames;
}

/** Mean absolute difference between two gray frames (0..255). */
export function meanDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}
