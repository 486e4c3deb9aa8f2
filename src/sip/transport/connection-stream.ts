/**
 * One TCP or TLS connection carrying SIP (RFC 3261 §18.3 framing, RFC 5626 §3.5.1 CRLF keepalive).
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../util/logger.js';
import type { FramerEvent, StreamFramer } from '../message/index.js';
import type { SipMessage, SipParseError, TransportAddress, TransportProtocol } from '../message/types.js';
import type { Connection } from './transport-types.js';

let nextConnectionId = 1;

const CRLF = Buffer.from('\r\n');

/** Callbacks a stream connection reports to its transport. */
export interface StreamConnectionEvents {
  onMessage(message: SipMessage, connection: StreamConnection): void;
  onMalformed(error: SipParseError, raw: Buffer, connection: StreamConnection): void;
  onClose(connection: StreamConnection): void;
}

/**
 * A socket plus its framer (the parser's `StreamFramer`). A lost framing (bad or conflicting
 * Content-Length, oversized header section, garbage without an end) closes the connection:
 * nothing after it can be trusted (RFC 3261 §18.3). A double-CRLF ping is answered with one
 * CRLF (RFC 5626 §3.5.1).
 */
export class StreamConnection implements Connection {
  readonly id = nextConnectionId++;
  private isClosed = false;
  private connected: boolean;
  private finishedOnce = false;
  private readonly pendingErrors: Array<(err: Error) => void> = [];
  /** True for connections the peer opened. */
  readonly inbound: boolean;

  constructor(
    readonly protocol: TransportProtocol,
    private readonly socket: Socket,
    readonly local: TransportAddress,
    readonly remote: TransportAddress,
    private readonly framer: StreamFramer,
    private readonly events: StreamConnectionEvents,
    private readonly logger: Logger,
    opts: { inbound: boolean; connected: boolean; idleTimeoutMs: number },
  ) {
    this.inbound = opts.inbound;
    this.connected = opts.connected;
    socket.setNoDelay(true); // one SIP message per write: no Nagle delay
    if (opts.idleTimeoutMs > 0) socket.setTimeout(opts.idleTimeoutMs, () => this.close('idle timeout'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.logger.debug({ err: err.message, remote: this.remote }, 'connection error');
      const cbs = this.pendingErrors.splice(0);
      for (const cb of cbs) cb(err);
      this.close('error');
    });
    socket.on('close', () => this.finish());
    socket.on('end', () => this.close('peer closed'));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Called by the transport once an outbound socket connected. */
  markConnected(): void {
    this.connected = true;
    this.pendingErrors.length = 0;
  }

  /** Write bytes; `onError` hears about a failure to connect (outbound connections). */
  send(buf: Buffer, onError?: (err: Error) => void): void {
    if (this.isClosed) {
      onError?.(new Error(`connection ${this.id} to ${this.remote.host}:${this.remote.port} is closed`));
      return;
    }
    if (!this.connected && onError) this.pendingErrors.push(onError);
    this.socket.write(buf);
  }

  /** End the connection at once. */
  close(reason = 'closed'): void {
    if (this.isClosed) return;
    this.logger.debug({ remote: this.remote, reason, id: this.id }, 'closing connection');
    this.isClosed = true;
    this.socket.destroy();
    this.finish();
  }

  private finish(): void {
    this.isClosed = true;
    if (this.finishedOnce) return;
    this.finishedOnce = true;
    const cbs = this.pendingErrors.splice(0);
    for (const cb of cbs) cb(new Error(`connection to ${this.remote.host}:${this.remote.port} closed`));
    this.events.onClose(this);
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    let events: FramerEvent[];
    try {
      events = this.framer.push(chunk);
    } catch (err) {
      this.logger.debug(
        { remote: this.remote, err: err instanceof Error ? err.message : String(err) },
        'framer failed, closing',
      );
      this.close('framing error');
      return;
    }
    for (const ev of events) {
      if (this.isClosed) return;
      switch (ev.type) {
        case 'message':
          this.events.onMessage(ev.message, this);
          break;
        case 'invalid':
          this.events.onMalformed(ev.error, ev.raw, this);
          break;
        case 'ping':
          this.socket.write(CRLF);
          break;
        case 'pong':
          break;
        case 'fatal':
          this.logger.debug({ remote: this.remote, err: ev.error.message }, 'stream framing lost, closing');
          this.close('framing error');
          return;
      }
    }
  }
}
