/** Time as a dependency, so rules about expiry and windows can be tested without waiting. */
export interface Clock { now(): number }
export const systemClock: Clock = { now: () => Date.now() };
