/** Status numbers exactly as the platform's API document defines them. */
export const TtsStatus = { Preparing: 0, Processing: 1, Success: 2, Failed: 3 } as const;
export type TtsStatus = (typeof TtsStatus)[keyof typeof TtsStatus];

export const CallbackStatus = { Initial: 0, Success: 1, Failed: 2 } as const;
export type CallbackStatus = (typeof CallbackStatus)[keyof typeof CallbackStatus];

export const VoiceStatus = { Pending: 0, Training: 1, Success: 2, Failed: 3, Expired: 4 } as const;

export const Sex = { Male: 1, Female: 2 } as const;
export type Sex = (typeof Sex)[keyof typeof Sex];
