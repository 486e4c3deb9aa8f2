/**
 * The limits of `GET /api/events` (docs/admin-api.md, "Live stream") on an in-process HTTP server
 * over a live feed with hand-fed sources: at most 16 streams at once (the 17th is 503 with
 * Retry-After), a closed stream frees its place, `/api/events` and `/api/calls` answer 503 on a
 * server without a live feed, closing the server ends the open streams, a heartbeat comment keeps
 * an idle stream alive, and a reader that stops reading is disconnected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { liveStreamRoutes } from '../../src/api/admin/live-stream.js';
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

  it('sends a heartbeat comment while idle, and disconnects a reader that does not keep up', async () => {
    const fake = fakeLiveSources();
    const hub = new LiveHub({ sources: fake.sources, flushMs: 5 });
    const app = Fastify();
    liveStreamRoutes(app, { hub: () => hub, heartbeatMs: 50, maxBacklog: 64 * 1024 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanup.push(() => hub.close());
    cleanup.push(() => app.close());
    const { port } = app.server.address() as { port: number };

    // A raw HTTP client: the heartbeat arrives as a comment line.
    const sock = connect(port, '127.0.0.1');
    cleanup.push(() => void sock.destroy());
    let text = '';
    sock.on('data', (b: Buffer) => (text += b.toString()));
    sock.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => text.includes(': heartbeat\n\n'), 'a heartbeat');
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*content-type: text\/event-stream/i);
    expect(text).toContain('event: snapshot\n');

    // It stops reading while agents keep changing (~35 KB a flush, ~14 MB in all: more than the
    // kernel's socket buffers): the server cuts it off once 64 KiB wait unsent. A paused socket
    // sees the end only when it reads again.
    sock.pause();
    let closed = false;
    sock.on('close', () => (closed = true));
    for (let round = 0; round < 400; round++) {
      for (let i = 0; i < 500; i++) fake.agentChange(`agent-${round}-${i}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    sock.resume();
    await waitFor(() => closed, 'the slow reader disconnected');
  }, 30_000);
});
