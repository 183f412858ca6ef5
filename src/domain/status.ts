/** Status numbers exactly as the platform's API document defines them. */
export const TtsStatus = { Preparing: 0, Processing: 1, Success: 2, Failed: 3 } as const;
export type TtsStatus = (typeof TtsStatus)[keyof typeof TtsStatus];

export const CallbackStatus = { Initial: 0, Success: 1, Failed: 2 } as const;
export type CallbackStatus = (typeof CallbackStatus)[keyof typeof CallbackStatus];

export const VoiceStatus = { Pending: 0, Training: 1, Success: 2, Failed: 3, Expired: 4 } as const;

export const Sex = { Male: 1, Female: 2 } as const;
export type Sex = (typeof Sex)[keyof typeof Sex];

/** Video synthesis (synthesisStatus): -1 editing, 1 queued, 2 processing, 3 success, 4 failed, 6 canceled (a dhp addition), 7 task failed (unusable input). */
export const SynthesisStatus = { Editing: -1, Queued: 1, Processing: 2, Success: 3, Failed: 4, Canceled: 6, TaskFailed: 7 } as const;
export type SynthesisStatus = (typeof SynthesisStatus)[keyof typeof SynthesisStatus];

/** Avatar training: 4 is a rejected consent. */
export const TrainingStatus = { Pending: 0, Training: 1, Success: 2, Failed: 3, Rejected: 4 } as const;
export type TrainingStatus = (typeof TrainingStatus)[keyof typeof TrainingStatus];

/** Consent of a trained avatar or a cloned voice (authorizeStatus). */
export const AuthorizeStatus = { No: 0, Yes: 1 } as const;
export type AuthorizeStatus = (typeof AuthorizeStatus)[keyof typeof AuthorizeStatus];
