/**
 * The INVITE usage of a dialog (RFC 3261 §12–§15, RFC 3311 UPDATE): re-INVITE both ways with
 * glare handling (RFC 3261 §14), 2xx retransmission until ACK (RFC 3261 §13.3.1.4), the TU's ACK
 * for 2xx (RFC 3261 §13.2.2.4), BYE (RFC 3261 §15), 481/500 answers for bad in-dialog requests.
 */
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { SipRequest, SipResponse, TransportAddress, TransportProtocol } from '../message/types.js';
import { type Dialog, DialogError } from './dialog.js';
import { toSipRequest } from './dialog-message-factory.js';
import type { DialogRequestOptions } from './dialog-request.js';
import type { DialogStackPort, UasContext } from './dialog-stack-port.js';
import { DialogState } from './dialog-state.js';
import { tagOf } from './dialog-id.js';
import { glareRetryDelay } from './glare-backoff.js';
import { Invite2xxAcker } from './invite-2xx-acker.js';
import { Invite2xxRetransmitter, type RetransmitTimers } from './invite-2xx-retransmitter.js';
import { uriDestination } from './uri-destination.js';

/** Why a session ended. */
export type SessionEndReason =
  'bye-received' | 'bye-sent' | 'ack-timeout' | 'request-failed' | 'cancelled' | 'rejected';

/** Result of a request we sent in the dialog. `status` 408 stands for a timeout, 503 for a transport error (RFC 3261 §8.1.3.1). */
export interface InDialogResult {
  status: number;
  response?: SipResponse;
}

/** Result of a re-INVITE. When we sent no offer, the 2xx carries one and `ack(answer)` must be called. */
export interface ReinviteResult extends InDialogResult {
  /** Present for a 2xx to an offer-less re-INVITE: sends the ACK with the answer (RFC 3264 §4, late offer). */
  ack?: (answer?: string | Buffer) => void;
}

/** What the TU hears about a session. Every handler is optional; defaults are safe answers. */
export interface InviteSessionDelegate {
  /** The ACK for our 2xx arrived; `ack.body` is the answer when our 2xx carried the offer. */
  onAck?(ack: SipRequest, session: InviteSession): void;
  /**
   * A re-INVITE from the peer (target refresh done). Answer with `session.acceptReinvite` or
   * `session.rejectReinvite`. Without a handler we answer 488.
   */
  onReinvite?(ctx: UasContext, session: InviteSession): void;
  /** An UPDATE from the peer (RFC 3311). Answer with `session.answerUpdate`. Without a handler: 200 with no body is wrong for an offer, so 488. */
  onUpdate?(ctx: UasContext, session: InviteSession): void;
  /** Any other in-dialog request (INFO, REFER, NOTIFY, MESSAGE, OPTIONS…). Return true if answered. */
  onRequest?(ctx: UasContext, session: InviteSession): boolean;
  /** The peer sent BYE (already answered 200). */
  onBye?(bye: SipRequest, session: InviteSession): void;
  /** The session ended, for any reason (called once). */
  onTerminated?(reason: SessionEndReason, session: InviteSession): void;
}

/** Shared services of every session (the `DialogUserAgent` passes itself). */
export interface SessionHost {
  readonly stack: DialogStackPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers: RetransmitTimers;
  /** Maximum re-INVITE attempts after 491 (RFC 3261 §14.1 gives no bound; we do). */
  readonly glareRetries: number;
  random(): number;
  register(session: InviteSession): void;
  unregister(session: InviteSession): void;
}

interface PendingAck {
  cseq: number;
  retransmitter: Invite2xxRetransmitter;
}

/** A dialog established by INVITE and the operations on it. */
export class InviteSession {
  delegate: InviteSessionDelegate = {};
  /** Opaque slot for the TU (e.g. the call leg owning this session). */
  owner: unknown;
  private ended = false;
  /** Our 2xx waiting for its ACK (initial INVITE or re-INVITE). */
  private pendingAck: PendingAck | undefined;
  /** An INVITE transaction we sent is in progress (RFC 3261 §14.1). */
  private outgoingInvite = false;
  /** A re-INVITE from the peer is not answered yet (RFC 3261 §14.2). */
  private incomingInvite: UasContext | undefined;
  /** An UPDATE we sent is in progress (RFC 3311 §5.1). */
  private outgoingUpdate = false;
  /** Serialises our re-INVITEs and UPDATEs (one offer at a time, RFC 3264 §4). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Sends the ACK of the 2xx to our offer-less re-INVITE while the TU has not answered yet. */
  private unackedReinvite: ((answer?: string | Buffer) => void) | undefined;
  /** ACKs for the 2xx of our re-INVITEs, by CSeq, to answer 2xx retransmissions (RFC 3261 §13.2.2.4). */
  private readonly sentAcks = new Map<number, Invite2xxAcker>();

