import Fastify, { LogController, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Services } from './context.js';
import { ApiError } from '../domain/errors.js';
import type { Api } from './context.js';
import { errorBody, handleError } from './envelope.js';
import { clientErrorHandler, frameworkErrors } from './http-errors.js';
import { pathOf } from './redact.js';
import { accountRoutes } from './routes/account.js';
import { authRoutes } from './routes/auth.js';
import { catalogRoutes } from './routes/catalog.js';
import { cloningRoutes } from './routes/cloning.js';
import { consoleRoutes } from './routes/console.js';
import { videoRoutes } from './routes/videos.js';
import { uploadRoutes } from './routes/uploads.js';
import { systemRoutes } from './routes/system.js';
import { ttsRoutes } from './routes/tts.js';

/**
 * Who may call the route that matched. Every /openapi/ route needs a token unless it says
 * otherwise; the decision reads the route's registered path, so no spelling of the request
 * target (absolute-form, percent-encoding, trailing slash) can change it.
 */
function accessOf(req: FastifyRequest): 'public' | 'app' {
  return req.routeOptions.config?.auth ?? (req.routeOptions.url?.startsWith('/openapi/') ? 'app' : 'public');
}

export async function buildServer(s: Services, log: Logger): Promise<Api> {
  const api = Fastify({
    loggerInstance: log,
    bodyLimit: s.config.bodyLimitBytes,
    // Our onResponse hook counts requests; per-request log lines would drown the task logs.
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child logger per request (a measurable share of a cached read); the few request
    // log lines name the request id themselves.
    childLoggerFactory: (logger) => logger,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true, useDefaults: true } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 100 },
    // Refusals of the router and of Node's HTTP parser answer in the envelope too, without echoing the URL.
    frameworkErrors,
    clientErrorHandler: clientErrorHandler(log),
    // Checked in onRequest instead, so a request without Host gets the envelope like any other mistake.
    http: { requireHostHeader: false },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as Api;

  api.decorateRequest('tenant', null as never);
  api.setErrorHandler(handleError);
  api.setNotFoundHandler((req, reply) =>
    reply.status(404).send(errorBody('NOT_FOUND', `No endpoint ${req.method} ${pathOf(req.url)}; see /docs for the API.`)));

  await api.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'dhp: Digital Human Open Platform API',
        version: '1.0.0',
        description: 'Wire-compatible implementation of the Digital Human Open Platform API. Every /openapi endpoint except the token takes ?access_token=. Responses use the {code, success, message, data} envelope; code "0" is success, and an error has a numeric code (e.g. "40101") with its name in the added field error (see docs/errors.md). Paths marked "what the cloud serves" are those the cloud platform serves beside the documented ones.',
        license: { name: 'AGPL-3.0-or-later', identifier: 'AGPL-3.0-or-later' },
      },
    },
  });
  await api.register(swaggerUi, { routePrefix: '/docs' });
  // Only the upload route reads multipart bodies; a file larger than the cap is cut and refused.
  await api.register(multipart, { limits: { fileSize: s.config.maxVideoBytes, files: 1, fields: 10, fieldSize: 64 * 1024 } });
  api.get('/openapi.json', { schema: { hide: true } }, async () => api.swagger());

  // Authentication and the per-app rate limit, before any body is read or parsed.
  api.addHook('onRequest', async (req) => {
    if (!req.headers.host && req.raw.httpVersion === '1.1') {
      throw new ApiError('MALFORMED_REQUEST', 'The Host header is missing; HTTP/1.1 requests must send one.');
    }
    if (req.routeOptions.config?.perClientLimit) s.clientRateLimiter.take(req.ip);
    if (accessOf(req) !== 'app') return;
    const token = (req.query as { access_token?: unknown } | undefined)?.access_token;
    const app = await s.auth.authenticate(typeof token === 'string' ? token : undefined);
    // Per app, not per token: a fresh token per call must not buy a fresh allowance.
    s.rateLimiter.take(String(app.id));
    req.tenant = app;
  });

  api.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    s.metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    s.metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) req.log.warn({ reqId: req.id, path: pathOf(req.url), status: reply.statusCode }, 'request failed');
  });

  for (const routes of [authRoutes, accountRoutes, catalogRoutes, ttsRoutes, cloningRoutes, videoRoutes, uploadRoutes, systemRoutes, consoleRoutes]) routes(api, s);
  return api;
}

export { ApiError };
