import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errorTable, numericCode, type ErrorCode } from '../domain/errors.js';
import { pathOf, redactUrl } from './redact.js';

export const ok = <T>(data: T, message = 'Request successful') => ({ code: '0', success: true, message, data });

/**
 * `code` is the error's numeric code (what clients of the cloud platform compare with 0);
 * `error` is its symbolic name, a dhp addition that dhp's SDK, CLI and console read.
 */
export function errorBody(name: ErrorCode, message: string) {
  return { code: numericCode(name), success: false, message, data: null, error: name };
}

interface AjvError { instancePath?: string; message?: string; keyword?: string; params?: Record<string, unknown> }

/** Turns Ajv's first error into a sentence naming the field, e.g. "size must be <= 100". */
export function describeValidation(errors: AjvError[], context: string | undefined): string {
  const e = errors[0] ?? {};
  const where = context === 'querystring' ? 'query parameter' : context === 'params' ? 'path parameter' : 'field';
  let field = (e.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') field = [field, String(e.params?.missingProperty ?? '')].filter(Boolean).join('.');
  if (!field) return `The request ${context === 'body' ? 'body must be a JSON object' : 'is invalid'}: ${e.message ?? 'invalid value'}.`;
  switch (e.keyword) {
    case 'required': return `${field} is required (${where}).`;
    case 'type': return `${field} must be ${article(String(e.params?.type ?? 'valid value'))} (${where}).`;
    case 'pattern':
      return field === 'id' ? 'id must be a positive integer (path parameter).' : `${field} has an invalid format (${where}).`;
    case 'anyOf': return `${field} has an invalid value or type (${where}).`;
    case 'minLength': {
      const n = Number(e.params?.limit);
      return n === 1 ? `${field} must not be empty (${where}).` : `${field} must be at least ${n} characters long (${where}).`;
    }
    case 'maxLength': return `${field} must be at most ${Number(e.params?.limit)} characters long (${where}).`;
    case 'minimum': return `${field} must be at least ${Number(e.params?.limit)} (${where}).`;
    case 'maximum': return `${field} must be at most ${Number(e.params?.limit)} (${where}).`;
    default: return `${field} ${e.message ?? 'is invalid'} (${where}).`;
  }
}

function article(type: string): string {
  const t = type.split(',')[0];
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/**
 * One error handler for everything: known errors keep their code and message;
 * anything else is a 500 whose message carries only the request id.
 */
export function handleError(error: FastifyError | ApiError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ApiError) {
    return reply.status(error.httpStatus).headers(error.headers).send(errorBody(error.code, error.message));
  }
  const fe = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fe.validation) {
    return reply.status(400).send(errorBody('INVALID_PARAMETER', describeValidation(fe.validation, fe.validationContext)));
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply.status(413).send(errorBody('PAYLOAD_TOO_LARGE', 'The request body is larger than this server accepts; send less data.'));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply.status(415).send(errorBody('UNSUPPORTED_MEDIA_TYPE', 'This Content-Type is not accepted here: send JSON (Content-Type: application/json), or multipart/form-data to /openapi/file/upload.'));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply.status(400).send(errorBody('INVALID_JSON', 'The request body is empty; send a JSON object.'));
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return reply.status(400).send(errorBody('INVALID_JSON', 'The request body is not valid JSON.'));
  }
  if (error instanceof SyntaxError || fe.statusCode === 400) {
    return reply.status(400).send(errorBody('INVALID_JSON', 'The request body is not valid JSON.'));
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    const name = (Object.entries(errorTable).find(([, e]) => e.status === fe.statusCode)?.[0] ?? 'INVALID_PARAMETER') as ErrorCode;
    return reply.status(fe.statusCode).send(errorBody(name, redactUrl(fe.message)));
  }
  // The error may quote a URL (a fetch, a parser): the log line gets it without credentials.
  request.log.error({
    reqId: request.id, path: pathOf(request.url),
    err: { type: error.name, message: redactUrl(error.message), stack: redactUrl(error.stack ?? '') },
  }, 'unhandled error');
  return reply.status(500).send(errorBody('INTERNAL_ERROR', `The server failed to handle this request; it has been logged (reference ${request.id}).`));
}
