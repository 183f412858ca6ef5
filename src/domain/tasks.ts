/**
 * The four kinds of task a client submits, each described once: the table that holds it, its
 * status numbers and their names, which statuses are still running, which end it and which one
 * is success, the quota it spends and the task type its callback carries.
 *
 * The server settles tasks from this (services/lifecycle.ts), the callback outbox reports into
 * these tables, and the SDK's status table is generated from it (scripts/gen-sdk-types.ts), so
 * the CLI and the console name every status as the server does.
 */
import { AuthorizeStatus, SynthesisStatus, TrainingStatus, TtsStatus, VoiceStatus } from './status.js';

export type TaskKind = 'tts' | 'voice' | 'training' | 'video';
export type QuotaKind = 'tts_words' | 'fast_duration' | 'fast_training' | 'voice_clone';
export type CallbackTaskType = 'tts-synthesis' | 'voice-clone' | 'video-training' | 'video-synthesis';

export interface TaskDescription {
  kind: TaskKind;
  /** What a person calls it ("avatar training"). */
  noun: string;
  table: 'tts_syntheses' | 'voices' | 'trainings' | 'videos';
  /** The record's field that holds the status on the wire. */
  statusField: 'status' | 'synthesisStatus';
  /** Every status number the API document defines for the kind, with its name. */
  statuses: Readonly<Record<number, string>>;
  /** Statuses of a task that has not ended: the only ones a settle may leave. */
  active: readonly number[];
  /** Statuses that end the task. */
  final: readonly number[];
  success: number;
  quota: QuotaKind;
  callbackType: CallbackTaskType;
}

const names = <T extends Record<string, number>>(enumeration: T, label: Partial<Record<keyof T, string>> = {}) =>
  Object.fromEntries(Object.entries(enumeration).map(([key, n]) => [n, label[key as keyof T] ?? key])) as Record<number, string>;

export const tasks = {
  tts: {
    kind: 'tts', noun: 'audio synthesis', table: 'tts_syntheses', statusField: 'status',
    statuses: names(TtsStatus, { Success: 'Succeeded' }),
    active: [TtsStatus.Preparing, TtsStatus.Processing], final: [TtsStatus.Success, TtsStatus.Failed], success: TtsStatus.Success,
    quota: 'tts_words', callbackType: 'tts-synthesis',
  },
  voice: {
    kind: 'voice', noun: 'voice clone', table: 'voices', statusField: 'status',
    // Expired (4) is never stored: a voice reads as expired once its expireTime has passed.
    statuses: names(VoiceStatus, { Success: 'Succeeded' }),
    active: [VoiceStatus.Pending, VoiceStatus.Training], final: [VoiceStatus.Success, VoiceStatus.Failed, VoiceStatus.Expired], success: VoiceStatus.Success,
    quota: 'voice_clone', callbackType: 'voice-clone',
  },
  training: {
    kind: 'training', noun: 'avatar training', table: 'trainings', statusField: 'status',
    statuses: names(TrainingStatus, { Success: 'Succeeded' }),
    active: [TrainingStatus.Pending, TrainingStatus.Training],
    final: [TrainingStatus.Success, TrainingStatus.Failed, TrainingStatus.Rejected], success: TrainingStatus.Success,
    quota: 'fast_training', callbackType: 'video-training',
  },
  video: {
    kind: 'video', noun: 'video synthesis', table: 'videos', statusField: 'synthesisStatus',
    statuses: names(SynthesisStatus, { Success: 'Succeeded', TaskFailed: 'Task failed' }),
    // Editing (-1) is the cloud's draft state; dhp never stores it, but a client may see it from the cloud.
    active: [SynthesisStatus.Editing, SynthesisStatus.Queued, SynthesisStatus.Processing],
    final: [SynthesisStatus.Success, SynthesisStatus.Failed, SynthesisStatus.Canceled, SynthesisStatus.TaskFailed], success: SynthesisStatus.Success,
    quota: 'fast_duration', callbackType: 'video-synthesis',
  },
} as const satisfies Record<TaskKind, TaskDescription>;

/** The kind whose callbacks carry `type`. */
export const taskOfCallback = (type: CallbackTaskType): TaskDescription =>
  Object.values(tasks).find((t) => t.callbackType === type)!;

/** Consent of an avatar or a voice (authorizeStatus), named for people. */
export const authorizeStatuses: Readonly<Record<number, string>> = names(AuthorizeStatus, { No: 'Not authorized', Yes: 'Authorized' });

/** A status as people read it: its name, whether the task has ended, and whether it succeeded. */
export function describeStatus(kind: TaskKind, status: number): { label: string; done: boolean; ok: boolean } {
  const t: TaskDescription = tasks[kind];
  return { label: t.statuses[status] ?? `Status ${status}`, done: !t.active.includes(status), ok: status === t.success };
}
