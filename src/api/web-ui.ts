/**
 * The web UI (interfaces §3 `/`, docs/web-ui.md): the agent desktop at `/` and the admin console
 * at `/admin`, built by Vite into `web/dist` (`npm run build`). Every address inside the pages is
 * relative, so the server may sit behind a reverse proxy that mounts it under a path prefix;
 * `/admin/` is redirected to `../admin` for the same reason. The pages are public (the desktop
 * asks for the agent's password, the console for the admin token); what they show comes from
 * the CTI WebSocket and the admin API, which authenticate every request.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** `web/dist` of this checkout: the same from `src/api` (tsx) and `dist/api` (the build). */
export const DEFAULT_WEB_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../web/dist');

/**
 * Content-Security-Policy of the pages: scripts, styles and connections only to this origin
 * (`'self'` covers the same-origin `ws:`/`wss:` of the CTI WebSocket), no framing.
 */
export const WEB_UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/** Options of {@link webUiRoutes}. */
export interface WebUiOptions {
  /** The Vite output directory (default {@link DEFAULT_WEB_ROOT}). */
  root?: string;
}

const PAGES = [
  { path: '/', file: 'index.html' },
  { path: '/admin', file: 'admin.html' },
] as const;

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', WEB_UI_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
}

/**
 * Registers `/`, `/admin` and `/assets/*`. Without a build (`web/dist` missing) the pages answer
 * 503 with the command that builds them, and the rest of the server runs as usual.
 */
export async function webUiRoutes(app: FastifyInstance, opts: WebUiOptions = {}): Promise<void> {
  const root = opts.root ?? DEFAULT_WEB_ROOT;
  const built = existsSync(join(root, 'index.html'));
  const html = new Map<string, string>();
  if (built) for (const p of PAGES) html.set(p.file, readFileSync(join(root, p.file), 'utf8'));

  for (const page of PAGES) {
    app.get(page.path, { schema: { hide: true } }, async (req: FastifyRequest, reply: FastifyReply) => {
      // `/admin/` would make the page's relative addresses resolve under /admin/: send it to `../admin`.
      const path = req.url.split('?')[0];
      if (page.path !== '/' && path.endsWith('/')) return reply.redirect(`../${page.path.slice(1)}`, 301);
      const body = html.get(page.file);
      if (body === undefined)
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('The web UI is not built: run `npm run build` (it builds web/ into web/dist), then restart.\n');
      return securityHeaders(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(body);
    });
  }
  if (built) {
    // Vite names every asset by its content hash: cached for good.
    await app.register(fastifyStatic, {
      root: join(root, 'assets'),
      prefix: '/assets/',
      decorateReply: false,
      immutable: true,
      maxAge: '365d',
    });
  }
}
