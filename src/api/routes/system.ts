import { timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { FastifyRequest } from 'fastify';
import { errorBody, ok } from '../envelope.js';
import type { RoutePlugin } from '../context.js';

const contentTypes: Record<string, string> = {
  wav: 'audio/wav', srt: 'application/x-subrip; charset=utf-8', mp4: 'video/mp4', jpg: 'image/jpeg', png: 'image/png', json: 'application/json',
  mp3: 'audio/mpeg', m4a: 'audio/mp4', webm: 'video/webm', ogg: 'audio/ogg', flac: 'audio/flac', mov: 'video/quicktime',
};

export const systemRoutes: RoutePlugin = (api, s) => {
  api.get('/healthz', { schema: { hide: true } }, async () => ok({ status: 'ok' }));

  api.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await sql`select 1`.execute(s.db);
      return ok({ status: 'ready', workers: s.workersRunning() });
    } catch {
      return reply.status(503).send(errorBody('UNAVAILABLE', 'The database is not reachable.'));
    }
  });

  // Metrics name routes, task types and volumes: for the operator, not for tenants.
  api.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (!metricsAllowed(req, s.config.metricsToken)) {
      return reply.status(401).header('www-authenticate', 'Bearer realm="dhp metrics"').send(errorBody('UNAUTHORIZED',
        s.config.metricsToken
          ? '/metrics needs the header Authorization: Bearer <DHP_METRICS_TOKEN>.'
          : '/metrics is served only to clients on this machine (loopback, not through a proxy); set DHP_METRICS_TOKEN to scrape it from elsewhere.'));
    }
    reply.header('content-type', s.metrics.registry.contentType);
    return s.metrics.registry.metrics();
  });

  // Media dhp produced. Keys are unguessable; nothing in the path reaches the filesystem unchecked.
  api.get('/files/*', { schema: { hide: true } }, async (req, reply) => {
    const key = (req.params as { '*': string })['*'];
    const file = await s.storage.read(key);
    if (!file) return reply.status(404).send(errorBody('NOT_FOUND', 'This file does not exist.'));
    const ext = key.slice(key.lastIndexOf('.') + 1);
    reply.header('content-type', contentTypes[ext] ?? 'application/octet-stream');
    reply.header('content-length', String(file.size));
    reply.header('cache-control', 'private, max-age=86400');
    // Tenants choose these bytes and they share an origin with the console: never let a browser
    // run them as a page (sniffed HTML, SVG with scripts), only download or play them.
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', "sandbox; default-src 'none'; media-src 'self'; img-src 'self'");
    reply.header('content-disposition', `attachment; filename="${key.slice(key.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9._-]/g, '_')}"`);
    return reply.send(file.stream);
  });
};

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * With DHP_METRICS_TOKEN set, the bearer token is required from everyone. Without it, only
 * loopback connections that carry no forwarding header: a proxy on the same machine connects
 * from loopback too, and would otherwise publish the metrics.
 */
function metricsAllowed(req: FastifyRequest, token: string | null): boolean {
  if (token) {
    const given = Buffer.from(String(req.headers.authorization ?? ''));
    const expected = Buffer.from(`Bearer ${token}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
  const forwarded = req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined || req.headers['x-real-ip'] !== undefined;
  return !forwarded && LOOPBACK.test(req.socket.remoteAddress ?? '');
}
