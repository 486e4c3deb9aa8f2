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
   * 2xx while in Accepted, RFC 6026 §7.2) is passed up, unless {@link handOver2xx} took them
   * over; the TU sends the ACK for 2xx. Once a client transaction is Completed (non-2xx final
   * response, RFC 3261 §17.1.1.2, §17.1.2.2) it tells the TU nothing more and drops it.
   */
  onFinal(response: SipResponse): void;
  /**
   * INVITE only, optional: asked right after `onFinal` for the first 2xx. A handler returned
   * here gets the further 2xx of the Accepted state (64·T1, RFC 6026 §7.2) instead of
   * `onFinal`, and the transaction lets go of this user, so an ended call is not kept alive by
   * a transaction waiting out timer M.
   */
  handOver2xx?(): Accepted2xxHandler | undefined;
  /** Timer B or F fired (RFC 3261 §17.1.1.2, §17.1.2.2); the TU treats it as a 408. */
  onTimeout(): void;
  /** The transport failed (RFC 3261 §17.1.4); the TU treats it as a 503. */
  onTransportError(err: Error): void;
}

/**
 * Receives the 2xx responses (retransmissions or other forks) an INVITE client transaction in
 * Accepted gets after the first one (RFC 6026 §7.2); the TU's ACK for each is its business
 * (RFC 3261 §13.2.2.4). Returned by {@link ClientTransactionUser.onFinal}.
 */
export interface Accepted2xxHandler {
  /** A further 2xx of the INVITE (RFC 6026 §7.2). */
  on2xx(response: SipResponse): void;
}

/** A client transaction user that hears nothing (kept by a transaction once it needs no TU). */
export const NO_CLIENT_USER: ClientTransactionUser = Object.freeze({
  onFinal: (): void => undefined,
  onTimeout: (): void => undefined,
  onTransportError: (): void => undefined,
});

/**
 * The sender a client transaction keeps once it will send nothing more (INVITE in Accepted,
 * RFC 6026 §7.2; non-INVITE in Completed, RFC 3261 §17.1.2.2): the real one holds the route.
 */
export const NO_CLIENT_SENDER: ClientTransactionSender = Object.freeze({
  reliable: false,
  send: (): void => undefined,
});

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

/** The user of a server transaction nobody has set one for: hears nothing (shared, frozen). */
export const NO_USER: ServerTransactionUser = Object.freeze({});

/** Run once when a transaction reaches Terminated; gets the transaction (one hook can serve a whole table). */
export type TerminationHook = (tx: { readonly id: string }) => void;
