import { invalid } from '../../domain/errors.js';
import { AccessTokenQuery, Envelope, UploadRecord } from '../schemas.js';
import { ok } from '../envelope.js';
import type { RoutePlugin } from '../context.js';


/** dhp extension: upload a local file instead of hosting it somewhere reachable. */
export const uploadRoutes: RoutePlugin = (api, s) => {
  api.post('/openapi/file/upload', {
    schema: {
      tags: ['uploads'], summary: 'Upload a media file (dhp extension)',
      description: 'multipart/form-data with one file field named "file". Streamed to storage, size-capped (DHP_MAX_VIDEO_BYTES), checked by ffprobe: video, audio or image only.',
      consumes: ['multipart/form-data'], querystring: AccessTokenQuery, response: { 200: Envelope(UploadRecord) },
    },
  }, async (req) => {
    if (!req.isMultipart()) throw invalid('Send the file as multipart/form-data with a field named "file".');
    const part = await req.file();
    if (!part || part.fieldname !== 'file') throw invalid('file is required: send it as a multipart/form-data field named "file".');
    return ok(await s.uploads.save(req.tenant, part.file, s.config.maxVideoBytes));
  });
};
