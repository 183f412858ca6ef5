/**
 * A failure that retrying cannot fix (bad input, a refused URL). Its message is
 * shown to the user as the task's reason, so it must be a sentence they can act on.
 */
export class PermanentError extends Error {}
