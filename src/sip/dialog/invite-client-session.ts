/**
 * An INVITE we send to create a session (UAC, RFC 3261 §13.2): provisional responses and early
 * dialogs (§13.2.2.1) — in which the TU may send a request, e.g. a NOTIFY (RFC 6665) — the ACK
 * for 2xx sent by the TU (§13.2.2.4, late offer supported), CANCEL (§9.1), forked or late 2xx
 * after CANCEL answered with ACK + BYE (§13.2.2.4, §15).
 */
import type { SipRequest, SipResponse, TransportAddress } from '../message/types.js';
import { tagOf } from './dialog-id.js';
import { Dialog, DialogError, uacInviteParts } from './dialog.js';
import { toSipRequest } from './dialog-message-factory.js';
import type { DialogRequestOptions } from './dialog-request.js';
import type { SentRequest } from './dialog-stack-port.js';
import { Invite2xxAcker } from './invite-2xx-acker.js';
import { InviteSession, type InDialogResult, type SessionHost } from './invite-session.js';
import { uriDestination } from './uri-destination.js';

/** State of an outgoing INVITE. */
export enum InviteClientState {
  Calling = 'Calling',
  Proceeding = 'Proceeding',
  Accepted = 'Accepted',
  Failed = 'Failed',
}

/** What the TU hears about an outgoing INVITE. */
export interface InviteClientDelegate {
  /** The first provisional response, 100 included: the INVITE reached a server (RFC 3261 §17.1.1.2 Proceeding). */
  onTrying?(): void;
  /** A 1xx other than 100 (180, 183 with early media…). */
  onProgress?(response: SipResponse): void;
  /**
   * The first 2xx: the session exists. If the INVITE carried an offer the ACK is already sent;
   * if not (late offer), the 2xx carries the offer and the TU must call `ackAnswer(answer)`.
   */
  onAccepted(session: InviteSession, response: SipResponse, ackAnswer?: (answer: string | Buffer) => void): void;
  /** A 3xx–6xx final response. */
  onRejected(response: SipResponse): void;
  /** No response (Timer B) or a transport error (RFC 3261 §17.1.4). */
  onFailed(kind: 'timeout' | 'transport-error'): void;
}

/**
 * One outgoing INVITE transaction and the session it may create. The 2xx that follow the first
 * one (retransmissions, other forks) are answered by an {@link Invite2xxAcker} that the INVITE
 * client transaction keeps while Accepted (RFC 6026 §7.2) instead of this object, so the call
 * can be released as soon as it ends.
 */
export class InviteClientSession {
  state = InviteClientState.Calling;
  private sent: SentRequest | undefined;
  private session: InviteSession | undefined;
  private cancelWanted = false;
  private cancelSent = false;
  /** ACKs for this INVITE's 2xx (created with the first 2xx). */
  private acker: Invite2xxAcker | undefined;
  private readonly hasOffer: boolean;
  /**
   * Early dialogs in which we sent a request, by remote tag (RFC 3261 §12.1.2): the 2xx of the
   * same fork confirms that dialog, so its local CSeq goes on growing (§12.2.1.1).
   */
  private readonly early = new Map<string, Dialog>();

  /**
   * @param request a complete INVITE (From tag, Call-ID, CSeq, Contact) without Via
   * @param dest the first hop (RFC 3263), e.g. what reachability picked
   */
  constructor(
    private readonly host: SessionHost,
    readonly request: SipRequest,
    readonly dest: TransportAddress,
    private readonly delegate: InviteClientDelegate,
  ) {
    this.hasOffer = request.body.length > 0;
  }

  /** The session, once a 2xx arrived. */
  get established(): InviteSession | undefined {
    return this.session;
  }

  /** Put the INVITE on the wire. */
  send(): void {
    this.sent = this.host.stack.sendRequest(this.request, this.dest, {
      onProvisional: (r) => this.onProvisional(r),
      onFinal: (r) => this.onFinal(r),
      handOver2xx: () => this.acker, // the 2xx that follow go to the acker, not to this session
      onTimeout: () => this.fail('timeout'),
      onTransportError: () => this.fail('transport-error'),
    });
  }

  /**
   * Give up the attempt (RFC 3261 §9.1): CANCEL once a provisional response came (before that
   * CANCEL must wait); a 2xx racing the CANCEL gets ACK + BYE.
   */
  cancel(): void {
    if (this.state === InviteClientState.Failed || this.state === InviteClientState.Accepted) {
      if (this.state === InviteClientState.Accepted && this.session?.active) void this.session.bye();
      return;
    }
    this.cancelWanted = true;
    if (this.state === InviteClientState.Proceeding) this.sendCancel();
  }

