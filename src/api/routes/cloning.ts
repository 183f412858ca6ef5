import {
  AccessTokenQuery, AuthorizeSceneBody, AuthorizeSpeakerBody, ClonedVoice, CloneBody, CloneListQuery, Envelope, IdParam, Page, PageQuery,
  SpeakerParam, TrainingCreateBody, TrainingCreateV2Body, TrainingCreated, TrainingRecord,
} from '../../domain/schemas.js';
import { Type } from '@sinclair/typebox';
import { ok } from '../envelope.js';
import type { RoutePlugin } from '../context.js';

/** Sections 3 (avatar cloning), 4 (voice cloning) and 7 (consent for existing avatars and voices). */
export const cloningRoutes: RoutePlugin = (api, s) => {
  api.post('/openapi/video/v3/create/training', {
    schema: {
      tags: ['avatar cloning'], summary: 'Rapid avatar cloning',
      description: 'Downloads the training video and the consent recording, checks them, and builds a scene (sceneId). Honours Idempotency-Key.',
      querystring: AccessTokenQuery, body: TrainingCreateBody, response: { 200: Envelope(TrainingCreated) },
    },
  }, async (req, reply) => ok(await s.idempotency.run(req, reply, 'training', () => s.trainings.create(req.tenant, req.body))));

  api.post('/openapi/video/v2/create/training', {
    schema: {
      tags: ['avatar cloning'], summary: 'Avatar cloning, v2 (what the cloud serves)',
      description: 'The cloud platform\'s v2 training: the v3 body without consent fields, plus greenScreen. The training runs; without a consent recording the avatar\'s authorizeStatus is 0 until POST /openapi/video/v3/authorize verifies one or an operator approves it (dhp consent approve), and the record\'s comment says so. With DHP_CONSENT_REQUIRED=true (the default) such an avatar cannot be used in videos until then; with false it is usable at once. authorizeUrl and authorizeText are accepted here too (both or neither). Honours Idempotency-Key.',
      querystring: AccessTokenQuery, body: TrainingCreateV2Body, response: { 200: Envelope(TrainingCreated) },
    },
  }, async (req, reply) => ok(await s.idempotency.run(req, reply, 'trainingV2', () => s.trainings.create(req.tenant, req.body))));

  api.post('/openapi/video/v2/training/pageList', {
    schema: { tags: ['avatar cloning'], summary: 'Avatar cloning list', querystring: AccessTokenQuery, body: PageQuery, response: { 200: Envelope(Page(TrainingRecord)) } },
  }, async (req) => ok(await s.trainings.list(req.tenant, req.body.page, req.body.size)));

  api.get('/openapi/video/v2/training/get/:id', {
    schema: { tags: ['avatar cloning'], summary: 'Avatar cloning details', querystring: AccessTokenQuery, params: IdParam, response: { 200: Envelope(TrainingRecord) } },
  }, async (req) => ok(await s.trainings.get(req.tenant, Number(req.params.id))));

  api.post('/openapi/speaker/v3/clone', {
    schema: {
      tags: ['voice cloning'], summary: 'Rapid voice cloning',
      description: 'Answers at once with the new speakerId (status 0). The embedded engine builds a voice matched to the sample (pitch, pace, sex): a matched profile, not neural cloning. Honours Idempotency-Key.',
      querystring: AccessTokenQuery, body: CloneBody, response: { 200: Envelope(ClonedVoice) },
    },
  }, async (req, reply) => ok(await s.idempotency.run(req, reply, 'clone', () => s.voices.create(req.tenant, req.body))));

  api.post('/openapi/speaker/v2/clonePageList', {
    schema: { tags: ['voice cloning'], summary: 'Voice cloning list', querystring: AccessTokenQuery, body: CloneListQuery, response: { 200: Envelope(Page(ClonedVoice)) } },
  }, async (req) => ok(await s.voices.list(req.tenant, req.body)));

  api.get('/openapi/speaker/v2/clone/:speakerId', {
    schema: { tags: ['voice cloning'], summary: 'Voice cloning details', querystring: AccessTokenQuery, params: SpeakerParam, response: { 200: Envelope(ClonedVoice) } },
  }, async (req) => ok(await s.voices.get(req.tenant, req.params.speakerId)));

  api.post('/openapi/video/v3/authorize', {
    schema: {
      tags: ['consent'], summary: 'Historical avatar authorization',
      description: 'Checks the consent recording as a task; the result shows as authorizeStatus in 3.4.',
      querystring: AccessTokenQuery, body: AuthorizeSceneBody, response: { 200: Envelope(Type.Boolean()) },
    },
  }, async (req) => { await s.consent.authorizeScene(req.tenant, req.body); return ok(true); });

  api.post('/openapi/speaker/v3/authorize', {
    schema: {
      tags: ['consent'], summary: 'Historical voice authorization',
      description: 'Checks the consent recording as a task; the result shows as authorizeStatus in 4.4.',
      querystring: AccessTokenQuery, body: AuthorizeSpeakerBody, response: { 200: Envelope(Type.Boolean()) },
    },
  }, async (req) => { await s.consent.authorizeVoice(req.tenant, req.body); return ok(true); });
};
