/**
 * Interfaces between the transaction layer, the transport below it and the transaction user
 * (TU) above it (RFC 3261 §17).
 */
import type { SipRequest, SipResponse } from '../message/types.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { TimerSettings } from './transaction-timers.js';

/**
 * How a client transaction puts its request (and, for INVITE, the ACK it builds) on the wire.
 * `reliable` selects the timer behaviour (RFC 3261 §17.1.1.2: no retransmission over TCP/TLS).
 * Errors, synchronous or later (TCP connect refused), are reported through `onError`
 * (RFC 3261 §17.1.4).
 */
export interface ClientTransactionSender {
  readonly reliable: boolean;
  send(request: SipRequest, onError: (err: Error) => void): void;
}

/**
 * How a server transaction sends its responses: the transport layer routes them per
 * RFC 3261 §18.2.2 (same connection, `received`/`rport`). Retransmissions reuse the bytes and
 * the route of the first send, so a transaction waiting out timer J/H holds only bytes.
 */
export interface ServerTransactionSender {
  readonly reliable: boolean;
  /** Send a response; returns the bytes sent (kept for retransmissions). */
  send(response: SipResponse, onError: (err: Error) => void): Buffer;
  /** Send again bytes returned by `send`, the same way. */
  resend(bytes: Buffer, onError: (err: Error) => void): void;
}

/** What a client transaction tells its TU (RFC 3261 §17.1). */
export interface ClientTransactionUser {
  /** A 1xx response (RFC 3261 §17.1.1.2, §17.1.2.2). */
  onProvisional?(response: SipResponse): void;
  /**
   * A final response. For INVITE, every 2xx (the first one and any retransmission or forked
   * 2xx while in Accepted, RFC 6026 §7.2) is passed up; the TU sends the ACK for 2xx.
   */
  onFinal(response: SipResponse): void;
  /** Timer B or F fired (RFC 3261 §17.1.1.2, §17.1.2.2); the TU treats it as a 408. */
  onTimeout(): void;
  /** The transport failed (RFC 3261 §17.1.4); the TU treats it as a 503. */
  onTransportError(err: Error): void;
}

/** What a server transaction tells its TU. */
export interface ServerTransactionUser {
  /** Timer H fired: no ACK for the final response (RFC 3261 §17.2.1). */
  onTimeout?(): void;
  /** Sending a response failed (RFC 3261 §17.2.4). */
  onTransportError?(err: Error): void;
  /** The transaction reached Terminated. */
  onTerminated?(): void;
  /** An ACK matched this INVITE transaction while Accepted (RFC 6026 §7.1): the 2xx ACK. */
  onAck?(ack: SipRequest): void;
}

/** Shared environment of every transaction. */
export interface TransactionContext {
  readonly clock: Clock;
  readonly timers: TimerSettings;
  readonly logger: Logger;
}

/** Internal hook the manager uses to drop a transaction from its tables once it terminates. */
/** The user of a server transaction nobody has set one for: hears nothing (shared, frozen). */
export const NO_USER: ServerTransactionUser = Object.freeze({});

export type TerminationHook = () => void;
