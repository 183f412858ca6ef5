import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Where produced and downloaded media live. Keys are chosen by dhp, never by a
 * user, and contain a random part so served URLs cannot be guessed.
 */
export interface Storage {
  put(key: string, data: Buffer): Promise<void>;
  /** Stores a file made on local disk (large media), consuming it. */
  putFile(key: string, file: string): Promise<void>;
  read(key: string): Promise<{ stream: Readable; size: number } | null>;
  exists(key: string): Promise<boolean>;
  /** Copies a stored file to local disk for tools that need a path (ffmpeg); false when it does not exist. */
  copyTo(key: string, dest: string): Promise<boolean>;
  delete(key: string): Promise<void>;
}

const KEY_PATTERN = /^[a-z0-9-]+(\/[A-Za-z0-9_-]+)*\.(wav|srt|mp4|jpg|png|json|mp3|m4a|webm|ogg|flac|mov)$/;

export function isValidKey(key: string): boolean {
  return KEY_PATTERN.test(key) && !key.includes('..');
}

/** A new unguessable key under `prefix`, e.g. `tts/2026-11/<24 random chars>.wav`. */
export function newKey(prefix: string, ext: string, now = new Date()): string {
  const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  return `${prefix}/${month}/${randomBytes(18).toString('base64url')}.${ext}`;
}

export class DiskStorage implements Storage {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    if (!isValidKey(key)) throw new Error(`invalid storage key: ${key}`);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, data: Buffer): Promise<void> {
    const file = this.pathOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    // Write then rename: a crash never leaves a half file under the final name.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
    await writeFile(tmp, data);
    await rename(tmp, file);
  }

  async putFile(key: string, file: string): Promise<void> {
    const dest = this.pathOf(key);
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await rename(file, dest);
    } catch (err) {
      // Another filesystem: copy under a temporary name, then rename.
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
      await copyFile(file, tmp);
      await rename(tmp, dest);
      await unlink(file);
    }
  }

  async read(key: string): Promise<{ stream: Readable; size: number } | null> {
    if (!isValidKey(key)) return null;
    const file = this.pathOf(key);
    try {
      const s = await stat(file);
      if (!s.isFile()) return null;
      return { stream: createReadStream(file), size: s.size };
    } catch {
      return null;
    }
  }

  async copyTo(key: string, dest: string): Promise<boolean> {
    const file = await this.read(key);
    if (!file) return false;
    await pipeline(file.stream, createWriteStream(dest));
    return true;
  }

  async exists(key: string): Promise<boolean> {
    if (!isValidKey(key)) return false;
    try { return (await stat(this.pathOf(key))).isFile(); } catch { return false; }
  }

  async delete(key: string): Promise<void> {
    try { await unlink(this.pathOf(key)); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
  }
}
