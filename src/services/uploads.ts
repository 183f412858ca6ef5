import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../clock.js';
import { ApiError, invalid } from '../domain/errors.js';
import { MediaProbeError, probe, type ProbeResult } from '../media/ffmpeg.js';
import { isValidKey, newKey, type Storage } from '../media/storage.js';
import type { Db } from '../store/db.js';
import type { App, UploadsTable } from '../store/schema.js';
import type { MediaWorkspace } from './workspace.js';

export interface UploadView { url: string; kind: UploadsTable['kind']; format: string; size: number; durationMs: number | null }

/**
 * Uploads (a dhp extension): a caller sends a local file and gets a URL that dhp
 * serves and accepts as videoUrl / audioUrl / authorizeUrl. Reading such a URL
 * goes to storage, not over the network, so it needs no private-address
 * allowance; it works only for the app that uploaded it.
 */
export class UploadService {
  constructor(
    private readonly db: Db,
    private readonly storage: Storage,
    private readonly media: MediaWorkspace,
    private readonly clock: Clock,
    private readonly fileUrl: (key: string) => string,
  ) {}

  async save(app: App, file: Readable & { truncated?: boolean }, maxBytes: number): Promise<UploadView> {
    return this.media.run('upload', async (dir) => {
      const tmp = path.join(dir, 'upload');
      const tooLarge = () => new ApiError('PAYLOAD_TOO_LARGE', `file is larger than the ${Math.round(maxBytes / 1024 / 1024)} MB this server accepts.`);
      try {
        await pipeline(file, createWriteStream(tmp));
      } catch (err) {
        throw (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE' ? tooLarge() : err;
      }
      if (file.truncated) throw tooLarge();
      const size = (await stat(tmp)).size;
      if (size === 0) throw invalid('file is empty.');
      let probed: ProbeResult;
      try {
        probed = await probe(await this.media.tools(), tmp);
      } catch (err) {
        if (err instanceof MediaProbeError) throw invalid(`file is not a video, audio or image file that can be read (${err.message}).`);
        throw err;
      }
      const { kind, ext } = classify(probed);
      const key = newKey('uploads', ext);
      await this.storage.putFile(key, tmp);
      await this.db.insertInto('uploads').values({ key, app_pk: app.id, kind, format: probed.formatName, size, created_at: this.clock.now() }).execute();
      return { url: this.fileUrl(key), kind, format: probed.formatName, size, durationMs: kind === 'image' ? null : Math.round(probed.durationMs) };
    });
  }

  /** True when `url` is under this server's /files/ (an upload or any other file it serves). */
  isFilesUrl(url: URL): boolean {
    const files = new URL(this.fileUrl(''));
    return url.origin === files.origin && url.pathname.startsWith(files.pathname);
  }

  /**
   * Refuses, at accept time, a file URL of this server that is not one of the app's own
   * uploads (another app's upload, a generated video...): dhp would otherwise fetch it
   * over the network later and fail, or hand one tenant's file to another.
   */
  async assertOwnFile(appPk: number, url: URL, field: string): Promise<void> {
    if (!this.isFilesUrl(url)) return;
    const key = this.keyOf(url);
    const row = key === null ? undefined
      : await this.db.selectFrom('uploads').select('key').where('key', '=', key).where('app_pk', '=', appPk).executeTakeFirst();
    if (!row) {
      throw invalid(`${field} is a file URL of this server that your app did not upload; upload the file with POST /openapi/file/upload and use the URL it answers.`);
    }
  }

  /** Copies the caller's upload named by `url` to `dest`; false when the URL is not one of the app's uploads. */
  async copyOwn(appPk: number, url: string, dest: string): Promise<boolean> {
    let parsed: URL;
    try { parsed = new URL(url); } catch { return false; }
    const key = this.keyOf(parsed);
    if (!key) return false;
    const row = await this.db.selectFrom('uploads').select('key').where('key', '=', key).where('app_pk', '=', appPk).executeTakeFirst();
    return row !== undefined && this.storage.copyTo(key, dest);
  }

  /** The storage key of an upload URL (as fileUrl makes them), else null. */
  private keyOf(url: URL): string | null {
    const files = new URL(this.fileUrl(''));
    if (url.origin !== files.origin || !url.pathname.startsWith(`${files.pathname}uploads/`)) return null;
    const key = url.pathname.slice(files.pathname.length);
    return isValidKey(key) ? key : null;
  }
}

function classify(p: ProbeResult): { kind: UploadsTable['kind']; ext: string } {
  const format = p.formatName;
  if (/image2|png_pipe|jpeg_pipe|webp_pipe/.test(format) || (p.video && !p.audio && p.durationMs === 0)) {
    return { kind: 'image', ext: /png/.test(format) || p.video?.codec === 'png' ? 'png' : 'jpg' };
  }
  if (p.video) return { kind: 'video', ext: /webm|matroska/.test(format) ? 'webm' : /mov|mp4/.test(format) ? 'mp4' : 'mov' };
  if (format === 'wav') return { kind: 'audio', ext: 'wav' };
  if (format === 'mp3') return { kind: 'audio', ext: 'mp3' };
  if (/ogg/.test(format)) return { kind: 'audio', ext: 'ogg' };
  if (/flac/.test(format)) return { kind: 'audio', ext: 'flac' };
  return { kind: 'audio', ext: 'm4a' };
}

