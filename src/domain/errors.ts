/**
 * Errors a client sees: the one table (documented in docs/errors.md). Each
 * error has a symbolic name (sent as the envelope's `error` field, and what
 * the code throws), the HTTP status that goes with it and a numeric `code`.
 *
 * The envelope's `code` is numeric because clients of the cloud platform test
 * it as a number: PHP 7's `$r['code'] != 0` is false for any non-numeric
 * string, so a symbolic code there reads as success. The first three digits
 * are the HTTP status; the last two number the errors sharing that status.
 *
 * To add an error: one line here (a name, its status, the next free code for
 * that status), one row in docs/errors.md. Never reuse or renumber a code:
 * clients compare them.
 */
export const errorTable = {
  INVALID_PARAMETER: { status: 400, code: '40001' },
  INVALID_JSON: { status: 400, code: '40002' },
  MALFORMED_REQUEST: { status: 400, code: '40003' },
  UNAUTHORIZED: { status: 401, code: '40101' },
  TOKEN_EXPIRED: { status: 401, code: '40102' },
  SIGNATURE_INVALID: { status: 401, code: '40103' },
  TIMESTAMP_OUT_OF_WINDOW: { status: 401, code: '40104' },
  QUOTA_EXCEEDED: { status: 403, code: '40301' },
  NOT_FOUND: { status: 404, code: '40401' },
  REQUEST_TIMEOUT: { status: 408, code: '40801' },
  IDEMPOTENCY_CONFLICT: { status: 409, code: '40901' },
  VIDEO_ALREADY_ENDED: { status: 409, code: '40902' },
  TRAINING_STILL_RUNNING: { status: 409, code: '40903' },
  PAYLOAD_TOO_LARGE: { status: 413, code: '41301' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, code: '41501' },
  RATE_LIMITED: { status: 429, code: '42901' },
  TOO_MANY_TASKS: { status: 429, code: '42902' },
  REQUEST_HEADERS_TOO_LARGE: { status: 431, code: '43101' },
  INTERNAL_ERROR: { status: 500, code: '50001' },
  UNAVAILABLE: { status: 503, code: '50301' },
} as const satisfies Record<string, { status: number; code: `${number}` }>;

export type ErrorCode = keyof typeof errorTable;

/** The HTTP status of each error, by name. */
export const errorCodes = Object.fromEntries(Object.entries(errorTable).map(([name, e]) => [name, e.status])) as { [K in ErrorCode]: (typeof errorTable)[K]['status'] };

/** The numeric code (a string, as the envelope's `code` is) of an error. */
export const numericCode = (name: ErrorCode): string => errorTable[name].code;

export class ApiError extends Error {
  readonly httpStatus: number;
  constructor(readonly code: ErrorCode, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.httpStatus = errorTable[code].status;
  }
}

export const invalid = (message: string) => new ApiError('INVALID_PARAMETER', message);
export const notFound = (what: string) => new ApiError('NOT_FOUND', `${what} was not found.`);

/**
 * A task failure that retrying cannot fix (bad input, a refused URL). Its message is
 * shown to the user as the task's reason, so it must be a sentence they can act on.
 */
export class PermanentError extends Error {}
