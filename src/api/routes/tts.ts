import { AccessTokenQuery, Envelope, IdParam, Page, PageQuery, TtsCreateBody, TtsCreated, TtsRecord } from '../../domain/schemas.js';
import { ok } from '../envelope.js';
import type { RoutePlugin } from '../context.js';

export const ttsRoutes: RoutePlugin = (api, s) => {
  api.post('/openapi/speaker/v3/fastTts', {
    schema: {
      tags: ['tts'], summary: 'Audio synthesis (TTS)',
      description: 'Accepts the task and answers at once; poll 6.4 or receive the tts-synthesis callback. Honours an Idempotency-Key header.',
      querystring: AccessTokenQuery, body: TtsCreateBody, response: { 200: Envelope(TtsCreated) },
    },
  }, async (req, reply) => ok(await s.idempotency.run(req, reply, 'fastTts', () => s.tts.create(req.tenant, req.body))));

  api.post('/openapi/speaker/v2/tts/pageList', {
    schema: { tags: ['tts'], summary: 'Audio synthesis list', querystring: AccessTokenQuery, body: PageQuery, response: { 200: Envelope(Page(TtsRecord)) } },
  }, async (req) => ok(await s.tts.list(req.tenant, req.body.page, req.body.size)));

  api.get('/openapi/speaker/v2/tts/:id', {
    schema: { tags: ['tts'], summary: 'Audio synthesis details', querystring: AccessTokenQuery, params: IdParam, response: { 200: Envelope(TtsRecord) } },
  }, async (req) => ok(await s.tts.get(req.tenant, Number(req.params.id))));
};
