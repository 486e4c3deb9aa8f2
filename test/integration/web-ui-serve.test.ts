/**
 * The web UI is served by the server (docs/web-ui.md): the agent desktop at `/`, the admin
 * console at `/admin`, hashed assets under `/assets/`, security headers, `/admin/` sent back to
 * `../admin`, and the same pages working behind a reverse proxy's path prefix. Needs the build
 * (`npm run build`, which scripts/test.sh runs first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from '../helpers/browser.js';
import { startPrefixProxy, type PrefixProxy } from '../helpers/prefix-proxy.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { examplesDir } from '../helpers/paths.js';
import { join } from 'node:path';

describe('web UI served at / and /admin', () => {
  let server: ServerProcess;
  let browser: TestBrowser;
  let proxy: PrefixProxy;

  beforeAll(async () => {
    server = await startServerProcess({
      config: join(examplesDir, 'office.yaml'),
      sipListen: ['udp:127.0.0.1:0'],
      env: { SIPSERVER_TOKEN: 'web-ui-token' },
    });
    browser = await TestBrowser.launch();
    proxy = await startPrefixProxy(server.httpUrl!, '/contact-centre/sip');
  });

  afterAll(async () => {
    await proxy?.close();
    await browser?.close();
    await server?.stop();
  });

  it('serves both pages with a CSP, and their assets with a year of caching', async () => {
    for (const path of ['/', '/admin']) {
      const r = await fetch(new URL(path, server.httpUrl));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(r.headers.get('cache-control')).toBe('no-cache');
      const html = await r.text();
      const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(asset, html).toBeDefined();
      const a = await fetch(new URL(`/${asset}`, server.httpUrl));
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toMatch(/javascript/);
      expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    const missing = await fetch(new URL('/assets/nope.js', server.httpUrl));
    expect(missing.status).toBe(404);
  });

  it('redirects /admin/ to ../admin, so that relative addresses stay under the prefix', async () => {
    const r = await fetch(new URL('/admin/', server.httpUrl), { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe('../admin');
  });

  it('renders both pages in Chromium, directly and behind a path prefix, without a console error', async () => {
    for (const base of [server.httpUrl!.replace(/\/?$/, '/'), proxy.url]) {
      const desk = await browser.open(base);
      await desk.page.getByRole('heading', { name: 'Agent desktop' }).waitFor();
      const admin = await browser.open(new URL('admin', base).toString());
      await admin.page.getByRole('heading', { name: 'Admin console' }).waitFor();
      expect([...desk.problems, ...admin.problems]).toEqual([]);
      await desk.page.context().close();
      await admin.page.context().close();
    }
  });
});
