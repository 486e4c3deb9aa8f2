/**
 * INVITE client transaction (RFC 3261 §17.1.1, with the Accepted state of RFC 6026 §7.2).
 */
import type { SipRequest, SipResponse } from '../message/types.js';
import { buildNon2xxAck } from './build-ack.js';
import { Transaction } from './transaction.js';
import { TransactionState } from './transaction-state.js';
import {
  NO_CLIENT_SENDER,
  NO_CLIENT_USER,
  type Accepted2xxHandler,
  type ClientTransactionSender,
  type ClientTransactionUser,
  type TransactionContext,
} from './transaction-types.js';

/**
 * The INVITE client state machine of RFC 3261 §17.1.1.2 (Figure 5) as updated by RFC 6026:
 * Calling → Proceeding → Completed (non-2xx; ACK sent here, §17.1.1.3) → Terminated, or
 * Calling/Proceeding → Accepted (2xx, timer M = 64·T1) → Terminated.
 * Timer A retransmits the INVITE over UDP with doubling intervals (no T2 cap, RFC 3261
 * §17.1.1.2); any provisional response stops it. Timer B (64·T1) times out Calling only.
 * Timer D is 32 s on UDP and 0 on reliable transports.
 *
 * Memory: Accepted (timer M) and Completed (timer D) last 32 s after the call may have ended,
 * so the transaction then keeps only what those states need. In Accepted it drops the INVITE
 * (`request` throws) and its sender and, when the TU's `handOver2xx` gave an {@link Accepted2xxHandler}, the
 * TU itself: further 2xx go to that handler. In Completed it keeps the ACK it built
 * (RFC 3261 §17.1.1.3) and drops the INVITE and the TU.
 */
export class InviteClientTransaction extends Transaction {
  readonly kind = 'ict' as const;
  private interval: number;
  private ack: SipRequest | undefined;
  private proceedingWaiters: Array<() => void> = [];
  private sender: ClientTransactionSender;
  private user: ClientTransactionUser;
  /** Where further 2xx go in Accepted when the TU gave a handler (RFC 6026 §7.2). */
  private on2xx: Accepted2xxHandler | undefined;

  constructor(
    ctx: TransactionContext,
    request: SipRequest,
    id: string,
    sender: ClientTransactionSender,
    user: ClientTransactionUser,
  ) {
    super(ctx, request, id, TransactionState.Calling);
    this.interval = ctx.timers.t1;
    this.sender = sender;
    this.user = user;
  }

  /** The ACK this transaction generated for a non-2xx final response, if any. */
  get generatedAck(): SipRequest | undefined {
    return this.ack;
  }

  /**
   * Run `fn` once the transaction is in Proceeding (at once if it already is); dropped if it
   * ends without a provisional response. For CANCEL, which must wait for a 1xx (RFC 3261 §9.1).
   */
  whenProceeding(fn: () => void): void {
    if (this.stateValue === TransactionState.Proceeding) fn();
    else if (this.stateValue === TransactionState.Calling) this.proceedingWaiters.push(fn);
  }

  /** Send the INVITE, start timers A (UDP) and B (RFC 3261 §17.1.1.2). */
  start(): void {
    this.sender.send(this.request, (err) => this.transportError(err));
    if (this.stateValue === TransactionState.Terminated) return;
    if (!this.sender.reliable) this.startTimer('A', this.interval, () => this.timerA());
    this.startTimer('B', 64 * this.ctx.timers.t1, () => this.timerB());
  }

  /** A response that matched this transaction (RFC 3261 §17.1.3). */
  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.stateValue) {
      case TransactionState.Calling:
      case TransactionState.Proceeding:
        if (status < 200) {
          this.stopTimer('A');
          this.stopTimer('B'); // RFC 3261 §17.1.1.2: B only guards Calling; the TU runs Timer C.
          this.setState(TransactionState.Proceeding);
          this.user.onProvisional?.(response);
          for (const w of this.proceedingWaiters.splice(0)) if (this.stateValue === TransactionState.Proceeding) w();
        } else if (status < 300) {
          this.proceedingWaiters.length = 0;
          this.stopTimer('A');
          this.stopTimer('B');
          this.setState(TransactionState.Accepted);
          this.startTimer('M', 64 * this.ctx.timers.t1);
          this.releaseRequest(); // Accepted sends nothing (RFC 6026 §7.2): no INVITE, no route
          this.sender = NO_CLIENT_SENDER;
          this.user.onFinal(response);
          const handler = this.state === TransactionState.Accepted ? this.user.handOver2xx?.() : undefined;
          if (handler !== undefined) {
            this.on2xx = handler;
            this.user = NO_CLIENT_USER;
          }
        } else {
          this.proceedingWaiters.length = 0;
          this.stopTimer('A');
          this.stopTimer('B');
          this.setState(TransactionState.Completed);
          this.ack = buildNon2xxAck(this.request, response);
          this.releaseRequest(); // Completed only re-sends the ACK (RFC 3261 §17.1.1.2)
          this.sendAck();
          const user = this.user;
          this.user = NO_CLIENT_USER;
          user.onFinal(response);
          if (this.state !== TransactionState.Completed) return; // the TU may have disposed us
          const d = this.sender.reliable ? 0 : this.ctx.timers.timerD;
          if (d === 0) this.terminate();
          else this.startTimer('D', d);
        }
        return;
      case TransactionState.Completed:
        // Retransmitted final response: resend the ACK, do not bother the TU (§17.1.1.2).
        if (status >= 300) this.sendAck();
        return;
      case TransactionState.Accepted:
        // RFC 6026 §7.2: further 2xx (retransmissions or forks) go to the TU, which ACKs them.
        if (status >= 200 && status < 300) {
          if (this.on2xx !== undefined) this.on2xx.on2xx(response);
          else this.user.onFinal(response);
        }
        return;
      default:
        return;
    }
  }

  /** RFC 3261 §17.1.4 / §17.1.1.2: transport failure. */
  transportError(err: Error): void {
    const s = this.stateValue;
    if (s === TransactionState.Calling || s === TransactionState.Proceeding) {
      this.terminate();
      this.user.onTransportError(err);
    } else if (s === TransactionState.Completed) {
      // A failure to send the ACK ends the transaction (§17.1.1.2), nothing to tell the TU.
      this.terminate();
    }
  }

  protected override onTerminated(): void {
    this.proceedingWaiters.length = 0;
    this.on2xx = undefined;
  }

  private sendAck(): void {
    if (this.ack) this.sender.send(this.ack, (err) => this.transportError(err));
  }

  private timerA(): void {
    this.sender.send(this.request, (err) => this.transportError(err));
    if (this.stateValue !== TransactionState.Calling) return;
    this.interval *= 2;
    this.startTimer('A', this.interval, () => this.timerA());
  }

  private timerB(): void {
    if (this.stateValue !== TransactionState.Calling) return;
    this.terminate();
    this.user.onTimeout();
  }
}
