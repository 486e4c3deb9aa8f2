/**
 * An INVITE we received that creates a session (UAS, RFC 3261 §13.3): provisional responses
 * (early dialog when they carry a To tag, §12.1.1), the 2xx with retransmission until ACK
 * (§13.3.1.4), rejection, and CANCEL from the caller (§9.2).
 */
import type { SipRequest } from '../message/types.js';
import { Dialog } from './dialog.js';
import type { UasContext } from './dialog-stack-port.js';
import { DialogState } from './dialog-state.js';
import { InviteSession, type SessionHost } from './invite-session.js';

/** State of an incoming INVITE. */
export enum InviteServerState {
  /** Nothing but 100 sent. */
  Trying = 'Trying',
  /** A 1xx with To tag went out: an early dialog exists. */
  Early = 'Early',
  /** 2xx sent: the session is established (ACK may still be pending). */
  Accepted = 'Accepted',
  /** A 3xx–6xx went out, or CANCEL ended it (487). */
  Rejected = 'Rejected',
}

/** See `InviteServerSession.cancelLink`. */
interface CancelLink {
  target: InviteServerSession | undefined;
}

/** The listener given to the request context: reaches the session only through `link` (no `this` in its scope). */
function cancelForwarder(link: CancelLink): (cancel: SipRequest) => void {
  return (cancel) => link.target?.receiveCancel(cancel);
}

/** A received initial INVITE until its final answer. */
export class InviteServerSession {
  state = InviteServerState.Trying;
  /** The session: created with the first 1xx (early) or the 2xx. */
  readonly session: InviteSession;
  private cancelListeners: Array<(cancel: SipRequest) => void> = [];
  /**
   * What the request context's CANCEL listener reaches: this session until the final answer.
   * The context lives as long as the INVITE server transaction (32 s after a 2xx, RFC 6026
   * §7.1); through this link it does not keep the session and the call after that.
   */
  private readonly cancelLink: CancelLink = { target: this };

  constructor(
    private readonly host: SessionHost,
    readonly ctx: UasContext,
  ) {
    const dialog = Dialog.createUas(ctx.request, ctx.toTag, host.stack.localContact(ctx.source), true);
    this.session = new InviteSession(host, dialog, ctx.source.transport);
    ctx.onCancel(cancelForwarder(this.cancelLink));
  }

  /** @internal A CANCEL from the caller (RFC 3261 §9.2), before our final answer. */
  receiveCancel(cancel: SipRequest): void {
    this.cancelLink.target = undefined;
    if (this.state === InviteServerState.Accepted || this.state === InviteServerState.Rejected) return;
    this.state = InviteServerState.Rejected; // the stack answers 487 (RFC 3261 §9.2)
    this.session.terminate('cancelled');
    for (const l of this.cancelListeners.splice(0)) l(cancel);
  }

  /** The INVITE. */
  get request(): SipRequest {
    return this.ctx.request;
  }

  /** True when the INVITE carried an offer (else our 2xx must carry one, RFC 3264 §4). */
  get hasOffer(): boolean {
    return this.ctx.request.body.length > 0;
  }

  /** Be told when the caller CANCELs before our final answer. */
  onCancel(listener: (cancel: SipRequest) => void): void {
    this.cancelListeners.push(listener);
  }

  /** Send a provisional response (180, 183 with early media SDP…); it creates the early dialog (RFC 3261 §12.1.1). */
  progress(status: number, body?: string | Buffer, reason?: string): void {
    if (this.state !== InviteServerState.Trying && this.state !== InviteServerState.Early) return;
    const hs: Array<[string, string]> = [['Contact', this.session.dialog.localContact]];
    if (body !== undefined && body.length > 0) hs.push(['Content-Type', 'application/sdp']);
    this.ctx.reply(status, reason, hs, body);
    if (status > 100 && this.state === InviteServerState.Trying) {
      this.state = InviteServerState.Early;
      this.host.register(this.session);
    }
  }

  /** Answer 200 with our SDP (RFC 3261 §13.3.1.4); the session waits for the ACK. */
  accept(body?: string | Buffer): InviteSession {
    if (this.state === InviteServerState.Rejected) return this.session;
    if (this.state === InviteServerState.Trying) this.host.register(this.session);
    this.state = InviteServerState.Accepted;
    this.cancelLink.target = undefined;
    this.cancelListeners.length = 0;
    this.session.dialog.state = DialogState.Confirmed;
    this.session.sendInvite2xx(this.ctx, body);
    return this.session;
  }

  /** Answer with a final error (RFC 3261 §13.3.1.3): no dialog remains. */
  reject(status: number, reason?: string, headers?: Array<[string, string]>): void {
    if (this.state === InviteServerState.Accepted || this.state === InviteServerState.Rejected) return;
    this.state = InviteServerState.Rejected;
    this.cancelLink.target = undefined;
    this.cancelListeners.length = 0;
    if (!this.ctx.finalSent) this.ctx.reply(status, reason, headers);
    this.session.terminate('rejected');
  }
}
