/**
 * WebSocket transport (RFC 7118): `ws:` over HTTP, `wss:` over HTTPS, subprotocol `sip`.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../../util/logger.js';
import { parseMessage } from '../message/index.js';
import { SipParseError, type SipMessage, type TransportAddress } from '../message/types.js';
import { WsConnection } from './connection-ws.js';
import type { ListenSpec } from './listen-spec.js';
import { normalizeIp } from './transport-stream.js';
import type { TlsSettings } from './transport-tls.js';
import {
  addressKey,
  type Connection,
  type Transport,
  type TransportDelegate,
  type TransportLimits,
} from './transport-types.js';

/**
 * SIP over WebSocket. Browsers and WebRTC phones connect to us (we never open WebSocket
 * connections: `send` to an address without an open connection fails with a transport error,
 * FIXME(RFC 7118 §5) outbound WebSocket). A message is one WebSocket message (no framing);
 * Content-Length may be missing (RFC 7118 §5.1: then the body is the rest of the message).
 * Handshakes without the `sip` subprotocol are refused (RFC 7118 §4.1). Same limits as TCP.
 */
export class WsTransport implements Transport {
  readonly reliable = true;
  private http: HttpServer | undefined;
  private wss: WebSocketServer | undefined;
  private bound: TransportAddress;
  private readonly byRemote = new Map<string, WsConnection>();
  private readonly perIp = new Map<string, number>();
  /** Connections refused because of a limit (diagnostics). */
  rejectedConnections = 0;

  constructor(
    readonly protocol: 'ws' | 'wss',
    private readonly spec: ListenSpec,
    private readonly delegate: TransportDelegate,
    private readonly logger: Logger,
    private readonly limits: TransportLimits,
    private readonly tls?: TlsSettings,
  ) {
    if (protocol === 'wss' && !tls) throw new Error(`listen wss:${spec.host}:${spec.port} needs tls.cert and tls.key`);
    this.bound = { transport: protocol, host: spec.host, port: spec.port };
  }

  get local(): TransportAddress {
    return this.bound;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.byRemote.size;
  }

  listen(): Promise<void> {
    const http =
      this.protocol === 'wss' && this.tls
        ? createHttpsServer({ cert: readFileSync(this.tls.cert), key: readFileSync(this.tls.key) })
        : createHttpServer();
    http.on('request', (_req, res) => {
      res.writeHead(426, { Connection: 'close', Upgrade: 'websocket' }).end();
    });
    const wss = new WebSocketServer({
      server: http,
      maxPayload: this.limits.maxHeaderBytes + this.limits.maxBodyBytes,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
      verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
        const offered = (info.req.headers['sec-websocket-protocol'] ?? '')
          .split(',')
          .map((s) => s.trim().toLowerCase());
        if (!offered.includes('sip')) return done(false, 400, 'subprotocol sip required (RFC 7118)');
        const ip = normalizeIp(info.req.socket.remoteAddress);
        if (
          this.byRemote.size >= this.limits.maxConnections ||
          (this.perIp.get(ip) ?? 0) >= this.limits.maxConnectionsPerIp
        ) {
          this.rejectedConnections++;
          return done(false, 503, 'too many connections');
        }
        done(true);
      },
    });
    wss.on('connection', (ws, req) => this.accept(ws, req));
    this.http = http;
    this.wss = wss;
    return new Promise((resolve, reject) => {
      http.once('error', reject);
      http.listen({ port: this.spec.port, host: this.spec.host, ipv6Only: isIP(this.spec.host) === 6 }, () => {
        http.off('error', reject);
        http.on('error', (err) => this.logger.warn({ err, local: this.bound }, 'listener error'));
        const a = http.address();
        this.bound = {
          transport: this.protocol,
          host: this.spec.host,
          port: typeof a === 'object' && a ? a.port : this.spec.port,
        };
        resolve();
      });
    });
  }

  close(): Promise<void> {
    for (const c of [...this.byRemote.values()]) c.close('shutdown', 1001);
    const http = this.http;
    this.wss?.close();
    this.http = undefined;
    this.wss = undefined;
    if (!http) return Promise.resolve();
    http.closeAllConnections?.();
    return new Promise((resolve) => http.close(() => resolve()));
  }

  findConnection(dest: TransportAddress): Connection | undefined {
    const c = this.byRemote.get(addressKey({ ...dest, transport: this.protocol }));
    return c && !c.closed ? c : undefined;
  }

  /** Over the open connection from `dest`; we do not open WebSocket connections ourselves. */
  send(buf: Buffer, dest: TransportAddress, onError?: (err: Error) => void): void {
    const c = this.findConnection(dest);
    if (!c) {
      onError?.(new Error(`no ${this.protocol} connection from ${dest.host}:${dest.port}`));
      return;
    }
    c.send(buf, onError);
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const ip = normalizeIp(req.socket.remoteAddress);
    const remote: TransportAddress = { transport: this.protocol, host: ip, port: req.socket.remotePort ?? 0 };
    const local: TransportAddress = {
      transport: this.protocol,
      host: normalizeIp(req.socket.localAddress) || this.bound.host,
      port: this.bound.port,
    };
    const conn = new WsConnection(this.protocol, ws, local, remote, this.logger);
    const key = addressKey(remote);
    this.byRemote.set(key, conn);
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    if (this.limits.idleTimeoutMs > 0)
      req.socket.setTimeout(this.limits.idleTimeoutMs, () => conn.close('idle timeout', 1001));
    req.socket.setNoDelay(true);
    ws.on('message', (data: RawData) => this.receive(toBuffer(data), conn));
    ws.on('error', (err) => this.logger.debug({ err: err.message, remote }, 'WebSocket error'));
    ws.on('close', () => {
      conn.markClosed();
      if (this.byRemote.get(key) === conn) this.byRemote.delete(key);
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
      this.delegate.onConnectionClosed?.(conn);
    });
  }

  private receive(buf: Buffer, conn: WsConnection): void {
    if (buf.length === 0 || /^[\r\n]+$/.test(buf.toString('latin1', 0, Math.min(buf.length, 8)))) return; // keepalive
    let msg: SipMessage;
    try {
      msg = parseMessage(buf);
    } catch (err) {
      const e = err instanceof SipParseError ? err : new SipParseError(400, String(err));
      this.delegate.onMalformed(e, buf, conn.remote, conn, this);
      return;
    }
    this.delegate.onMessage(msg, conn.remote, conn, this);
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