  /**
   * Send a non-INVITE request (e.g. NOTIFY, RFC 6665 §4.2.2; INFO) in the early dialog that
   * `provisional` (a 1xx to this INVITE with a To tag, RFC 3261 §12.1.2) created, while the
   * INVITE is still unanswered. Resolves with the final response; 481 when there is no early
   * dialog (no To tag, another INVITE's 1xx, or the INVITE is no longer proceeding), 408 for a
   * timeout, 503 for a transport error.
   */
  requestInEarlyDialog(
    provisional: SipResponse,
    method: string,
    opts: DialogRequestOptions = {},
  ): Promise<InDialogResult> {
    const tag = tagOf(provisional.to.params);
    const ours = provisional.callId === this.request.callId && provisional.cseq.seq === this.request.cseq.seq;
    if (
      this.state !== InviteClientState.Proceeding ||
      !tag ||
      !ours ||
      provisional.status >= 200 ||
      method === 'INVITE'
    )
      return Promise.resolve({ status: 481 });
    let dialog = this.early.get(tag);
    let spec;
    try {
      if (!dialog) {
        dialog = Dialog.createUac(this.request, provisional, this.host.stack.localContact(this.dest));
        this.early.set(tag, dialog);
      }
      spec = dialog.createRequest(method, opts);
    } catch (err) {
      return Promise.resolve({ status: err instanceof DialogError && err.status ? err.status : 481 });
    }
    let dest: TransportAddress;
    try {
      dest = uriDestination(spec.nextHop, this.dest.transport);
    } catch {
      return Promise.resolve({ status: 416 });
    }
    const request = toSipRequest(spec);
    return new Promise<InDialogResult>((resolve) => {
      this.host.stack.sendRequest(request, dest, {
        onFinal: (response) => resolve({ status: response.status, response }),
        onTimeout: () => resolve({ status: 408 }),
        onTransportError: () => resolve({ status: 503 }),
      });
    });
  }

  private sendCancel(): void {
    if (this.cancelSent || !this.sent) return;
    this.cancelSent = true;
    this.host.stack.sendCancel(this.sent, this.dest);
  }

  private onProvisional(r: SipResponse): void {
    if (this.state === InviteClientState.Calling) {
      this.state = InviteClientState.Proceeding;
      this.delegate.onTrying?.();
    }
    if (this.cancelWanted) {
      this.sendCancel();
      return;
    }
    if (this.state !== InviteClientState.Proceeding || r.status === 100) return;
    this.delegate.onProgress?.(r);
  }

  private onFinal(r: SipResponse): void {
    if (r.status >= 200 && r.status < 300) {
      this.on2xx(r);
      return;
    }
    if (this.state === InviteClientState.Accepted || this.state === InviteClientState.Failed) return;
    this.state = InviteClientState.Failed;
    this.delegate.onRejected(r);
  }

  private on2xx(r: SipResponse): void {
    const acker = (this.acker ??= new Invite2xxAcker(this.host, this.dest.transport, {
      invite: uacInviteParts(this.request),
      dest: this.dest,
    }));
    if (this.session || this.state === InviteClientState.Failed) {
      // A retransmitted 2xx gets the same ACK again; another fork's 2xx, or a 2xx after we gave
      // up, gets ACK + BYE (RFC 3261 §13.2.2.4).
      acker.on2xx(r);
      return;
    }
    // The early dialog of this fork, if we used it, becomes the confirmed one (RFC 3261 §13.2.2.4).
    const early = this.early.get(tagOf(r.to.params) ?? '');
    this.early.clear();
    if (early) early.confirm(r);
    const dialog = early ?? Dialog.createUac(this.request, r, this.host.stack.localContact(this.dest));
    const session = new InviteSession(this.host, dialog, this.dest.transport);
    this.session = session;
    this.state = InviteClientState.Accepted;
    acker.accept(dialog.id.remoteTag);
    this.host.register(session);
    if (this.cancelWanted) {
      this.sendAckFor(session, r);
      void session.bye();
      return;
    }
    if (this.hasOffer) {
      this.sendAckFor(session, r);
      this.delegate.onAccepted(session, r);
    } else {
      this.delegate.onAccepted(session, r, (answer) => this.sendAckFor(session, r, answer));
    }
  }

  private sendAckFor(session: InviteSession, r: SipResponse, answer?: string | Buffer): void {
    const acker = this.acker;
    const tag = session.dialog.id.remoteTag;
    if (!acker || acker.hasAcked(tag)) return;
    const spec = session.dialog.createAck(r.cseq.seq, answer);
    const ack = toSipRequest(spec);
    const dest = uriDestination(spec.nextHop, this.dest.transport);
    acker.sent(tag, ack, dest);
    this.host.stack.sendAck(ack, dest);
  }

  private fail(kind: 'timeout' | 'transport-error'): void {
    if (this.state === InviteClientState.Accepted || this.state === InviteClientState.Failed) return;
    this.state = InviteClientState.Failed;
    this.delegate.onFailed(kind);
  }
}
