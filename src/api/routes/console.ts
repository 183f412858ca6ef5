import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RoutePlugin } from '../context.js';

/** The package root: the nearest folder above this file whose package.json is dhp's (src/ under tsx, dist/ compiled). */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'dhp') return dir;
    if (path.dirname(dir) === dir) throw new Error(`No dhp package.json above ${from}.`);
  }
}

/** The only files served: what scripts/build-console.mjs writes. */
const assets = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
} as const;
type Asset = keyof typeof assets;

const notBuilt = '<!doctype html><meta charset="utf-8"><title>dhp console</title>'
  + '<p>The console is not built: run <code>npm run build</code>.</p>\n';

/**
 * The web console at /console/ (a dhp extension). It talks to the API that serves it:
 * the page's Content-Security-Policy lets it reach only this origin and the one
 * media URLs are built on (DHP_PUBLIC_URL).
 */
export const consoleRoutes: RoutePlugin = (api, s) => {
  const dir = path.join(packageRoot(import.meta.dirname), 'dist', 'console');

  const policy = () => {
    const media = new URL(s.fileUrl('')).origin;
    return [
      "default-src 'none'", "script-src 'self'", "style-src 'self'", `img-src 'self' ${media}`, `media-src 'self' ${media}`,
      `connect-src 'self' ${media}`, "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].join('; ');
  };

  // Each file is read and hashed once per build (a rebuild changes its mtime), not per request.
  const loaded = new Map<Asset, { mtimeMs: number; body: Buffer; etag: string }>();
  const load = async (name: Asset) => {
    const file = path.join(dir, name);
    const { mtimeMs } = await stat(file);
    const known = loaded.get(name);
    if (known?.mtimeMs === mtimeMs) return known;
    const body = await readFile(file);
    const entry = { mtimeMs, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    loaded.set(name, entry);
    return entry;
  };

  const serve = async (name: Asset, req: FastifyRequest, reply: FastifyReply) => {
    let asset: { body: Buffer; etag: string };
    try {
      asset = await load(name);
    } catch {
      return reply.status(503).type('text/html; charset=utf-8').header('cache-control', 'no-store')
        .header('content-security-policy', "default-src 'none'").send(notBuilt);
    }
    // No hashes in the file names, so browsers revalidate every time; the ETag makes that cheap.
    const { body, etag } = asset;
    reply.header('cache-control', 'no-cache').header('etag', etag).header('x-content-type-options', 'nosniff');
    if (name === 'index.html') reply.header('content-security-policy', policy()).header('referrer-policy', 'no-referrer');
    if (req.headers['if-none-match'] === etag) return reply.status(304).send();
    return reply.type(assets[name]).send(body);
  };

  // The router ignores trailing slashes, so /console and /console/ arrive here; relative asset
  // URLs need the slash, and a relative Location keeps any path prefix of a proxy in front.
  api.get('/console/', { schema: { hide: true } }, async (req, reply) =>
    req.url.split('?')[0].endsWith('/') ? serve('index.html', req, reply) : reply.redirect('console/'));
  for (const name of ['app.js', 'app.css', 'icon.svg'] as const) {
    api.get(`/console/${name}`, { schema: { hide: true } }, (req, reply) => serve(name, req, reply));
  }
};
