/**
 * Errors a client sees. Each has a stable string code (documented in
 * docs/errors.md) and the HTTP status that goes with it; the message is a
 * sentence the caller can act on.
 */
export const errorCodes = {
  INVALID_PARAMETER: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  SIGNATURE_INVALID: 401,
  TIMESTAMP_OUT_OF_WINDOW: 401,
  QUOTA_EXCEEDED: 403,
  NOT_FOUND: 404,
  IDEMPOTENCY_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  TOO_MANY_TASKS: 429,
  INTERNAL_ERROR: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class ApiError extends Error {
  readonly httpStatus: number;
  constructor(readonly code: ErrorCode, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.httpStatus = errorCodes[code];
  }
}

export const invalid = (message: string) => new ApiError('INVALID_PARAMETER', message);
export const notFound = (what: string) => new ApiError('NOT_FOUND', `${what} was not found.`);
