/**
 * Contracts of the transport layer (RFC 3261 §18). UDP, TCP and TLS implement them now;
 * WebSocket (RFC 7118) plugs in later as one more `Transport` whose connections frame one SIP
 * message per WebSocket message.
 */
import type { SipMessage, SipParseError, TransportAddress, TransportProtocol } from '../message/types.js';

/** A connection of a stream (or WebSocket) transport. */
export interface Connection {
  /** Unique id within the process. */
  readonly id: number;
  readonly protocol: TransportProtocol;
  /** Our end. */
  readonly local: TransportAddress;
  /** The peer's end. */
  readonly remote: TransportAddress;
  /** True once closed; sending then fails. */
  readonly closed: boolean;
  /** Queue one message's bytes for the peer; `onError` hears about a failure to deliver them. */
  send(buf: Buffer, onError?: (err: Error) => void): void;
  /** Close the connection (graceful end, then destroy). */
  close(reason?: string): void;
}

/**
 * What a transport hands up: whole framed and parsed messages (one datagram, one stream
 * message, one WebSocket message), with where they came from, or the parse error of a
 * well-framed message that did not parse.
 */
export interface TransportDelegate {
  onMessage(
    message: SipMessage,
    source: TransportAddress,
    connection: Connection | undefined,
    transport: Transport,
  ): void;
  /** A framed message the parser refused (`raw` is its bytes). Framing losses never get here: they close the connection. */
  onMalformed(
    error: SipParseError,
    raw: Buffer,
    source: TransportAddress,
    connection: Connection | undefined,
    transport: Transport,
  ): void;
  /** A connection closed (either side). */
  onConnectionClosed?(connection: Connection): void;
  /** Asked for each datagram before it is parsed; false drops it (flood limits, set from above). */
  admitDatagram?(source: TransportAddress, datagram: Buffer): boolean;
}

/** One listening transport. */
export interface Transport {
  readonly protocol: TransportProtocol;
  /** Reliable transports get no retransmissions (RFC 3261 §17.1.1.2). */
  readonly reliable: boolean;
  /** Bound address, with the real port once listening. */
  readonly local: TransportAddress;
  /** Start listening. */
  listen(): Promise<void>;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
  /**
   * Send a message to `dest`. Stream transports reuse an open connection to `dest` or open
   * one (RFC 3261 §18.1.1). Errors (connection refused, reset) go to `onError`.
   */
  send(buf: Buffer, dest: TransportAddress, onError?: (err: Error) => void): void;
  /** The open connection to `dest`, if any (stream transports only). */
  findConnection?(dest: TransportAddress): Connection | undefined;
}

/** Resource limits of the transport layer. */
export interface TransportLimits {
  /** Maximum open connections per stream transport (inbound + outbound). */
  maxConnections: number;
  /** Maximum inbound connections from one source IP. */
  maxConnectionsPerIp: number;
  /** A connection with no traffic for this long is closed (ms). */
  idleTimeoutMs: number;
  /** Largest header section accepted on a stream before framing gives up (bytes). */
  maxHeaderBytes: number;
  /** Largest body (Content-Length) accepted on a stream (bytes). */
  maxBodyBytes: number;
}

/** Defaults: generous for phones, bounded against a peer that opens idle connections. */
export const defaultTransportLimits: Readonly<TransportLimits> = Object.freeze({
  maxConnections: 10_000,
  maxConnectionsPerIp: 200,
  idleTimeoutMs: 120_000,
  maxHeaderBytes: 65_536,
  maxBodyBytes: 1_048_576,
});

/** Key of an address in connection tables. */
export function addressKey(a: TransportAddress): string {
  return `${a.transport}|${a.host}|${a.port}`;
}
