/**
 * `GET /api/events` (docs/admin-api.md, "Live stream"): the console's server-sent events — a
 * `snapshot`, then the {@link LiveHub}'s coalesced deltas, a comment heartbeat, a bounded
 * number of streams, a slow reader cut off, every stream ended when the server closes.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { LiveHub } from './live-hub.js';

/** Options of {@link liveStreamRoutes}. */
export interface LiveStreamOptions {
  /** Read at request time: absent → 503 (the server runs without live sources). */
  hub: () => LiveHub | undefined;
  /** Streams open at once (default 16); one more is answered 503. */
  maxStreams?: number;
  /** Unsent bytes a stream may hold before it is disconnected (default 4 MiB). */
  maxBacklog?: number;
  /** Heartbeat comment period (default 15 s). */
  heartbeatMs?: number;
}

/** Registers `GET /events` and `GET /calls` on the `/api` plugin (after its auth hook). */
export function liveStreamRoutes(app: FastifyInstance, opts: LiveStreamOptions): void {
  const streams = new Set<ServerResponse>();
  const maxStreams = opts.maxStreams ?? 16;
  const maxBacklog = opts.maxBacklog ?? 4 * 1024 * 1024;

  // Streams never end on their own: end them before fastify waits for open connections.
  app.addHook('preClose', (done) => {
    for (const s of streams) s.end();
    streams.clear();
    done();
  });

  app.get('/calls', { schema: { tags: ['status'], description: 'The live calls' } }, async (_req, reply) => {
    const hub = opts.hub();
    if (!hub) return reply.code(503).send({ error: 'live calls are not available in this server' });
    return { items: hub.activeCalls() };
  });

  app.get(
    '/events',
    {
      schema: {
        tags: ['status'],
        description:
          'Server-sent events for the admin console: snapshot, then agents, devices, registrations, calls, change-sets and load deltas',
      },
    },
    async (req, reply) => {
      const hub = opts.hub();
      if (!hub) return reply.code(503).send({ error: 'the live stream is not available in this server' });
      if (streams.size >= maxStreams)
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ error: `too many live streams open (at most ${maxStreams})` });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        // The connection ends with the stream (no idle keep-alive socket to wait for at close).
        connection: 'close',
      });
      streams.add(res);
      const write = (text: string): void => {
        if (res.destroyed || res.writableEnded) return;
        if (res.writableLength > maxBacklog) {
          req.log.warn({ backlog: res.writableLength }, 'live stream reader too slow: disconnected');
          res.destroy();
          return;
        }
        res.write(text);
      };
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), opts.heartbeatMs ?? 15_000);
      heartbeat.unref();
      const detach = hub.attach((event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      res.on('close', () => {
        clearInterval(heartbeat);
        detach();
        streams.delete(res);
      });
    },
  );
}
