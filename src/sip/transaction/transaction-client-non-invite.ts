/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2).
 */
import type { SipRequest, SipResponse } from '../message/types.js';
import { Transaction } from './transaction.js';
import { TransactionState } from './transaction-state.js';
import {
  NO_CLIENT_SENDER,
  NO_CLIENT_USER,
  type ClientTransactionSender,
  type ClientTransactionUser,
  type TransactionContext,
} from './transaction-types.js';

/**
 * The non-INVITE client state machine of RFC 3261 §17.1.2.2 (Figure 6):
 * Trying → Proceeding → Completed → Terminated, with timers E (retransmit, doubling up to T2,
 * UDP only), F (timeout, 64·T1) and K (T4 on UDP, 0 on reliable transports).
 *
 * Memory: in Completed (timer K) the transaction only absorbs retransmitted responses, so it
 * drops the request (`request` then throws), its sender and its TU.
 */
export class NonInviteClientTransaction extends Transaction {
  readonly kind = 'nict' as const;
  private interval: number;
  private sender: ClientTransactionSender;
  private user: ClientTransactionUser;

  constructor(
    ctx: TransactionContext,
    request: SipRequest,
    id: string,
    sender: ClientTransactionSender,
    user: ClientTransactionUser,
  ) {
    super(ctx, request, id, TransactionState.Trying);
    this.interval = ctx.timers.t1;
    this.sender = sender;
    this.user = user;
  }

  /** Send the request and start timers E and F (RFC 3261 §17.1.2.2). */
  start(): void {
    this.transmit();
    if (this.stateValue === TransactionState.Terminated) return;
    if (!this.sender.reliable) this.startTimer('E', this.interval, () => this.timerE());
    this.startTimer('F', 64 * this.ctx.timers.t1, () => this.timerF());
  }

  /** A response whose branch and CSeq method matched this transaction (RFC 3261 §17.1.3). */
  receiveResponse(response: SipResponse): void {
    const s = this.stateValue;
    if (s !== TransactionState.Trying && s !== TransactionState.Proceeding) return; // Completed: absorb
    if (response.status < 200) {
      this.setState(TransactionState.Proceeding);
      this.user.onProvisional?.(response);
      return;
    }
    this.stopTimer('E');
    this.stopTimer('F');
    this.setState(TransactionState.Completed);
    this.releaseRequest(); // Completed sends nothing (RFC 3261 §17.1.2.2)
    const user = this.user;
    this.user = NO_CLIENT_USER;
    user.onFinal(response);
    if (this.stateValue !== TransactionState.Completed) return;
    const k = this.sender.reliable ? 0 : this.ctx.timers.t4;
    this.sender = NO_CLIENT_SENDER;
    if (k === 0) this.terminate();
    else this.startTimer('K', k);
  }

  private transmit(): void {
    this.sender.send(this.request, (err) => this.transportError(err));
  }

  /** RFC 3261 §17.1.4: a transport failure ends the transaction and is reported to the TU. */
  transportError(err: Error): void {
    const s = this.stateValue;
    if (s !== TransactionState.Trying && s !== TransactionState.Proceeding) return;
    this.terminate();
    this.user.onTransportError(err);
  }

  private timerE(): void {
    // RFC 3261 §17.1.2.2: in Trying the interval doubles up to T2; in Proceeding it is T2.
    this.transmit();
    if (this.stateValue === TransactionState.Terminated) return;
    this.interval =
      this.stateValue === TransactionState.Proceeding
        ? this.ctx.timers.t2
        : Math.min(2 * this.interval, this.ctx.timers.t2);
    this.startTimer('E', this.interval, () => this.timerE());
  }

  private timerF(): void {
    this.terminate();
    this.user.onTimeout();
  }
}
