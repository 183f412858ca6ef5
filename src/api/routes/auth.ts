import { Envelope, TokenData, TokenQuery } from '../../domain/schemas.js';
import { ok } from '../envelope.js';
import type { RoutePlugin } from '../context.js';

export const authRoutes: RoutePlugin = (api, s) => {
  api.get('/openapi/oauth/token', {
    config: { auth: 'public', perClientLimit: true },
    schema: {
      tags: ['auth'], summary: 'Get an access_token by signature',
      description: 'sign = lowercase hex md5(appId + timestamp + secret), timestamp in epoch ms: at most the signature window old, at most 30 s ahead. Each signature gets one token.',
      querystring: TokenQuery, response: { 200: Envelope(TokenData) },
    },
  }, async (req) => ok(await s.auth.issueToken(req.query)));
};
