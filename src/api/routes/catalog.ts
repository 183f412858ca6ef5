import type { Static } from '@sinclair/typebox';
import { VoiceStatus } from '../../domain/status.js';
import { auditionKey, avatarCoverKey, BUILTIN_RESOLUTION, paginate } from '../../services/catalog.js';
import { CHARACTERS } from '../../engines/avatar2d/characters.js';
import { AccessTokenQuery, Avatar, AvatarQuery, Envelope, Page, Voice, VoiceQuery } from '../schemas.js';
import { ok } from '../envelope.js';
import type { RoutePlugin } from '../context.js';

export const catalogRoutes: RoutePlugin = (api, s) => {
  const publicAvatars = async (req: { body: Static<typeof AvatarQuery> }) => {
    const avatars = CHARACTERS.map((c) => ({ id: c.id, sceneName: c.sceneName, coverUrl: s.fileUrl(avatarCoverKey(c.key)), resolution: BUILTIN_RESOLUTION }));
    const name = req.body.name?.trim().toLowerCase();
    return ok(paginate(avatars.filter((a) => !name || a.sceneName.toLowerCase().includes(name)), req.body.page, req.body.size));
  };
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
  }, async (req) => {
    const page = s.catalog.listPublicVoices(req.body);
    return ok({
      ...page,
      records: page.records.map((v) => ({
        speakerId: v.speakerId, ttsName: v.ttsName, ttsFeatures: v.ttsFeatures,
        ttsAudition: s.fileUrl(auditionKey(v.speakerId)), languages: v.languages, sex: v.sex, status: VoiceStatus.Success,
      })),
    });
  });
};
