/**
 * One SIP-over-WebSocket connection (RFC 7118): each WebSocket message is one SIP message.
 */
import { isUtf8 } from 'node:buffer';
import type { WebSocket } from 'ws';
import type { Logger } from '../../util/logger.js';
import type { TransportAddress, TransportProtocol } from '../message/types.js';
import type { Connection } from './transport-types.js';

let nextWsConnectionId = 1_000_000_000;

/** A WebSocket carrying SIP; text frames for UTF-8 messages, binary otherwise (RFC 7118 §5.1). */
export class WsConnection implements Connection {
  readonly id = nextWsConnectionId++;
  private isClosed = false;

  constructor(
    readonly protocol: TransportProtocol,
    private readonly ws: WebSocket,
    readonly local: TransportAddress,
    readonly remote: TransportAddress,
    private readonly logger: Logger,
  ) {}

  get closed(): boolean {
    return this.isClosed || this.ws.readyState !== this.ws.OPEN;
  }

  /** Send one SIP message as one WebSocket message. */
  send(buf: Buffer, onError?: (err: Error) => void): void {
    if (this.closed) {
      onError?.(new Error(`WebSocket connection ${this.id} to ${this.remote.host}:${this.remote.port} is closed`));
      return;
    }
    const cb = (err?: Error): void => {
      if (err) onError?.(err);
    };
    if (isUtf8(buf)) this.ws.send(buf.toString('utf8'), cb);
    else this.ws.send(buf, { binary: true }, cb);
  }

  /** Close with 1000 (normal) or the given code. */
  close(reason = 'closed', code = 1000): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.logger.debug({ remote: this.remote, reason, id: this.id }, 'closing WebSocket');
    try {
      this.ws.close(code, reason.slice(0, 100));
    } catch {
      this.ws.terminate();
    }
  }

  /** @internal the socket went away. */
  markClosed(): void {
    this.isClosed = true;
  }
}
