import { sql } from 'kysely';
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

  api.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
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
    return reply.send(file.stream);
  });
};
