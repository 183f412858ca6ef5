import { AccessTokenQuery, Avatar, AvatarQuery, Envelope, Page, Voice, VoiceQuery } from '../../domain/schemas.js';
import { ok } from '../envelope.js';
import type { RoutePlugin } from '../context.js';

export const catalogRoutes: RoutePlugin = (api, s) => {
  const publicAvatars = async (req: { body: { page: number; size: number; name?: string } }) => ok(s.catalog.listPublicAvatars(req.body));
  api.post('/openapi/robot/v2/fastPublicPageList', {
    schema: {
      tags: ['catalog'], summary: 'Public avatars',
      querystring: AccessTokenQuery, body: AvatarQuery, response: { 200: Envelope(Page(Avatar)) },
    },
  }, publicAvatars);
  api.post('/openapi/robot/v2/freeListPage', {
    schema: {
      tags: ['catalog'], summary: 'Public avatars, alias (what the cloud serves)',
      description: 'The path the cloud platform also serves for the public avatars: the same body, behaviour and records as POST /openapi/robot/v2/fastPublicPageList.',
      querystring: AccessTokenQuery, body: AvatarQuery, response: { 200: Envelope(Page(Avatar)) },
    },
  }, publicAvatars);

  api.post('/openapi/speaker/v2/fastPublicPageList', {
    schema: {
      tags: ['catalog'], summary: 'Public voices',
      querystring: AccessTokenQuery, body: VoiceQuery, response: { 200: Envelope(Page(Voice)) },
    },
  }, async (req) => ok(s.catalog.listPublicVoices(req.body)));
};
