import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { runDetached } from '../../util/detached.js';
import { silentLogger } from '../../util/logger.js';
import { CtiGateway, type CtiGatewayDeps } from './cti-gateway.js';

/** Options of {@link ctiPlugin}: the gateway's dependencies, plus the route path. */
export interface CtiPluginOptions extends CtiGatewayDeps {
  /** Default `/cti` (interfaces §3). */
  readonly path?: string;
  /** Receives the gateway once created (status pages, tests). */
  readonly onGateway?: (gateway: CtiGateway) => void;
  /**
   * Milliseconds between WebSocket pings (RFC 6455 §5.5.2) to every connection (default 30 s; 0 =
   * none). A connection that has not answered the previous ping with a pong is cut: a desktop
   * whose network vanished without closing its TCP connection is then seen as gone, and its
   * agent's `agent-desktop-grace` starts.
   */
  readonly pingIntervalMs?: number;
}

/** Pings every socket of `sockets` each `intervalMs`; cuts the ones that did not answer the last ping. */
function startPings(sockets: Map<WebSocket, { alive: boolean }>, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => {};
  const timer = setInterval(() => {
    for (const [socket, state] of sockets) {
      if (!state.alive) {
        socket.terminate();
        continue;
      }
      state.alive = false;
      socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function rawToText(data: RawData): { text: string; bytes: number } {
  if (Buffer.isBuffer(data)) return { text: data.toString('utf8'), bytes: data.length };
  if (Array.isArray(data)) {
    const b = Buffer.concat(data);
    return { text: b.toString('utf8'), bytes: b.length };
  }
  const b = Buffer.from(data);
  return { text: b.toString('utf8'), bytes: b.length };
}

/**
 * Fastify plugin serving the CTI protocol of interfaces §4 on a WebSocket at `/cti`.
 * Registers `@fastify/websocket` itself unless the server already did (then the server's
 * `maxPayload` applies at the WebSocket layer; the gateway also checks every frame's size).
 * Binary frames are refused like garbage. Connections are closed when the server closes.
 *
 * Usage: `await app.register(ctiPlugin, { agents, bus, adminToken, callControl })` or
 * `await ctiPlugin(app, deps)`.
 */
export async function ctiPlugin(app: FastifyInstance, opts: CtiPluginOptions): Promise<void> {
  const gateway = new CtiGateway(opts);
  opts.onGateway?.(gateway);
  if (!app.hasDecorator('websocketServer')) {
    // Frames somewhat above the gateway limit still reach the gateway, which answers
    // EventError before closing; far larger ones are cut by ws itself (close 1009).
    await app.register(websocket, { options: { maxPayload: gateway.effectiveLimits.maxMessageBytes * 2 } });
  }
  const sockets = new Map<WebSocket, { alive: boolean }>();
  const stopPings = startPings(sockets, opts.pingIntervalMs ?? 30_000);
  app.addHook('onClose', async () => {
    stopPings();
    gateway.close();
  });
  app.get(opts.path ?? '/cti', { websocket: true }, (socket: WebSocket, req: FastifyRequest) => {
    const session = gateway.connect({
      remoteAddress: req.ip,
      send: (text) => socket.send(text),
      close: (code, reason) => socket.close(code, reason),
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
    });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      const { text, bytes } = rawToText(data);
      // A failure is this request's alone: logged, the connection stays.
      runDetached(opts.logger ?? silentLogger, 'CTI request', () =>
        gateway.handleMessage(session, isBinary ? '\u0000binary' : text, bytes),
      );
    });
    const liveness = { alive: true };
    sockets.set(socket, liveness);
    socket.on('pong', () => {
      liveness.alive = true;
    });
    socket.on('close', () => {
      sockets.delete(socket);
      gateway.disconnect(session);
    });
    socket.on('error', () => gateway.disconnect(session));
  });
}

/**
 * The plugin bound to its dependencies, for `createHttpServer({ plugins: [createCtiPlugin(deps)] })`
 * (which registers plugins without options).
 */
export function createCtiPlugin(deps: CtiPluginOptions): FastifyPluginAsync {
  return async (app) => ctiPlugin(app, deps);
}
