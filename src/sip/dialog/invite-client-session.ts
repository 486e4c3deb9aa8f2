/**
 * An INVITE we send to create a session (UAC, RFC 3261 §13.2): provisional responses and early
 * dialogs (§13.2.2.1), the ACK for 2xx sent by the TU (§13.2.2.4, late offer supported),
 * CANCEL (§9.1), forked or late 2xx after CANCEL answered with ACK + BYE (§13.2.2.4, §15).
 */
import type { SipRequest, SipResponse, TransportAddress } from '../message/types.js';
import { Dialog } from './dialog.js';
import { tagOf } from './dialog-id.js';
import { toSipRequest } from './dialog-message-factory.js';
import type { SentRequest } from './dialog-stack-port.js';
import { InviteSession, type SessionHost } from './invite-session.js';
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

/** One outgoing INVITE transaction and the session it may create. */
export class InviteClientSession {
  state = InviteClientState.Calling;
  private sent: SentRequest | undefined;
  private session: InviteSession | undefined;
  private cancelWanted = false;
  private cancelSent = false;
  private ack: SipRequest | undefined;
  private ackDest: TransportAddress | undefined;
  private readonly hasOffer: boolean;

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

  private sendCancel(): void {
    if (this.cancelSent || !this.sent) return;
    this.cancelSent = true;
    this.host.stack.sendCancel(this.sent, this.dest);
  }

  private onProvisional(r: SipResponse): void {
    if (this.state === InviteClientState.Calling) this.state = InviteClientState.Proceeding;
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
    const remoteTag = tagOf(r.to.params);
    if (this.session) {
      if (remoteTag === this.session.dialog.id.remoteTag) {
        // Retransmitted 2xx: the same ACK again (RFC 3261 §13.2.2.4).
        if (this.ack && this.ackDest) this.host.stack.sendAck(this.ack, this.ackDest);
      } else {
        this.ackAndBye(r); // a second fork answered: ACK and end it (§13.2.2.4)
      }
      return;
    }
    if (this.state === InviteClientState.Failed) {
      this.ackAndBye(r);
      return;
    }
    const dialog = Dialog.createUac(this.request, r, this.host.stack.localContact(this.dest));
    const session = new InviteSession(this.host, dialog, this.dest.transport);
    this.session = session;
    this.state = InviteClientState.Accepted;
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
    if (this.ack) return;
    const spec = session.dialog.createAck(r.cseq.seq, answer);
    this.ack = toSipRequest(spec);
    this.ackDest = uriDestination(spec.nextHop, this.dest.transport);
    this.host.stack.sendAck(this.ack, this.ackDest);
  }

  private ackAndBye(r: SipResponse): void {
    try {
      const dialog = Dialog.createUac(this.request, r, this.host.stack.localContact(this.dest));
      const extra = new InviteSession(this.host, dialog, this.dest.transport);
      const spec = dialog.createAck(r.cseq.seq);
      this.host.stack.sendAck(toSipRequest(spec), uriDestination(spec.nextHop, this.dest.transport));
      void extra.bye();
    } catch (err) {
      this.host.logger.debug({ err }, 'stray 2xx could not be acknowledged');
    }
  }

  private fail(kind: 'timeout' | 'transport-error'): void {
    if (this.state === InviteClientState.Accepted || this.state === InviteClientState.Failed) return;
    this.state = InviteClientState.Failed;
    this.delegate.onFailed(kind);
  }
}
