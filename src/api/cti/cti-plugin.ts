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
  app.addHook('onClose', async () => {
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
    socket.on('close', () => gateway.disconnect(session));
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
