import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import { ApiError, invalid, notFound } from '../domain/errors.js';
import { cloneIdOf } from '../domain/speakers.js';
import { AuthorizeStatus, VoiceStatus } from '../domain/status.js';
import { type ConsentRecognizer, detectLanguage } from '../engines/consent/recognizer.js';
import { analyzeVoice } from '../engines/voice/analyze.js';
import { toWav16kMono } from '../media/ffmpeg.js';
import { decodeWav } from '../media/wav.js';
import type { JobQueue } from '../queue/queue.js';
import type { Db, Executor } from '../store/db.js';
import type { App, Consent, ConsentState, Job } from '../store/schema.js';
import type { MediaUrlCheck } from './urls.js';
import type { MediaWorkspace } from './workspace.js';


/**
 * A consent sentence takes seconds to say. Longer recordings are refused before they are decoded,
 * and decoding stops at this length whatever the container claims (a small file can hold hours of silence).
 */
const MAX_RECORDING_S = 60;

/**
 * Median pitch of one speaker varies by less than this between recordings (espeak voices and
 * variants: up to 1.23 between a voice's samples); a man and a woman differ by 1.6 to 2 and more.
 */
const MAX_PITCH_RATIO = 1.45;

const subjectTable = { training: 'trainings', voice: 'voices' } as const;
const granted: ConsentState[] = ['verified', 'approved'];

export interface ConsentOutcome { state: ConsentState; reason: string }

