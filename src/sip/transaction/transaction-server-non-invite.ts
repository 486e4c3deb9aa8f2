/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2).
 */
import type { SipRequest, SipResponse } from '../message/types.js';
import { ownBytes } from './own-bytes.js';
import { Transaction } from './transaction.js';
import { TransactionState } from './transaction-state.js';
import {
  NO_USER,
  type ServerTransactionSender,
  type ServerTransactionUser,
  type TransactionContext,
} from './transaction-types.js';

/**
 * The non-INVITE server state machine of RFC 3261 §17.2.2 (Figure 8):
 * Trying → Proceeding (1xx) → Completed (final; timer J = 64·T1 on UDP, 0 on reliable) →
 * Terminated. A retransmitted request is absorbed in Trying and answered with the last
 * response in Proceeding and Completed.
 *
 * Memory: in Completed the transaction lives on for 32 s only to absorb retransmissions, so it
 * keeps just the bytes of its final response (in a buffer of their own) and its status; the request and response objects
 * are released (`request` then throws, `lastResponse` is undefined; use `lastStatus`).
 */
export class NonInviteServerTransaction extends Transaction {
  readonly kind = 'nist' as const;
  private last: SipResponse | undefined;
  private lastBytes: Buffer | undefined;
  private status = 0;
  /** The transaction user; set by the layer that accepts the request. */
  user: ServerTransactionUser = NO_USER;

  constructor(
    ctx: TransactionContext,
    request: SipRequest,
    id: string,
    private readonly sender: ServerTransactionSender,
  ) {
    super(ctx, request, id, TransactionState.Trying);
  }

  /** The last response sent by this transaction (released once Completed). */
  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  /** Status of the last response sent (0 before any). */
  get lastStatus(): number {
    return this.status;
  }

  /** Nothing to start: the machine waits for the TU (RFC 3261 §17.2.2). */
  start(): void {
    /* no timer in Trying */
  }

  /** A retransmission of the request (RFC 3261 §17.2.2). */
  receiveRequest(_request: SipRequest): void {
    if (this.stateValue === TransactionState.Proceeding || this.stateValue === TransactionState.Completed) {
      if (this.lastBytes) this.sender.resend(this.lastBytes, (err) => this.transportError(err));
    }
  }

  /** Send a response from the TU; refused (false, nothing sent) once a final response went out (§17.2.2). */
  respond(response: SipResponse): boolean {
    const s = this.stateValue;
    if (s !== TransactionState.Trying && s !== TransactionState.Proceeding) return false;
    this.last = response;
    this.status = response.status;
    if (response.status < 200) {
      this.setState(TransactionState.Proceeding);
      this.transmit(response);
      return true;
    }
    this.setState(TransactionState.Completed);
    this.transmit(response);
    if (this.stateValue !== TransactionState.Completed) return true;
    this.last = undefined;
    this.releaseRequest();
    if (this.lastBytes !== undefined) this.lastBytes = ownBytes(this.lastBytes);
    const j = this.sender.reliable ? 0 : 64 * this.ctx.timers.t1;
    if (j === 0) this.terminate();
    else this.startTimer('J', j);
    return true;
  }

  private transmit(response: SipResponse): void {
    this.lastBytes = this.sender.send(response, (err) => this.transportError(err));
  }

  /** RFC 3261 §17.2.4. */
  transportError(err: Error): void {
    if (this.stateValue === TransactionState.Terminated) return;
    this.terminate();
    this.user.onTransportError?.(err);
  }

  protected override onTerminated(): void {
    this.user.onTerminated?.();
  }
}
