/**
 * The UAC's ACKs for the 2xx responses of one INVITE (RFC 3261 §13.2.2.4), as a small object
 * that outlives the session: the INVITE client transaction hands it the 2xx it receives while
 * Accepted (timer M = 64·T1, RFC 6026 §7.2), long after the call may have ended.
 */
import type { SipRequest, SipResponse, TransportAddress, TransportProtocol } from '../message/types.js';
import type { Accepted2xxHandler } from '../transaction/transaction-types.js';
import { Dialog, type UacInviteParts } from './dialog.js';
import { tagOf } from './dialog-id.js';
import { toSipRequest } from './dialog-message-factory.js';
import { InviteSession, type SessionHost } from './invite-session.js';
import { uriDestination } from './uri-destination.js';

/** An ACK we sent and where it went. */
interface SentAck {
  ack: SipRequest;
  dest: TransportAddress;
}

/**
 * Answers every 2xx of one INVITE (RFC 3261 §13.2.2.4): a retransmitted 2xx of a dialog we
 * ACKed gets the same ACK again; a 2xx from another fork (new To tag) is ACKed and its dialog
 * ended with BYE, once (its retransmissions get that ACK again, no second BYE).
 *
 * It holds only the ACKs, the host (long-lived) and the few INVITE fields a fork's dialog needs
 * ({@link UacInviteParts}): no session, no TU, so an ended call is not kept alive by it.
 */
export class Invite2xxAcker implements Accepted2xxHandler {
  /** ACK per remote tag; `undefined` while the TU has not sent it yet (late offer). */
  private readonly acks = new Map<string, SentAck | undefined>();

  /**
   * @param host the dialog user agent (sends ACK and BYE)
   * @param transport the transport the INVITE used
   * @param fork the INVITE's fields and first hop, for the dialogs of other forks; undefined for
   *   a re-INVITE (no forks inside a dialog: a 2xx with an unknown tag is dropped)
   */
  constructor(
    private readonly host: SessionHost,
    private readonly transport: TransportProtocol,
    private readonly fork?: { invite: UacInviteParts; dest: TransportAddress },
  ) {}

  /** The 2xx of the dialog with this remote tag is the TU's: its ACK comes through {@link sent}. */
  accept(remoteTag: string): void {
    if (!this.acks.has(remoteTag)) this.acks.set(remoteTag, undefined);
  }

  /** The ACK the TU sent for the 2xx of the dialog with `remoteTag` (re-sent on retransmissions). */
  sent(remoteTag: string, ack: SipRequest, dest: TransportAddress): void {
    this.acks.set(remoteTag, { ack, dest });
  }

  /** True once an ACK went out for the dialog with `remoteTag`. */
  hasAcked(remoteTag: string): boolean {
    return this.acks.get(remoteTag) !== undefined;
  }

  /** A 2xx of this INVITE after the first one (or any 2xx the TU does not take); the transaction calls it while Accepted. */
  on2xx(response: SipResponse): void {
    const tag = tagOf(response.to.params) ?? '';
    if (this.acks.has(tag)) {
      const a = this.acks.get(tag);
      if (a) this.host.stack.sendAck(a.ack, a.dest); // retransmission: the same ACK (§13.2.2.4)
      return;
    }
    this.ackAndBye(tag, response);
  }

  /** Another fork answered (or the 2xx came after we gave up): ACK it, then BYE (RFC 3261 §13.2.2.4, §15). */
  private ackAndBye(tag: string, response: SipResponse): void {
    if (!this.fork) {
      this.host.logger.debug({ callId: response.callId }, '2xx with an unknown To tag for a re-INVITE: dropped');
      return;
    }
    try {
      const dialog = Dialog.createUacFromParts(
        this.fork.invite,
        response,
        this.host.stack.localContact(this.fork.dest),
      );
      const spec = dialog.createAck(response.cseq.seq);
      const ack = toSipRequest(spec);
      const dest = uriDestination(spec.nextHop, this.transport);
      this.acks.set(tag, { ack, dest });
      this.host.stack.sendAck(ack, dest);
      void new InviteSession(this.host, dialog, this.transport).bye();
    } catch (err) {
      this.host.logger.debug({ err }, 'stray 2xx could not be acknowledged');
    }
  }
}
