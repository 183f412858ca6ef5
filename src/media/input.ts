/**
 * How ffmpeg and ffprobe are given a file: by a name they read as a plain file, and, for a file a
 * tenant chose, only through the accepted demuxers, only from local files, with bounded pictures.
 */
import path from 'node:path';

/** A path ffmpeg reads as a plain file, whatever characters it holds (no "proto:" or leading "-" surprises). */
export function fileArg(file: string): string {
  return `file:${path.resolve(file)}`;
}

/**
 * The containers dhp accepts (demuxer names; "mov" covers mp4/m4a/3gp,
 * "matroska" covers webm). Everything else is refused before it is opened:
 * playlists (hls), concat lists, and the text, subtitle and network demuxers
 * that read other files or render text as video. An hls playlist naming a
 * server-local file would otherwise put that file in the tenant's video.
 * image2 (a picture named .jpg/.png) reads numbered sequences only for names
 * with % or * in them, and dhp names every file it opens.
 */
export const ACCEPTED_FORMATS = ['mov', 'matroska', 'avi', 'wav', 'mp3', 'ogg', 'flac', 'aac', 'png_pipe', 'jpeg_pipe', 'webp_pipe', 'image2'];

/**
 * Largest picture a decoder will allocate (width × height): 4096 × 4096, the
 * training limit. A 1 MB PNG of 16000 × 16000 took ffprobe 1 GB without it.
 */
export const MAX_PIXELS = 4096 * 4096;

/**
 * Input options for a file a tenant chose: only the accepted containers, only
 * local files (no demuxer may open a URL or another protocol), no giant
 * pictures. Goes where `-i file` would.
 */
export function tenantInput(file: string): string[] {
  return [
    '-format_whitelist', ACCEPTED_FORMATS.join(','),
    '-protocol_whitelist', 'file',
    '-max_pixels', String(MAX_PIXELS),
    '-i', fileArg(file),
  ];
}
