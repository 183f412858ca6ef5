import { PassThrough, type Readable } from 'node:stream';
import type { MultipartFile } from '@fastify/multipart';
import { ApiError, invalid } from '../../domain/errors.js';
import { AccessTokenQuery, Envelope, UploadRecord } from '../../domain/schemas.js';
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
    let part: MultipartFile | undefined;
    try {
      part = await req.file();
    } catch (err) {
      // The parser's refusals (no boundary, a malformed part) are the caller's mistake, not ours.
      if (err instanceof ApiError || (err as { statusCode?: number }).statusCode) throw err;
      throw invalid('The multipart/form-data body cannot be read: send it with a boundary in Content-Type and one part named "file".');
    }
    if (!part || part.fieldname !== 'file') throw invalid('file is required: send it as a multipart/form-data field named "file".');
    return ok(await s.uploads.save(req.tenant, wholeFile(part), s.config.maxVideoBytes));
  });
};

/**
 * The part's bytes, failing with a 400 when the body ends before the part does. The parser
 * reports that as an 'error' event the moment it happens, which can be before anyone reads the
 * stream (storage is set up first), and a late reader would then wait forever; the pass-through
 * starts reading at once and keeps the failure for whoever reads later.
 */
function wholeFile(part: MultipartFile): Readable & { truncated?: boolean } {
  const out = new PassThrough();
  const cutShort = () => invalid('The upload ended before the file did (the multipart body has no closing boundary); send the whole file again.');
  let ended = false;
  part.file.once('end', () => { ended = true; });
  part.file.once('error', () => out.destroy(cutShort()));
  part.file.once('close', () => { if (!ended) out.destroy(cutShort()); });
  part.file.pipe(out);
  // The failure is kept in the stream (destroy(err)) for the reader that comes later; without a
  // listener until then, the 'error' event would take the process down.
  out.on('error', () => undefined);
  // Read after the stream ended: busboy sets it when the size cap cut the file.
  Object.defineProperty(out, 'truncated', { get: () => part.file.truncated });
  return out;
}
