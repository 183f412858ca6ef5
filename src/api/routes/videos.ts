import { AccessTokenQuery, Envelope, IdParam, Page, PageQuery, VideoCreateBody, VideoCreated, VideoCreateFullBody, VideoRecord } from '../../domain/schemas.js';
import { ok } from '../envelope.js';
import type { RoutePlugin } from '../context.js';

/** Section 5, plus cancel (a dhp extension). */
export const videoRoutes: RoutePlugin = (api, s) => {
  api.post('/openapi/video/v3/simpleCreate', {
    schema: {
      tags: ['video synthesis'], summary: 'Video synthesis',
      description: 'An avatar speaking the given audio (audioUrl), or text in a voice (text + speakerId). Built-in avatars move their lips; trained avatars loop their clip (pn) unless a lip-sync engine is configured. Honours Idempotency-Key.',
      querystring: AccessTokenQuery, body: VideoCreateBody, response: { 200: Envelope(VideoCreated) },
    },
  }, async (req, reply) => ok(await s.idempotency.run(req, reply, 'simpleCreate', () => s.videos.create(req.tenant, req.body))));

  api.post('/openapi/video/v2/simpleCreate', {
    schema: {
      tags: ['video synthesis'], summary: 'Video synthesis, alias (what the cloud serves)',
      description: 'The v2 path the cloud platform also serves: the same body, behaviour and records as POST /openapi/video/v3/simpleCreate (an Idempotency-Key is shared between the two).',
      querystring: AccessTokenQuery, body: VideoCreateBody, response: { 200: Envelope(VideoCreated) },
    },
  }, async (req, reply) => ok(await s.idempotency.run(req, reply, 'simpleCreate', () => s.videos.create(req.tenant, req.body))));

  api.post('/openapi/video/v2/create', {
    schema: {
      tags: ['video synthesis'], summary: 'Video synthesis with output settings (what the cloud serves)',
      description: 'The cloud platform\'s full create: simpleCreate\'s fields plus backgroundUrl, width, height, fps, bitRate, videoFormat, mask, matting and pixFmt. Honoured: size (the avatar fits the frame, centred on the bottom edge; black or the background around it), frame rate, bit rate, videoFormat mp4 or webm (VP9 + Opus), pixFmt yuv420p, and backgroundUrl behind a built-in avatar or behind an avatar trained with greenScreen (its green is keyed out). Anything else (other formats, other pixel formats, mask, matting, a background behind an avatar trained without greenScreen) is refused with 400 naming the field; no field is ignored. Honours Idempotency-Key.',
      querystring: AccessTokenQuery, body: VideoCreateFullBody, response: { 200: Envelope(VideoCreated) },
    },
  }, async (req, reply) => ok(await s.idempotency.run(req, reply, 'create', () => s.videos.create(req.tenant, req.body, req.body))));

  api.post('/openapi/video/v2/pageList', {
    schema: { tags: ['video synthesis'], summary: 'Video synthesis list', querystring: AccessTokenQuery, body: PageQuery, response: { 200: Envelope(Page(VideoRecord)) } },
  }, async (req) => ok(await s.videos.list(req.tenant, req.body.page, req.body.size)));

  api.get('/openapi/video/v2/get/:id', {
    schema: { tags: ['video synthesis'], summary: 'Video synthesis details', querystring: AccessTokenQuery, params: IdParam, response: { 200: Envelope(VideoRecord) } },
  }, async (req) => ok(await s.videos.get(req.tenant, Number(req.params.id))));

  api.post('/openapi/video/v2/cancel/:id', {
    schema: {
      tags: ['video synthesis'], summary: 'Cancel a video synthesis (dhp extension)',
      description: 'Queued or processing → synthesisStatus 6; the reserved duration is refunded and the callback is sent.',
      querystring: AccessTokenQuery, params: IdParam, response: { 200: Envelope(VideoRecord) },
    },
  }, async (req) => ok(await s.videos.cancel(req.tenant, Number(req.params.id))));
};
