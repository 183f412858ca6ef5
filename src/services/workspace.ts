import { PermanentError } from '../domain/errors.js';
import { MediaProbeError, probe, type ProbeResult } from '../media/probe.js';
import { ScratchFolders } from '../media/scratch.js';
import type { MediaTools } from '../media/tools.js';
import { downloadToFile, MediaFetchError } from '../net/fetch-media.js';
import type { SafeHttp } from '../net/http.js';
import type { OwnFiles } from './own-files.js';

const described = { video: 'a video file', audio: 'an audio file', media: 'a video or audio file', image: 'an image file (JPEG or PNG)' } as const;

export interface MediaLimits {
  maxVideoBytes: number; maxAudioBytes: number; downloadTimeoutMs: number;
  downloadMinBytesPerSec: number; downloadRateWindowMs: number;
}

/**
 * What a media job needs: the tools, the safe HTTP client and a scratch folder
 * per job that is removed when the job ends, whatever happens.
 */
export interface MediaWorkspaceDeps {
  tools: () => Promise<MediaTools>;
  http: SafeHttp;
  /** Where the scratch folders go. */
  root: string;
  limits: MediaLimits;
  /** An app's own uploads are copied from storage instead of downloaded. */
  ownFiles?: Pick<OwnFiles, 'copyTo'>;
}

export class MediaWorkspace {
  readonly tools: () => Promise<MediaTools>;
  private readonly http: SafeHttp;
  private readonly root: string;
  readonly limits: MediaLimits;
  private readonly ownFiles: Pick<OwnFiles, 'copyTo'> | undefined;

  constructor(deps: MediaWorkspaceDeps) {
    ({ tools: this.tools, http: this.http, root: this.root, limits: this.limits, ownFiles: this.ownFiles } = deps);
  }

  private folders?: ScratchFolders;
  /** Scratch folders under the work root; `dhp serve` sweeps killed attempts' folders at start. */
  get scratch(): ScratchFolders { return (this.folders ??= new ScratchFolders(this.root)); }

  /**
   * Runs `fn` in a fresh folder of its own (two uploads in the same millisecond
   * once shared one and served each other's bytes). A retried job first removes
   * the folder its killed attempt left behind.
   */
  async run<T>(name: string, fn: (dir: string) => Promise<T>): Promise<T> {
    await this.scratch.removeStale(name);
    const dir = await this.scratch.make(name);
    try {
      return await fn(dir);
    } finally {
      await this.scratch.release(dir);
    }
  }

  /** Downloads a user's URL and probes it; user mistakes become PermanentError sentences naming the field. */
  async fetch(appPk: number, url: string, dest: string, field: string, kind: keyof typeof described): Promise<ProbeResult> {
    const maxBytes = kind === 'audio' ? this.limits.maxAudioBytes : this.limits.maxVideoBytes;
    try {
      if (!(await this.ownFiles?.copyTo(appPk, url, dest))) {
        await downloadToFile(this.http, url, dest, {
          field, maxBytes, timeoutMs: this.limits.downloadTimeoutMs,
          minRate: { bytesPerSec: this.limits.downloadMinBytesPerSec, windowMs: this.limits.downloadRateWindowMs },
        });
      }
    } catch (err) {
      if (err instanceof MediaFetchError) throw new PermanentError(err.message);
      throw err;
    }
    try {
      return await probe(await this.tools(), dest);
    } catch (err) {
      if (err instanceof MediaProbeError) throw new PermanentError(`${field} is not ${described[kind]} that can be read (${err.message}).`);
      throw err;
    }
  }
}
