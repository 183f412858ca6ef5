// The lip-sync engine contract: make an avatar clip speak a given audio track.
// Lip-sync for real-person avatars needs a GPU model that dhp cannot run itself, so
// implementations are adapters to external services (see duix.ts).

export interface LipsyncProgress {
  /** 'queued': the engine has not started on this job yet (e.g. busy with another one). */
  state: 'queued' | 'running';
  /** 0..100 when the engine reports it. */
  progress?: number;
}

export interface LipsyncJob {
  /** Local path of the avatar clip (mp4). */
  video: string;
  /** Local path of the speech (wav). */
  audio: string;
  /** Where to write the resulting mp4. Nothing is written there unless the job succeeds. */
  output: string;
  /** Passed through to the engine (Duix's `pn` switch, which picks its rendering path; its own client sends 1). */
  pn: 0 | 1;
  /** Aborting stops waiting for the engine; render() then rejects with an Error named 'AbortError'. */
  signal?: AbortSignal;
  onProgress?: (p: LipsyncProgress) => void;
}

export interface LipsyncEngine {
  readonly name: string;
  /**
   * Resolves once `job.output` holds the result. Rejects with LipsyncError for engine-side
   * failures, with an AbortError when `job.signal` fires, and with any other Error for
   * dhp-internal problems (e.g. an input file that does not exist).
   */
  render(job: LipsyncJob): Promise<void>;
}

/**
 * A lip-sync job failed on the engine's side. The message is a sentence for end users
 * ("the lip-sync engine failed: <its message>") and never names internal hosts; the
 * underlying error, if any, is kept as `cause` for logs.
 *
 * `permanent` tells the worker whether retrying can help: false for network trouble,
 * HTTP 5xx and timeouts; true when the engine itself reported that the job failed.
 */
export class LipsyncError extends Error {
  constructor(message: string, readonly permanent: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LipsyncError';
  }
}