  /**
   * @param transport the transport the dialog was created on: used for in-dialog requests when
   *   the remote target or route names none (RFC 3263 §4.1 would pick UDP; a peer that called
   *   us over TCP listens on TCP, RFC 3261 §18.1.1)
   */
  constructor(
    readonly host: SessionHost,
    readonly dialog: Dialog,
    readonly transport: TransportProtocol = 'udp',
  ) {}

  /** The dialog is still usable. */
  get active(): boolean {
    return !this.ended && this.dialog.state !== DialogState.Terminated;
  }

  /** True while an offer/answer exchange by INVITE is in progress in either direction. */
  get inviteInProgress(): boolean {
    return this.outgoingInvite || this.incomingInvite !== undefined || this.pendingAck !== undefined;
  }

  private destination(nextHop: string): TransportAddress {
    return uriDestination(nextHop, this.transport);
  }

  /** Send an in-dialog request and resolve with its final response (RFC 3261 §12.2.1.1). */
  request(method: string, opts: DialogRequestOptions = {}): Promise<InDialogResult> {
    let spec;
    try {
      spec = this.dialog.createRequest(method, opts);
    } catch (err) {
      return Promise.resolve({ status: err instanceof DialogError ? err.status || 481 : 500 });
    }
    const req = toSipRequest(spec);
    let dest: TransportAddress;
    try {
      dest = this.destination(spec.nextHop);
    } catch {
      return Promise.resolve({ status: 416 });
    }
    // A re-INVITE's 2xx retransmissions get the ACK the caller sends (`reinvite`) again, from a
    // small acker the transaction keeps while Accepted (RFC 6026 §7.2), not from this session.
    const acker = method === 'INVITE' ? new Invite2xxAcker(this.host, this.transport) : undefined;
    const sentAcks = this.sentAcks;
    return new Promise<InDialogResult>((resolve) => {
      let done = false;
      const finish = (r: InDialogResult) => {
        if (!done) {
          done = true;
          resolve(r);
        }
      };
      this.host.stack.sendRequest(req, dest, {
        onFinal: (response) => {
          if (acker && response.status >= 200 && response.status < 300) {
            if (done) {
              acker.on2xx(response);
              return;
            }
            acker.accept(tagOf(response.to.params) ?? '');
            sentAcks.set(response.cseq.seq, acker);
            while (sentAcks.size > 4) {
              const first = sentAcks.keys().next().value;
              if (first === undefined) break;
              sentAcks.delete(first);
            }
          }
          finish({ status: response.status, response });
        },
        handOver2xx: () => acker,
        onTimeout: () => finish({ status: 408 }),
        onTransportError: () => finish({ status: 503 }),
      });
    });
  }

