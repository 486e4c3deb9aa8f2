/**
 * The dialog layer's entry point: keeps the sessions, dispatches in-dialog requests and 2xx ACKs
 * to them (RFC 3261 §12.2.2), answers 481 for requests in unknown dialogs, and creates client
 * and server INVITE sessions.
 */
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { SipRequest, TransportAddress, TransportProtocol } from '../message/types.js';
import { Dialog, type DialogInit } from './dialog.js';
import { tagOf } from './dialog-id.js';
import type { DialogStackPort, UasContext } from './dialog-stack-port.js';
import { DialogStore } from './dialog-store.js';
import { InviteClientSession, type InviteClientDelegate } from './invite-client-session.js';
import { InviteServerSession } from './invite-server-session.js';
import { InviteSession, type InDialogResult, type SessionHost } from './invite-session.js';
import type { RetransmitTimers } from './invite-2xx-retransmitter.js';

/** Construction options of {@link DialogUserAgent}. */
export interface DialogUserAgentOptions {
  stack: DialogStackPort;
  clock: Clock;
  logger: Logger;
  timers?: Partial<RetransmitTimers>;
  /** Re-INVITE attempts after 491 (default 3). */
  glareRetries?: number;
  random?: () => number;
}

/** Owns the dialogs of the process. */
export class DialogUserAgent implements SessionHost {
  readonly stack: DialogStackPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers: RetransmitTimers;
  readonly glareRetries: number;
  private readonly rnd: () => number;
  private readonly store = new DialogStore<InviteSession>();
  private unknownDialog: ((ctx: UasContext) => boolean) | undefined;

  constructor(opts: DialogUserAgentOptions) {
    this.stack = opts.stack;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.timers = { t1: opts.timers?.t1 ?? 500, t2: opts.timers?.t2 ?? 4000 };
    this.glareRetries = opts.glareRetries ?? 3;
    this.rnd = opts.random ?? Math.random;
  }

  random(): number {
    return this.rnd();
  }

  /** Number of live dialogs. */
  get size(): number {
    return this.store.size;
  }

  register(session: InviteSession): void {
    this.store.add(session.dialog.key, session);
  }

  unregister(session: InviteSession): void {
    if (this.store.get(session.dialog.key) === session) this.store.delete(session.dialog.key);
  }

  /** Sessions currently known. */
  sessions(): InviteSession[] {
    return [...this.store.values()];
  }

  /**
   * A request with a To tag is in-dialog (RFC 3261 §12.2): pass it to its session, or answer
   * 481 when no dialog matches (§12.2.2). Returns false for out-of-dialog requests (no To tag),
   * which the caller handles.
   */
  handleRequest(ctx: UasContext): boolean {
    const req = ctx.request;
    if (tagOf(req.to.params) === undefined) return false;
    const session = this.store.matchRequest(req);
    if (!session) {
      if (this.unknownDialog?.(ctx)) return true;
      ctx.reply(481, 'Call/Transaction Does Not Exist');
      return true;
    }
    session.receiveRequest(ctx);
    return true;
  }

  /**
   * A handler asked first for each in-dialog request (not ACK) that matches no dialog here: when it
   * returns true it answers the request itself (a dialog this process does not hold may be known
   * elsewhere, e.g. to another node of a cluster); otherwise the request gets 481 (RFC 3261 §12.2.2).
   */
  useUnknownDialogHandler(handler: ((ctx: UasContext) => boolean) | undefined): void {
    this.unknownDialog = handler;
  }

  /**
   * Ends a confirmed dialog this process does not hold, from its {@link Dialog.snapshot}: sends
   * BYE (RFC 3261 §15.1.1) with a CSeq above the snapshot's (`cseqGap` more, for requests sent
   * after the snapshot was taken; RFC 3261 §12.2.2 only asks the peer for a higher number).
   * Resolves with the BYE's final status (408 without answer).
   */
  endDetached(init: DialogInit, transport: TransportProtocol, cseqGap = 0): Promise<InDialogResult> {
    return this.detached(init, transport, cseqGap).bye();
  }

  /**
   * Sends `method` (OPTIONS: is the dialog still there, RFC 3261 §11) in a confirmed dialog this
   * process does not hold, from its snapshot, CSeq `cseqGap` above the snapshot's; resolves with
   * the final status (408 without answer, 481 when the peer no longer has the dialog).
   */
  requestDetached(
    init: DialogInit,
    transport: TransportProtocol,
    method: string,
    cseqGap = 0,
  ): Promise<InDialogResult> {
    return this.detached(init, transport, cseqGap).request(method);
  }

  private detached(init: DialogInit, transport: TransportProtocol, cseqGap: number): InviteSession {
    const dialog = new Dialog({ ...init, localSeq: init.localSeq === undefined ? undefined : init.localSeq + cseqGap });
    return new InviteSession(this, dialog, transport);
  }

  /** An ACK outside any transaction: the ACK for one of our 2xx (RFC 3261 §13.3.1.4). Unknown ones are dropped. */
  handleAck(ack: SipRequest): boolean {
    const session = this.store.matchRequest(ack);
    if (!session) return false;
    session.receiveAck(ack);
    return true;
  }

  /** Start an outgoing INVITE (call `send()` on the result). */
  createInvite(request: SipRequest, dest: TransportAddress, delegate: InviteClientDelegate): InviteClientSession {
    return new InviteClientSession(this, request, dest, delegate);
  }

  /** Take charge of a received initial INVITE (RFC 3261 §13.3). @throws DialogError(400) without Contact. */
  acceptInvite(ctx: UasContext): InviteServerSession {
    return new InviteServerSession(this, ctx);
  }
}
