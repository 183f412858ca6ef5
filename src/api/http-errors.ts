import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ErrorCode } from '../domain/errors.js';
import { errorBody, handleError } from './envelope.js';
export { pathOf, redactUrl } from './redact.js';

/**
 * Errors Fastify raises before any route runs (the router could not read the path).
 * Its own answers echo the whole URL, access token included, outside the envelope.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return reply.status(400).send(errorBody('MALFORMED_REQUEST',
        'The URL path is not valid: a "%" must be followed by two hexadecimal digits (percent-encoding).'));
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return reply.status(400).send(errorBody('INVALID_PARAMETER',
        'A path parameter is longer than 100 characters; ids are at most 15 digits and speakerIds at most 64 characters.'));
  }
  return handleError(error, request, reply);
}

/** llhttp's refusals, as sentences a caller can act on. The parser's own message is never echoed. */
const parserProblems: Record<string, string> = {
  HPE_INVALID_METHOD: 'The request method is not valid: use an uppercase method such as GET or POST.',
  HPE_INVALID_URL: 'The request target is not valid: percent-encode non-ASCII characters, spaces and control characters in the URL.',
  HPE_INVALID_HEADER_TOKEN: 'A request header is malformed: header names are tokens without spaces, and values have no control characters.',
  HPE_INVALID_CONSTANT: 'The request line is not valid HTTP/1.1.',
  HPE_INVALID_VERSION: 'The HTTP version is not valid: send HTTP/1.1.',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length and Transfer-Encoding cannot be sent together.',
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length is not a valid number.',
  HPE_INVALID_TRANSFER_ENCODING: 'Transfer-Encoding is not valid: chunked must be the last encoding.',
  HPE_INVALID_CHUNK_SIZE: 'A chunk size in the chunked body is not valid hexadecimal.',
  HPE_LF_EXPECTED: 'Header lines must end with CRLF.',
  HPE_CR_EXPECTED: 'Header lines must end with CRLF.',
};

function describeClientError(err: NodeJS.ErrnoException): { status: number; code: ErrorCode; message: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, code: 'REQUEST_HEADERS_TOO_LARGE', message: 'The request headers are larger than this server accepts (16 KiB in all); send shorter headers or a shorter URL.' };
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request was not received in time; send it again.' };
  }
  return {
    status: 400, code: 'MALFORMED_REQUEST',
    message: parserProblems[err.code ?? ''] ?? 'The request is not valid HTTP/1.1 and could not be read.',
  };
}

/**
 * Requests Node's HTTP parser refuses never reach Fastify; this answers them in the
 * envelope on the raw socket and closes it (the rest of the stream cannot be trusted).
 */
export function clientErrorHandler(log: Logger) {
  return (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { status, code, message } = describeClientError(err);
    log.debug({ code: err.code, status }, 'refused a request the HTTP parser could not read');
    // A response already under way cannot be replaced; Node's own handler checks the same.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const body = JSON.stringify(errorBody(code, message));
      socket.write(`HTTP/1.1 ${status} ${reason(status)}\r\nContent-Type: application/json; charset=utf-8\r\n`
        + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}

function reason(status: number): string {
  return { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status] ?? 'Bad Request';
}
