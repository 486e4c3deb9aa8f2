/**
 * UDP transport (RFC 3261 §18): one datagram is one message.
 */
import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from '../../util/logger.js';
import { parseMessage } from '../message/index.js';
import { SipParseError, type SipMessage, type TransportAddress } from '../message/types.js';
import type { ListenSpec } from './listen-spec.js';
import type { Transport, TransportDelegate } from './transport-types.js';

/** A UDP socket bound to one address. Unreliable: the transaction layer retransmits. */
export class UdpTransport implements Transport {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  private socket: Socket | undefined;
  private bound: TransportAddress;

  constructor(
    private readonly spec: ListenSpec,
    private readonly delegate: TransportDelegate,
    private readonly logger: Logger,
  ) {
    this.bound = { transport: 'udp', host: spec.host, port: spec.port };
  }

  get local(): TransportAddress {
    return this.bound;
  }

  /** Bind the socket; resolves with the real port known. */
  listen(): Promise<void> {
    const type = isIP(this.spec.host) === 6 ? 'udp6' : 'udp4';
    const socket = createSocket({ type, ipv6Only: type === 'udp6', lookup: literalLookup });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      socket.once('error', onError);
      socket.on('message', (buf, rinfo) =>
        this.receive(buf, { transport: 'udp', host: rinfo.address, port: rinfo.port }),
      );
      socket.bind(this.spec.port, this.spec.host, () => {
        socket.off('error', onError);
        try {
          // Bursts (OPTIONS keepalives of many phones at once): ask for a larger buffer, best effort.
          socket.setRecvBufferSize(4 * 1024 * 1024);
        } catch {
          /* capped or refused by the system: keep the default */
        }
        socket.on('error', (err) => this.logger.warn({ err, local: this.bound }, 'udp socket error'));
        const a = socket.address();
        this.bound = { transport: 'udp', host: this.spec.host, port: a.port };
        resolve();
      });
    });
  }

  /** One datagram is one message (RFC 3261 §18.3); keepalive padding (CRLF, NUL) is ignored (RFC 5626 §4.4.1). */
  private receive(buf: Buffer, source: TransportAddress): void {
    if (isPadding(buf) || this.delegate.admitDatagram?.(source, buf) === false) return;
    let msg: SipMessage;
    try {
      msg = parseMessage(buf);
    } catch (err) {
      const e = err instanceof SipParseError ? err : new SipParseError(400, String(err));
      this.delegate.onMalformed(e, buf, source, undefined, this);
      return;
    }
    this.delegate.onMessage(msg, source, undefined, this);
  }

  /** Close the socket. */
  close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** Send one datagram (RFC 3261 §18.1.1; no size check against the MTU yet: FIXME(RFC 3261 §18.1.1) switch to TCP above 1300 bytes). */
  send(buf: Buffer, dest: TransportAddress, onError?: (err: Error) => void): void {
    const s = this.socket;
    if (!s) {
      onError?.(new Error('udp transport is closed'));
      return;
    }
    if (!validPort(dest.port)) {
      onError?.(new Error(`bad destination port ${dest.port}`));
      return;
    }
    try {
      // No completion callback when nobody listens for errors: dgram then skips a nextTick per send.
      if (onError === undefined) s.send(buf, dest.port, dest.host);
      else
        s.send(buf, dest.port, dest.host, (err) => {
          if (err) {
            this.logger.debug({ err: err.message, dest }, 'udp send failed');
            onError(err);
          }
        });
    } catch (err) {
      // dgram throws synchronously on a bad address; a peer's Via must never crash us.
      onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

type LookupFn = NonNullable<SocketOptions['lookup']>;

/**
 * Address lookup for `dgram`: IP literals (every address the stack sends to: sources, `received`,
 * resolved targets) are answered synchronously, so a send is one synchronous call instead of a
 * `dns.lookup` round through `nextTick`; anything else goes to `dns.lookup` as before.
 */
export const literalLookup: LookupFn = (hostname, options, callback) => {
  const family = isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  dnsLookup(hostname, options, callback);
};

function isPadding(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c !== 13 && c !== 10 && c !== 0 && c !== 32) return false;
  }
  return true;
}

/** A port we may send to (1–65535). */
export function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < 65536;
}
