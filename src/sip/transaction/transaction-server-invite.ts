/**
 * INVITE server transaction (RFC 3261 §17.2.1, with the Accepted state of RFC 6026 §7.1).
 */
import { createResponse } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import { Transaction } from './transaction.js';
import { TransactionState } from './transaction-state.js';
import { NO_USER, type ServerTransactionSender, type ServerTransactionUser, type TransactionContext } from './transaction-types.js';

/**
 * The INVITE server state machine of RFC 3261 §17.2.1 (Figure 7) as updated by RFC 6026 §7.1:
 * Proceeding → Completed (3xx–6xx; timers G (UDP) and H) → Confirmed (ACK; timer I) → Terminated,
 * or Proceeding → Accepted (2xx; timer L = 64·T1) → Terminated.
 *
 * 100 Trying: sent by the transaction itself `trying100Delay` ms (default 200 ms) after the
 * INVITE arrived if the TU has not sent any response by then (RFC 3261 §17.2.1 allows skipping
 * it when the TU answers within 200 ms). A retransmitted INVITE is answered with the last
 * response sent (absorption); in Accepted it is absorbed silently (RFC 6026 §7.1). The ACK of a
 * non-2xx response is absorbed here; an ACK reaching the transaction in Accepted goes to the TU.
 */
export class InviteServerTransaction extends Transaction {
  readonly kind = 'ist' as const;
  private last: SipResponse | undefined;
  private lastBytes: Buffer | undefined;
  private interval: number;
  /** The transaction user; set by the layer that accepts the request. */
  user: ServerTransactionUser = NO_USER;

  constructor(
    ctx: TransactionContext,
    request: SipRequest,
    id: string,
    private readonly sender: ServerTransactionSender,
  ) {
    super(ctx, request, id, TransactionState.Proceeding);
    this.interval = ctx.timers.t1;
  }

  /** The last response sent by this transaction. */
  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  /** Start the 100 Trying timer (RFC 3261 §17.2.1). */
  start(): void {
    const delay = this.ctx.timers.trying100Delay;
    if (delay === 0) this.sendTrying();
    else this.startTimer('Trying', delay, () => this.sendTrying());
  }

  private sendTrying(): void {
    if (this.stateValue !== TransactionState.Proceeding || this.last) return;
    this.respond(createResponse(this.request, 100, 'Trying'));
  }

  /** A retransmitted INVITE or an ACK that matched this transaction (RFC 3261 §17.2.3). */
  receiveRequest(request: SipRequest): void {
    if (request.method === 'ACK') {
      if (this.stateValue === TransactionState.Completed) {
        this.stopTimer('G');
        this.stopTimer('H');
        this.setState(TransactionState.Confirmed);
        const i = this.sender.reliable ? 0 : this.ctx.timers.t4;
        if (i === 0) this.terminate();
        else this.startTimer('I', i, () => this.terminate());
      } else if (this.stateValue === TransactionState.Accepted) {
        this.user.onAck?.(request);
      }
      return;
    }
    // Retransmitted INVITE.
    if (this.stateValue === TransactionState.Proceeding || this.stateValue === TransactionState.Completed) {
      this.retransmit();
    }
  }

  /**
   * Send a response from the TU (RFC 3261 §17.2.1). In Accepted, only 2xx (the TU's
   * retransmissions, RFC 3261 §13.3.1.4) are sent; anything else, and anything once Completed
   * (e.g. the TU answering after a CANCEL got 487), is refused: returns false, sends nothing.
   */
  respond(response: SipResponse): boolean {
    const status = response.status;
    const s = this.stateValue;
    if (s === TransactionState.Accepted) {
      if (status < 200 || status >= 300) return false;
      this.transmit(response);
      return true;
    }
    if (s !== TransactionState.Proceeding) return false;
    this.stopTimer('Trying');
    this.last = response;
    if (status < 200) {
      this.transmit(response);
    } else if (status < 300) {
      this.setState(TransactionState.Accepted);
      this.startTimer('L', 64 * this.ctx.timers.t1, () => this.terminate());
      this.transmit(response);
    } else {
      this.setState(TransactionState.Completed);
      if (!this.sender.reliable) this.startTimer('G', this.interval, () => this.timerG());
      this.startTimer('H', 64 * this.ctx.timers.t1, () => this.timerH());
      this.transmit(response);
    }
    return true;
  }

  private transmit(response: SipResponse): void {
    this.lastBytes = this.sender.send(response, (err) => this.transportError(err));
  }

  private retransmit(): void {
    if (this.lastBytes) this.sender.resend(this.lastBytes, (err) => this.transportError(err));
  }

  /** RFC 3261 §17.2.4: a failure to send a response ends the transaction; the TU is told. */
  transportError(err: Error): void {
    if (this.stateValue === TransactionState.Terminated) return;
    this.terminate();
    this.user.onTransportError?.(err);
  }

  private timerG(): void {
    if (this.stateValue !== TransactionState.Completed) return;
    this.retransmit();
    if (this.stateValue !== TransactionState.Completed) return;
    this.interval = Math.min(2 * this.interval, this.ctx.timers.t2);
    this.startTimer('G', this.interval, () => this.timerG());
  }

  private timerH(): void {
    this.terminate();
    this.user.onTimeout?.();
  }

  protected override onTerminated(): void {
    this.user.onTerminated?.();
  }
}
