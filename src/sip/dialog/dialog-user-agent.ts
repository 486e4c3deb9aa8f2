/**
 * The dialog layer's entry point: keeps the sessions, dispatches in-dialog requests and 2xx ACKs
 * to them (RFC 3261 §12.2.2), answers 481 for requests in unknown dialogs, and creates client
 * and server INVITE sessions.
 */
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { SipRequest, TransportAddress } from '../message/types.js';
import { tagOf } from './dialog-id.js';
import type { DialogStackPort, UasContext } from './dialog-stack-port.js';
import { DialogStore } from './dialog-store.js';
import { InviteClientSession, type InviteClientDelegate } from './invite-client-session.js';
import { InviteServerSession } from './invite-server-session.js';
import type { InviteSession, SessionHost } from './invite-session.js';
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
      ctx.reply(481, 'Call/Transaction Does Not Exist');
      return true;
    }
    session.receiveRequest(ctx);
    return true;
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
