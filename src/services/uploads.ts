import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../clock.js';
import { ApiError, invalid } from '../domain/errors.js';
import { MediaProbeError, probe, type ProbeResult } from '../media/probe.js';
import { newKey, type Storage } from '../media/storage.js';
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
  private readonly db: Db;
  private readonly storage: Storage;
  private readonly media: MediaWorkspace;
  private readonly clock: Clock;
  private readonly fileUrl: (key: string) => string;

  constructor(deps: { db: Db; storage: Storage; media: MediaWorkspace; clock: Clock; fileUrl: (key: string) => string }) {
    ({ db: this.db, storage: this.storage, media: this.media, clock: this.clock, fileUrl: this.fileUrl } = deps);
  }

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

