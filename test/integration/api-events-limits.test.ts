/**
 * The limits of `GET /api/events` (docs/admin-api.md, "Live stream") on an in-process HTTP server
 * over a live feed with hand-fed sources: at most 16 streams at once (the 17th is 503 with
 * Retry-After), a closed stream frees its place, `/api/events` and `/api/calls` answer 503 on a
 * server without a live feed, and closing the server ends the open streams.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { LiveHub } from '../../src/api/admin/live-hub.js';
import { openStore } from '../../src/config/config-store.js';
import { LiveStreamReader, fakeLiveSources } from '../helpers/live-stream.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'limits-token';

describe('GET /api/events limits', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  const serve = async (withLive: boolean): Promise<{ server: HttpServer; url: string }> => {
    const dir = mkdtempSync(join(tmpdir(), 'events-limits-'));
    const store = openStore(dir);
    const hub = withLive ? new LiveHub({ sources: fakeLiveSources().sources }) : undefined;
    const server = await createHttpServer({ store, token: TOKEN, webRoot: false, ...(hub ? { live: hub } : {}) });
    const { url } = await server.listen('127.0.0.1:0');
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanup.push(() => store.close());
    cleanup.push(() => hub?.close());
    cleanup.push(() => server.close());
    return { server, url };
  };

  it('serves 16 streams at once, refuses the 17th with 503 and Retry-After, frees a closed place', async () => {
    const { url } = await serve(true);
    const open: LiveStreamReader[] = [];
    cleanup.push(() => open.forEach((r) => r.close()));
    for (let i = 0; i < 16; i++) {
      const r = await LiveStreamReader.open(url, TOKEN);
      open.push(r);
      expect(r.status).toBe(200);
      await r.next('snapshot', () => true);
    }
    const refused = await fetch(`${url}/api/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toEqual({ error: 'too many live streams open (at most 16)' });
    open.shift()!.close();
    const again = await waitFor(async () => {
      const r = await LiveStreamReader.open(url, TOKEN);
      if (r.status === 200) return r;
      return undefined;
    }, 'a place freed by the closed stream');
    open.push(again);
    await again.next('snapshot', () => true);
  });

  it('ends the open streams when the server closes', async () => {
    const { server, url } = await serve(true);
    const r = await LiveStreamReader.open(url, TOKEN);
    await r.next('snapshot', () => true);
    await server.close();
    await r.ended;
  });

  it('answers 503 without a live feed', async () => {
    const { url } = await serve(false);
    for (const path of ['/api/events', '/api/calls']) {
      const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(r.status).toBe(503);
    }
  });
});