/** Consent records and operator decisions: database only, so the CLI can use them without the media stack. */
export class ConsentRecords {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  async create(tx: Executor, appPk: number, subject: Consent['subject'], subjectId: number, url: string, text: string): Promise<number> {
    const now = this.clock.now();
    const row = await tx.insertInto('consents').values({
      app_pk: appPk, subject, subject_id: subjectId, authorize_url: url, authorize_text: text,
      state: 'pending', reason: null, transcript: null, pitch_hz: null, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** A consent with no recording to check (a training sent without one): it waits for an operator or a later recording. */
  async awaitReview(tx: Executor, appPk: number, subject: Consent['subject'], subjectId: number, reason: string): Promise<number> {
    const now = this.clock.now();
    const row = await tx.insertInto('consents').values({
      app_pk: appPk, subject, subject_id: subjectId, authorize_url: '', authorize_text: '',
      state: 'review', reason, transcript: null, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Operator decision on a consent (usually one waiting for review). */
  async decide(id: number, approve: boolean, reason?: string): Promise<Consent> {
    const c = await this.byId(id);
    await this.record(id, approve ? 'approved' : 'rejected', reason ?? (approve ? 'Approved by the operator.' : 'Rejected by the operator.'), c.transcript);
    return this.byId(id);
  }

  async list(filter: { state?: ConsentState } = {}): Promise<Consent[]> {
    let q = this.db.selectFrom('consents').selectAll().orderBy('id');
    if (filter.state) q = q.where('state', '=', filter.state);
    return (await q.execute()).map(normalize);
  }

  async record(id: number, state: ConsentState, reason: string, transcript: string | null, pitchHz?: number | null): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      const c = await tx.updateTable('consents').set({ state, reason, transcript, ...(pitchHz !== undefined ? { pitch_hz: pitchHz } : {}), updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      // Only the newest consent of a subject decides its authorize status.
      const newest = await tx.selectFrom('consents').select('id').where('subject', '=', c.subject).where('subject_id', '=', c.subject_id)
        .orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
      if (Number(newest.id) !== id) return;
      await tx.updateTable(subjectTable[c.subject]).set({ authorize_status: granted.includes(state) ? AuthorizeStatus.Yes : AuthorizeStatus.No, updated_at: now })
        .where('id', '=', c.subject_id).execute();
    });
  }

  async byId(id: number): Promise<Consent> {
    const c = await this.db.selectFrom('consents').selectAll().where('id', '=', id).executeTakeFirst();
    if (!c) throw notFound(`Consent ${id}`);
    return normalize(c);
  }
}

/**
 * Consent: the `authorizeUrl` recording must contain `authorizeText` spoken.
 * A recognizer checks it where one exists for the language; otherwise the
 * consent waits for an operator (`dhp consent approve|reject`). The subject's
 * `authorize_status` is 1 exactly when its latest consent is verified or approved.
 */
export interface ConsentDeps {
  db: Db;
  records: ConsentRecords;
  queue: JobQueue;
  recognizer: () => Promise<ConsentRecognizer>;
  media: MediaWorkspace;
  mediaUrl: MediaUrlCheck;
  /** Whether an avatar or voice without granted consent is refused (DHP_CONSENT_REQUIRED). */
  required: boolean;
}

export class ConsentService {
  private readonly db: Db;
  readonly records: ConsentRecords;
  private readonly queue: JobQueue;
  private readonly recognizer: () => Promise<ConsentRecognizer>;
  private readonly media: MediaWorkspace;
  private readonly mediaUrl: MediaUrlCheck;
  readonly required: boolean;

  constructor(deps: ConsentDeps) {
    ({ db: this.db, records: this.records, queue: this.queue, recognizer: this.recognizer, media: this.media, mediaUrl: this.mediaUrl, required: this.required } = deps);
  }

  /**
   * The consent a training or cloning job checks: the one an earlier attempt of the same job
   * recorded (same subject, URL and text, recorded since the job was queued), else a new one.
   * A retried job thus neither adds a consent row nor checks the recording twice.
   */
  async forJob(job: Job, appPk: number, subject: Consent['subject'], subjectId: number, url: string, text: string): Promise<number> {
    const earlier = await this.db.selectFrom('consents').select('id')
      .where('subject', '=', subject).where('subject_id', '=', subjectId).where('authorize_url', '=', url).where('authorize_text', '=', text)
      .where('created_at', '>=', job.created_at).orderBy('id', 'desc').limit(1).executeTakeFirst();
    return earlier ? Number(earlier.id) : this.records.create(this.db, appPk, subject, subjectId, url, text);
  }

  /** Historical avatar authorization (7.1): a new consent recording for the training that made `sceneId`. */
  async authorizeScene(app: App, body: { sceneId: string | number; authorizeUrl: string; authorizeText: string }): Promise<void> {
    const sceneId = Number(body.sceneId);
    const training = await this.db.selectFrom('trainings').select('id').where('scene_id', '=', sceneId).where('app_pk', '=', app.id).executeTakeFirst();
    if (!training) throw notFound(`Scene ${sceneId}`);
    const url = await this.mediaUrl(app.id, body.authorizeUrl, 'authorizeUrl');
    await this.submit(app.id, 'training', Number(training.id), url, body.authorizeText.trim());
  }

  /** Historical voice authorization (7.2): a new consent recording for a cloned voice that did not fail. */
  async authorizeVoice(app: App, body: { speakerId: string; authorizeUrl: string; authorizeText: string }): Promise<void> {
    const id = cloneIdOf(body.speakerId);
    const voice = id === null ? undefined
      : await this.db.selectFrom('voices').select(['id', 'status']).where('id', '=', id).where('app_pk', '=', app.id).executeTakeFirst();
    if (!voice) throw notFound(`Voice ${body.speakerId}`);
    if (voice.status === VoiceStatus.Failed) throw invalid(`speakerId "${body.speakerId}" failed to clone; there is nothing to authorize.`);
    const url = await this.mediaUrl(app.id, body.authorizeUrl, 'authorizeUrl');
    await this.submit(app.id, 'voice', Number(voice.id), url, body.authorizeText.trim());
  }

  /** Records a new consent for an existing subject and checks it as a task. */
  async submit(appPk: number, subject: Consent['subject'], subjectId: number, url: string, text: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const id = await this.records.create(tx, appPk, subject, subjectId, url, text);
      await this.queue.enqueue(tx, 'consent.verify', id, { appPk });
    });
  }

  /** The 'consent.verify' job. */
  async run(job: Job): Promise<void> {
    await this.verify(job.ref_id);
  }

  async giveUp(job: Job, reason: string): Promise<void> {
    await this.records.record(job.ref_id, 'refused', reason, null);
  }

  /** Downloads and checks the recording of consent `id`, records and returns the outcome. */
  async verify(id: number): Promise<ConsentOutcome> {
    const c = await this.records.byId(id);
    if (c.state !== 'pending') return { state: c.state, reason: c.reason ?? '' };
    const result = await this.media.run(`consent-${id}`, async (dir) => {
      const media = path.join(dir, 'authorize');
      const probed = await this.media.fetch(c.app_pk, c.authorize_url, media, 'authorizeUrl', 'media');
      if (!probed.audio) return { verdict: 'refused' as const, reason: 'authorizeUrl has no sound track; record the person speaking the consent sentence.' };
      const language = detectLanguage(c.authorize_text);
      const recognizer = await this.recognizer();
      if (language !== 'en' || !recognizer.available) {
        const why = language === 'en'
          ? 'no speech recognizer is installed on this server'
          : `no speech recognizer is available for ${language === 'zh' ? 'Mandarin' : 'this language'}`;
        return { verdict: 'unavailable' as const, reason: `Consent could not be checked automatically (${why}); an operator must review the recording.` };
      }
      if (probed.durationMs > MAX_RECORDING_S * 1000) {
        return { verdict: 'refused' as const, reason: `authorizeUrl is ${Math.round(probed.durationMs / 1000)} s long; a consent recording must be at most ${MAX_RECORDING_S} s: just the person saying the consent sentence.` };
      }
      const wav = path.join(dir, 'authorize-16k.wav');
      await toWav16kMono(await this.media.tools(), media, wav, MAX_RECORDING_S);
      const pitchHz = analyzeVoice(decodeWav(await readFile(wav))).medianPitchHz;
      return { ...(await recognizer.check(wav, c.authorize_text)), pitchHz };
    });
    const state: ConsentState = result.verdict === 'verified' ? 'verified' : result.verdict === 'refused' ? 'refused' : 'review';
    await this.records.record(id, state, result.reason, 'transcript' in result ? result.transcript ?? null : null, 'pitchHz' in result ? result.pitchHz : null);
    return { state, reason: result.reason };
  }

  /**
   * Binds a verified voice consent to the sample being cloned: when the consent recording's voice
   * is clearly pitched unlike the sample's (a man's consent for a woman's sample), the consent goes
   * to an operator instead. Pitch is a coarse check — it cannot tell two women apart — but it stops
   * the plainest misuse: someone else, or a TTS voice, consenting for the person.
   */
  async bindToVoice(id: number, samplePitchHz: number | null): Promise<ConsentOutcome> {
    const c = await this.records.byId(id);
    if (c.state !== 'verified' || c.pitch_hz === null || samplePitchHz === null) return { state: c.state, reason: c.reason ?? '' };
    const ratio = Math.max(c.pitch_hz, samplePitchHz) / Math.min(c.pitch_hz, samplePitchHz);
    if (ratio <= MAX_PITCH_RATIO) return { state: c.state, reason: c.reason ?? '' };
    const reason = `An operator must review the consent: the voice in the consent recording (median pitch ${Math.round(c.pitch_hz)} Hz) `
      + `does not sound like the voice sample (${Math.round(samplePitchHz)} Hz), so the person consenting may not be the person cloned.`;
    await this.records.record(id, 'review', reason, c.transcript);
    return { state: 'review', reason };
  }

  /** Refuses to use a subject whose consent is not granted, unless the operator relaxed the rule. */
  assertUsable(what: string, authorizeStatus: number): void {
    if (this.required && authorizeStatus !== AuthorizeStatus.Yes) {
      throw new ApiError('INVALID_PARAMETER',
        `${what} cannot be used yet: its consent recording is not verified or approved. Submit a consent recording (authorize endpoint) or ask the operator to review it.`);
    }
  }
}

function normalize(c: Consent): Consent {
  return { ...c, id: Number(c.id), app_pk: Number(c.app_pk), subject_id: Number(c.subject_id) };
}
