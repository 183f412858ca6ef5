import path from 'node:path';
import type { Harness } from './helpers.js';

/** Where the embedded disk storage keeps a key (tests read produced media directly). */
export function storagePath(h: Harness, key: string): string {
  return path.join(h.dir, 'files', ...key.split('/'));
}
