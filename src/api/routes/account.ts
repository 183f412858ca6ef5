import { AccessTokenQuery, AccountData, Envelope } from '../../domain/schemas.js';
import { ok } from '../envelope.js';
import type { RoutePlugin } from '../context.js';

export const accountRoutes: RoutePlugin = (api, s) => {
  api.get('/openapi/user/v2/get', {
    schema: { tags: ['account'], summary: 'Account benefits (quotas)', querystring: AccessTokenQuery, response: { 200: Envelope(AccountData) } },
  }, async (req) => {
    const q = await s.quota.lines(req.tenant.id);
    return ok({
      user: { id: req.tenant.id, corpId: req.tenant.corp_id },
      account: {
        fastTrainingAmount: q.fast_training.remaining,
        totalFastTrainingAmount: q.fast_training.total,
        voiceCloneAmount: q.voice_clone.remaining,
        totalVoiceCloneAmount: q.voice_clone.total,
        fastDuration: q.fast_duration.remaining,
        totalFastDuration: q.fast_duration.total,
        ttsWordsAmount: q.tts_words.remaining,
        totalTtsWordsAmount: q.tts_words.total,
      },
    });
  });
};