  /** After a failed in-dialog request: 481 and 408 end the dialog (RFC 3261 §12.2.1.2). */
  private afterResult(r: InDialogResult): void {
    if (r.status === 481 || r.status === 408) {
      this.host.logger.debug(
        { callId: this.dialog.id.callId, status: r.status },
        'in-dialog request failed: dialog ends',
      );
      if (r.status === 408) void this.bye();
      else this.terminate('request-failed');
    }
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Send a re-INVITE (RFC 3261 §14.1) with an offer, or without one (late offer: the 2xx carries
   * the peer's offer and the caller sends the answer with `result.ack`). 491 is retried after
   * the §14.1 back-off, up to `glareRetries` times; 481/408 end the dialog (§12.2.1.2).
   */
  reinvite(offer?: string | Buffer, headers?: Array<[string, string]>): Promise<ReinviteResult> {
    return this.enqueue(async () => {
      for (let attempt = 0; ; attempt++) {
        if (!this.active) return { status: 481 };
        await this.waitIncomingInviteDone();
        this.outgoingInvite = true;
        const r = await this.request('INVITE', {
          body: offer,
          headers: (headers ?? []).map(([name, value]) => ({ name, value })),
        });
        if (r.status >= 200 && r.status < 300 && r.response) {
          this.dialog.refreshTarget(r.response, 'INVITE');
          const seq = r.response.cseq.seq;
          const tag = tagOf(r.response.to.params) ?? '';
          let acked = false;
          const sendAck = (answer?: string | Buffer) => {
            if (acked) return;
            acked = true;
            if (this.unackedReinvite === sendAck) this.unackedReinvite = undefined;
            const spec = this.dialog.createAck(seq, answer);
            const ack = toSipRequest(spec);
            const dest = this.destination(spec.nextHop);
            this.sentAcks.get(seq)?.sent(tag, ack, dest);
            this.host.stack.sendAck(ack, dest);
            this.outgoingInvite = false;
          };
          if (offer !== undefined && offer.length > 0) {
            sendAck();
            return r;
          }
          this.unackedReinvite = sendAck;
          return { ...r, ack: sendAck };
        }
        this.outgoingInvite = false;
        if (r.status === 491 && attempt < this.host.glareRetries) {
          const delay = glareRetryDelay(this.dialog.ownsCallId, () => this.host.random());
          this.host.logger.debug({ callId: this.dialog.id.callId, delay }, 're-INVITE glare (491): retrying');
          await new Promise<void>((res) => this.host.clock.setTimeout(res, delay));
          continue;
        }
        this.afterResult(r);
        return r;
      }
    });
  }

  private waitIncomingInviteDone(): Promise<void> {
    if (!this.incomingInvite && !this.pendingAck) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = (n: number) => {
        if ((!this.incomingInvite && !this.pendingAck) || !this.active || n > 400) resolve();
        else this.host.clock.setTimeout(() => check(n + 1), 100);
      };
      check(0);
    });
  }

  /** Send an UPDATE with an offer (RFC 3311 §5.1); 491 is returned to the caller (no retry). */
  update(offer: string | Buffer): Promise<InDialogResult> {
    return this.enqueue(async () => {
      this.outgoingUpdate = true;
      const r = await this.request('UPDATE', { body: offer });
      this.outgoingUpdate = false;
      if (r.response && r.status < 300) this.dialog.refreshTarget(r.response, 'UPDATE');
      this.afterResult(r);
      return r;
    });
  }

  /** End the session with BYE (RFC 3261 §15.1.1). Resolves when the BYE is answered (or failed). */
  async bye(headers?: Array<[string, string]>): Promise<InDialogResult> {
    if (!this.active) return { status: 481 };
    // A 2xx to our offer-less re-INVITE still waits for the TU's answer: ACK it first, without
    // one (the session ends anyway), so the BYE never overtakes the ACK (RFC 3261 §13.2.2.4).
    this.unackedReinvite?.();
    const p = this.request('BYE', { headers: (headers ?? []).map(([name, value]) => ({ name, value })) });
    this.terminate('bye-sent');
    return p;
  }

  /**
   * Send our 2xx to an INVITE (initial or re-INVITE) and retransmit it until the ACK
   * (RFC 3261 §13.3.1.4); no ACK within 64·T1 → BYE.
   */
  sendInvite2xx(ctx: UasContext, body?: string | Buffer, headers: Array<[string, string]> = []): SipResponse {
    const hs: Array<[string, string]> = [['Contact', this.dialog.localContact], ...headers];
    if (body !== undefined && body.length > 0) hs.push(['Content-Type', 'application/sdp']);
    const res = ctx.createResponse(200, 'OK', hs, body);
    ctx.send(res);
    this.pendingAck?.retransmitter.stop();
    const reliable = ctx.source.transport !== 'udp';
    const cseq = ctx.request.cseq.seq;
    const retransmitter = new Invite2xxRetransmitter(
      this.host.clock,
      this.host.timers,
      reliable,
      () => ctx.send(res),
      () => {
        this.host.logger.info({ callId: this.dialog.id.callId }, 'no ACK for 2xx within 64*T1: sending BYE');
        this.pendingAck = undefined;
        this.dialog.state = DialogState.Confirmed;
        void this.bye().then(() => this.terminate('ack-timeout'));
      },
    );
    this.pendingAck = { cseq, retransmitter };
    return res;
  }

