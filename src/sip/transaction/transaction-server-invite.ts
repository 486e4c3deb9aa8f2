/**
 * INVITE server transaction (RFC 3261 §17.2.1, with the Accepted state of RFC 6026 §7.1).
 */
import { createResponse } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import { ownBytes } from './own-bytes.js';
import { detachedString, toTag } from './transaction-key.js';
import { Transaction } from './transaction.js';
import { TransactionState } from './transaction-state.js';
import {
  NO_USER,
  type ServerTransactionSender,
  type ServerTransactionUser,
  type TransactionContext,
} from './transaction-types.js';

/** The To tag of a response, '' when its To header does not parse (a malformed request's copy). */
function toTagOrEmpty(response: SipResponse): string {
  try {
    return toTag(response);
  } catch {
    return '';
  }
}

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
 *
 * Memory: Accepted (timer L) and Completed/Confirmed (timers H, I) outlive the call, so once a
 * final response went out the transaction keeps only its status, To tag and, in Completed, the
 * bytes of the final response (in a buffer of their own, resent through the sender's route; in
 * Accepted nothing is resent by the transaction): the INVITE and the response objects are
 * released (`request` then throws, `lastResponse` is undefined; use `lastStatus`, `lastToTag`).
 */
export class InviteServerTransaction extends Transaction {
  readonly kind = 'ist' as const;
  private last: SipResponse | undefined;
  private lastBytes: Buffer | undefined;
  private status = 0;
  private tag = '';
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

  /** The last response sent by this transaction (released once a final response went out). */
  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  /** Status of the last response sent (0 before any). */
  get lastStatus(): number {
    return this.status;
  }

  /** To tag of the last response sent ('' before any or without one), for RFC 2543 ACK matching (RFC 3261 §17.2.3). */
  get lastToTag(): string {
    return this.tag;
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
        else this.startTimer('I', i);
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
    this.status = status;
    this.tag = detachedString(toTagOrEmpty(response));
    if (status < 200) {
      this.last = response;
      this.transmit(response);
      return true;
    }
    // A final response: from now on only its bytes are needed (RFC 3261 §17.2.1, RFC 6026 §7.1).
    this.last = undefined;
    this.releaseRequest();
    if (status < 300) {
      this.setState(TransactionState.Accepted);
      this.startTimer('L', 64 * this.ctx.timers.t1);
      this.transmit(response);
      // Accepted absorbs INVITE retransmissions without answering (RFC 6026 §7.1): no bytes to keep.
      this.lastBytes = undefined;
    } else {
      this.setState(TransactionState.Completed);
      if (!this.sender.reliable) this.startTimer('G', this.interval, () => this.timerG());
      this.startTimer('H', 64 * this.ctx.timers.t1, () => this.timerH());
      this.transmit(response);
      if (this.lastBytes !== undefined) this.lastBytes = ownBytes(this.lastBytes);
    }
    return true;
  }

  private transmit(response: SipResponse): void {
    const bytes = this.sender.send(response, (err) => this.transportError(err));
    if (this.stateValue !== TransactionState.Accepted) this.lastBytes = bytes;
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
