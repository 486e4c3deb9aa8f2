/**
 * Shared logic of the connection-oriented transports (TCP, TLS): listening, limits,
 * connection reuse (RFC 3261 §18.1.1, §18.2.2).
 */
import { isIP, type Server, type Socket } from 'node:net';
import type { Logger } from '../../util/logger.js';
import type { SipMessage, SipParseError, TransportAddress, TransportProtocol } from '../message/types.js';
import { StreamConnection } from './connection-stream.js';
import { validPort } from './transport-udp.js';
import type { ListenSpec } from './listen-spec.js';
import { StreamFramer } from '../message/index.js';
import {
  addressKey,
  type Connection,
  type Transport,
  type TransportDelegate,
  type TransportLimits,
} from './transport-types.js';

/** Remove the IPv4-mapped prefix a dual-stack socket reports (`::ffff:127.0.0.1`). */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/**
 * Base of TCP and TLS. Every open connection, inbound or outbound, is indexed by the peer's
 * address so that a request to that address reuses it and responses go back over the
 * connection the request came on. Limits: total connections and inbound connections per
 * source IP (excess connections are closed at once), idle timeout.
 */
export abstract class StreamTransport implements Transport {
  abstract readonly protocol: TransportProtocol;
  readonly reliable = true;
  private server: Server | undefined;
  private bound: TransportAddress;
  private readonly byRemote = new Map<string, StreamConnection>();
  private readonly all = new Set<StreamConnection>();
  private readonly perIp = new Map<string, number>();
  /** Connections refused because of a limit (diagnostics). */
  rejectedConnections = 0;

  protected constructor(
    protected readonly spec: ListenSpec,
    private readonly delegate: TransportDelegate,
    protected readonly logger: Logger,
    private readonly limits: TransportLimits,
  ) {
    this.bound = { transport: spec.transport, host: spec.host, port: spec.port };
  }

  private readonly connectionEvents = {
    onMessage: (m: SipMessage, c: StreamConnection): void => this.delegate.onMessage(m, c.remote, c, this),
    onMalformed: (e: SipParseError, raw: Buffer, c: StreamConnection): void =>
      this.delegate.onMalformed(e, raw, c.remote, c, this),
    onClose: (c: StreamConnection): void => this.forget(c),
  };

  /** Create the listening server; `onSocket` is called for each accepted (and, for TLS, handshaken) socket. */
  protected abstract createServer(onSocket: (socket: Socket) => void): Server;
  /** Open an outbound socket; `onConnect` when it can carry data. */
  protected abstract connectSocket(dest: TransportAddress, onConnect: () => void): Socket;

  get local(): TransportAddress {
    return this.bound;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.all.size;
  }

  listen(): Promise<void> {
    const server = this.createServer((socket) => this.accept(socket));
    server.maxConnections = this.limits.maxConnections;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.spec.port, host: this.spec.host, ipv6Only: isIP(this.spec.host) === 6 }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.logger.warn({ err, local: this.bound }, 'listener error'));
        const a = server.address();
        const port = typeof a === 'object' && a ? a.port : this.spec.port;
        this.bound = { transport: this.protocol, host: this.spec.host, port };
        resolve();
      });
    });
  }

  close(): Promise<void> {
    for (const c of [...this.all]) c.close('shutdown');
    const s = this.server;
    this.server = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }

  findConnection(dest: TransportAddress): Connection | undefined {
    const c = this.byRemote.get(addressKey({ ...dest, transport: this.protocol }));
    return c && !c.closed ? c : undefined;
  }

  /** Reuse an open connection to `dest` or open one (RFC 3261 §18.1.1). */
  send(buf: Buffer, dest: TransportAddress, onError?: (err: Error) => void): void {
    let conn = this.byRemote.get(addressKey({ ...dest, transport: this.protocol }));
    if (!conn || conn.closed) {
      if (this.all.size >= this.limits.maxConnections) {
        onError?.(new Error(`${this.protocol}: connection limit ${this.limits.maxConnections} reached`));
        return;
      }
      if (!validPort(dest.port) || isIP(dest.host) === 0) {
        onError?.(new Error(`bad destination ${dest.host}:${dest.port}`));
        return;
      }
      try {
        conn = this.open(dest);
      } catch (err) {
        onError?.(err instanceof Error ? err : new Error(String(err)));
        return;
      }
    }
    conn.send(buf, onError);
  }

  /** Send over a specific connection, falling back to `send` towards its peer if it closed. */
  sendOver(conn: Connection, buf: Buffer, onError?: (err: Error) => void): void {
    if (!conn.closed && conn instanceof StreamConnection) conn.send(buf, onError);
    else this.send(buf, conn.remote, onError);
  }

  private open(dest: TransportAddress): StreamConnection {
    const remote: TransportAddress = { transport: this.protocol, host: dest.host, port: dest.port };
    let conn: StreamConnection | undefined;
    const socket = this.connectSocket(remote, () => conn?.markConnected());
    conn = new StreamConnection(
      this.protocol,
      socket,
      { ...this.bound },
      remote,
      new StreamFramer({ maxHeaderBytes: this.limits.maxHeaderBytes, maxBodyBytes: this.limits.maxBodyBytes }),
      this.connectionEvents,
      this.logger,
      { inbound: false, connected: false, idleTimeoutMs: this.limits.idleTimeoutMs },
    );
    this.remember(conn);
    return conn;
  }

  private accept(socket: Socket): void {
    const ip = normalizeIp(socket.remoteAddress);
    const port = socket.remotePort ?? 0;
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.all.size >= this.limits.maxConnections || fromIp >= this.limits.maxConnectionsPerIp) {
      this.rejectedConnections++;
      if (this.rejectedConnections === 1 || this.rejectedConnections % 1000 === 0) {
        this.logger.warn(
          { ip, total: this.all.size, fromIp, rejected: this.rejectedConnections },
          'connection limit reached, closing new connection',
        );
      }
      socket.destroy();
      return;
    }
    const conn = new StreamConnection(
      this.protocol,
      socket,
      { transport: this.protocol, host: normalizeIp(socket.localAddress) || this.bound.host, port: this.bound.port },
      { transport: this.protocol, host: ip, port },
      new StreamFramer({ maxHeaderBytes: this.limits.maxHeaderBytes, maxBodyBytes: this.limits.maxBodyBytes }),
      this.connectionEvents,
      this.logger,
      { inbound: true, connected: true, idleTimeoutMs: this.limits.idleTimeoutMs },
    );
    this.perIp.set(ip, fromIp + 1);
    this.remember(conn);
  }

  private remember(conn: StreamConnection): void {
    this.all.add(conn);
    this.byRemote.set(addressKey(conn.remote), conn);
  }

  private forget(conn: StreamConnection): void {
    if (!this.all.delete(conn)) return;
    const key = addressKey(conn.remote);
    if (this.byRemote.get(key) === conn) this.byRemote.delete(key);
    if (conn.inbound) {
      const n = (this.perIp.get(conn.remote.host) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(conn.remote.host);
      else this.perIp.set(conn.remote.host, n);
    }
    this.delegate.onConnectionClosed?.(conn);
  }
}