  /** Answer a re-INVITE from the peer with 2xx and our answer/offer (RFC 3261 §14.2). */
  acceptReinvite(ctx: UasContext, body?: string | Buffer): void {
    if (this.incomingInvite === ctx) this.incomingInvite = undefined;
    if (!this.active) {
      ctx.reply(481);
      return;
    }
    this.sendInvite2xx(ctx, body);
  }

  /** Refuse a re-INVITE; the session stays as it was (RFC 3261 §14.2). */
  rejectReinvite(ctx: UasContext, status: number, reason?: string, headers?: Array<[string, string]>): void {
    if (this.incomingInvite === ctx) this.incomingInvite = undefined;
    if (!ctx.finalSent) ctx.reply(status, reason, headers);
  }

  /** Answer an UPDATE (RFC 3311 §5.2): 2xx carries Contact and the answer. */
  answerUpdate(ctx: UasContext, status: number, body?: string | Buffer, reason?: string): void {
    const hs: Array<[string, string]> = [];
    if (status >= 200 && status < 300) {
      hs.push(['Contact', this.dialog.localContact]);
      if (body !== undefined && body.length > 0) hs.push(['Content-Type', 'application/sdp']);
    }
    if (!ctx.finalSent) ctx.reply(status, reason, hs, status < 300 ? body : undefined);
  }

  /** An ACK for a 2xx of ours (RFC 3261 §13.3.1.4). Duplicates and strays are ignored. */
  receiveAck(ack: SipRequest): void {
    const p = this.pendingAck;
    if (!p || ack.cseq.seq !== p.cseq) return;
    p.retransmitter.stop();
    this.pendingAck = undefined;
    if (this.dialog.state === DialogState.Early) this.dialog.state = DialogState.Confirmed;
    this.delegate.onAck?.(ack, this);
  }

  /** A request matched to this dialog (RFC 3261 §12.2.2). */
  receiveRequest(ctx: UasContext): void {
    const req = ctx.request;
    if (!this.active) {
      ctx.reply(481, 'Call/Transaction Does Not Exist');
      return;
    }
    try {
      this.dialog.acceptRemoteRequest(req);
    } catch (err) {
      const status = err instanceof DialogError && err.status ? err.status : 500;
      ctx.reply(status, status === 500 ? 'CSeq Out of Order' : undefined);
      return;
    }
    switch (req.method) {
      case 'BYE':
        ctx.reply(200);
        this.delegate.onBye?.(req, this);
        this.terminate('bye-received');
        return;
      case 'INVITE':
        this.receiveReinvite(ctx);
        return;
      case 'UPDATE':
        if (this.outgoingUpdate || this.outgoingInvite) {
          ctx.reply(491, 'Request Pending'); // RFC 3311 §5.2
          return;
        }
        this.dialog.refreshTarget(req, 'UPDATE');
        if (this.delegate.onUpdate) this.delegate.onUpdate(ctx, this);
        else ctx.reply(488, 'Not Acceptable Here');
        return;
      default:
        if (this.delegate.onRequest?.(ctx, this)) return;
        if (req.method === 'INFO' || req.method === 'OPTIONS') ctx.reply(200);
        else ctx.reply(501, 'Not Implemented');
    }
  }

  private receiveReinvite(ctx: UasContext): void {
    if (this.outgoingInvite) {
      ctx.reply(491, 'Request Pending'); // RFC 3261 §14.2
      return;
    }
    if (this.incomingInvite || this.pendingAck) {
      // RFC 3261 §14.2: a second re-INVITE before the first completed → 500 with Retry-After 0–10 s.
      ctx.reply(500, 'Server Internal Error', [['Retry-After', String(Math.floor(this.host.random() * 11))]]);
      return;
    }
    this.dialog.refreshTarget(ctx.request, 'INVITE');
    this.incomingInvite = ctx;
    if (this.delegate.onReinvite) this.delegate.onReinvite(ctx, this);
    else this.rejectReinvite(ctx, 488, 'Not Acceptable Here');
  }

  /** End the session locally (no BYE) and tell the delegate once. */
  terminate(reason: SessionEndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.dialog.terminate();
    this.pendingAck?.retransmitter.stop();
    this.pendingAck = undefined;
    if (this.incomingInvite && !this.incomingInvite.finalSent) this.incomingInvite.reply(487, 'Request Terminated');
    this.incomingInvite = undefined;
    this.host.unregister(this);
    this.delegate.onTerminated?.(reason, this);
  }
}
