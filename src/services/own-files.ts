import { invalid } from '../domain/errors.js';
import { isValidKey, type Storage } from '../media/storage.js';
import type { Db } from '../store/db.js';

/**
 * The files an app uploaded, as URLs of this server: what the upload endpoint makes and what
 * media jobs read back from storage instead of over the network. Both the uploads and the media
 * workspace take this one small piece, so neither needs the other.
 */
export class OwnFiles {
  private readonly db: Db;
  private readonly storage: Storage;
  private readonly fileUrl: (key: string) => string;

  constructor(deps: { db: Db; storage: Storage; fileUrl: (key: string) => string }) {
    ({ db: this.db, storage: this.storage, fileUrl: this.fileUrl } = deps);
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
  async copyTo(appPk: number, url: string, dest: string): Promise<boolean> {
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
