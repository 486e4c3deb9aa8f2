/**
 * The back-to-back user agent (RFC 3261 §6 "B2BUA", RFC 7092): every call is two (or more)
 * SIP legs, each with its own dialog; SDP offers and answers pass between legs unchanged
 * (RFC 3264), including late offers; CANCEL, BYE, re-INVITE and UPDATE are relayed; 18x early
 * media is relayed. Inbound INVITEs are classified (routing point → router; agent DN → direct
 * call; other numbers → softswitch by prefix; nobody → 404/480) and every step is published as
 * a T-Library call event (behaviour §8.3, §11.2).
 */
import { isAgentDnType } from '../../config/config-model.js';
import { optionBoolean } from '../../config/option-table.js';
import { directionOf, isSdp } from '../../media/sdp.js';
import type { Deliverable } from '../../reachability/reachability-types.js';
import { DialogError } from '../../sip/dialog/dialog.js';
import type { UasContext } from '../../sip/dialog/dialog-stack-port.js';
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { InviteServerSession } from '../../sip/dialog/invite-server-session.js';
import type { InviteSession, SessionEndReason } from '../../sip/dialog/invite-session.js';
import type { SipResponse } from '../../sip/message/types.js';
import type { IncomingRequest } from '../../sip/stack/incoming-request.js';
import type { SipStack } from '../../sip/stack/sip-stack.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { CallEventName, CallType, ContactCenterEventBus, EventOrigin } from '../events.js';
import { inviteTimeoutMs } from '../routing/routing-options.js';
import { Call, CallState } from './call.js';
import { CallLeg, LegState } from './call-leg.js';
import type { CallAgentPolicy, CallDirectory, CallReachability, CallRouter } from './call-ports.js';
import { noCallJournal, type CallJournal } from './call-journal.js';
import { ConnIdGenerator } from './conn-id-generator.js';
import { OutboundAttempt, type AttemptFailure } from './outbound-attempt.js';

/** Option: `refer-enabled` (behaviour §9). */
export const OPTION_REFER_ENABLED = 'refer-enabled';

/** Construction options of {@link B2bua}. */
export interface B2buaOptions {
  ua: DialogUserAgent;
  reachability: CallReachability;
  directory: CallDirectory;
  bus: ContactCenterEventBus;
  clock: Clock;
  logger: Logger;
  /** The routing-point router; without it calls to routing points are answered 480. */
  router?: CallRouter;
  /** Agent policy (`reject-call-notready`); without it nothing is rejected. */
  policy?: CallAgentPolicy;
  connIds?: ConnIdGenerator;
  /** Records active calls so a restart can report the lost ones (default: none). */
  journal?: CallJournal;
}

/** Result of dialing one party. */
export type DialResult = { kind: 'answered'; leg: CallLeg } | { kind: 'failed'; failure: AttemptFailure } | { kind: 'cancelled' };

/** Options of {@link B2bua.dial}. */
export interface DialOptions {
  /** DN of the party (events are reported on it) or undefined for an external number. */
  dn: string | undefined;
  /** Number as the other parties see it. */
  address: string;
  targets: Deliverable[];
  /** The SDP offer to send (undefined: late offer). */
  offer?: string;
  ringTimeoutMs?: number;
  /** The new leg received a routed call (agent Busy tracking). */
  routed?: boolean;
  /** Calling number shown to the party. */
  fromUser: string;
  /** Events for this party carry this origin (the CTI requester). */
  origin?: EventOrigin;
  /** No EventRinging/EventNetworkReached for this party (3pcc origin leg, behaviour §8.3). */
  silent?: boolean;
  /** Called on each 18x. */
  onProgress?: (leg: CallLeg, response: SipResponse) => void;
  /** Called on the 2xx, before the default bridging logic; the caller handles SDP/ACK. */
  onAnswered: (leg: CallLeg, session: InviteSession, response: SipResponse, ackAnswer?: (answer: string | Buffer) => void) => void;
}

/** Maps a failed attempt to the status we answer the caller with. */
export function failureStatus(f: AttemptFailure): { status: number; reason: string } {
  switch (f.kind) {
    case 'rejected':
      return { status: f.status, reason: f.reason };
    case 'timeout':
      return { status: 408, reason: 'Request Timeout' };
    case 'transport-error':
      return { status: 503, reason: 'Service Unavailable' };
    case 'no-answer':
      return { status: 480, reason: 'No Answer' };
    case 'unreachable':
      return { status: 480, reason: 'Temporarily Unavailable' };
  }
}

function userOf(uri: { user?: string } | undefined): string | undefined {
  if (!uri?.user) return undefined;
  try {
    return decodeURIComponent(uri.user);
  } catch {
    return uri.user;
  }
}

/** The call controller. */
export class B2bua {
  readonly ua: DialogUserAgent;
  readonly reachability: CallReachability;
  readonly directory: CallDirectory;
  readonly bus: ContactCenterEventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  router: CallRouter | undefined;
  policy: CallAgentPolicy | undefined;
  private readonly connIds: ConnIdGenerator;
  private readonly calls = new Map<string, Call>();
  /** Active-call journal (restart reporting). */
  readonly journal: CallJournal;
  /** Calls ended so far (diagnostics). */
  completed = 0;
  /**
   * Called when a party hangs up, before the rest of the call is released; return true to keep
   * the other legs (consultation calls whose agent leg is borrowed, behaviour §6).
   */
  onPartyLeft: ((call: Call, leg: CallLeg) => boolean) | undefined;

  constructor(opts: B2buaOptions) {
    this.ua = opts.ua;
    this.reachability = opts.reachability;
    this.directory = opts.directory;
    this.bus = opts.bus;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.router = opts.router;
    this.policy = opts.policy;
    this.connIds = opts.connIds ?? new ConnIdGenerator();
    this.journal = opts.journal ?? noCallJournal;
  }

  /**
   * Wire into the SIP stack: INVITE (new and re-INVITE), in-dialog requests (481 when no dialog
   * matches, RFC 3261 §12.2.2) and 2xx ACKs. Returns a function that unwires.
   */
  attach(stack: SipStack): () => void {
    const offs: Array<() => void> = [];
    offs.push(
      stack.handle('INVITE', (ctx) => {
        if (this.ua.handleRequest(ctx)) return true;
        this.onInvite(ctx);
        return true;
      }),
    );
    for (const m of ['BYE', 'UPDATE', 'INFO', 'REFER', 'NOTIFY', 'MESSAGE', 'PRACK']) {
      offs.push(
        stack.handle(m, (ctx) => {
          if (this.ua.handleRequest(ctx)) return true;
          if (m === 'BYE') {
            ctx.reply(481, 'Call/Transaction Does Not Exist'); // RFC 3261 §15.1.2
            return true;
          }
          return false;
        }),
      );
    }
    offs.push(
      stack.handle('OPTIONS', (ctx) => this.ua.handleRequest(ctx)),
    );
    const previous = stack.delegate.onAck;
    stack.delegate.onAck = (ack, source) => {
      if (!this.ua.handleAck(ack)) previous?.(ack, source);
    };
    return () => {
      for (const off of offs) off();
      stack.delegate.onAck = previous;
    };
  }

  /** Live calls. */
  get activeCalls(): number {
    return this.calls.size;
  }

  /** Same as {@link activeCalls} (the name `/api/status` wiring uses). */
  get activeCallCount(): number {
    return this.calls.size;
  }

  /** A call by ConnID. */
  getCall(connId: string): Call | undefined {
    return this.calls.get(connId);
  }

  /** Every live call. */
  allCalls(): Call[] {
    return [...this.calls.values()];
  }

  /** Create and register a call. */
  newCall(callType: CallType, ani: string | undefined, dnis: string | undefined): Call {
    const call = new Call(this.connIds.next(), callType, ani, dnis, this.clock.now());
    this.calls.set(call.connId, call);
    this.journal.opened(call);
    return call;
  }

  // ---------------------------------------------------------------- events

  /** Publish a call event on `leg`'s DN (external parties get none). */
  emit(name: CallEventName, call: Call, leg: CallLeg, otherDN?: string, origin?: EventOrigin, extra?: { transferConnId?: string }): void {
    this.journal.changed(call); // parties may have changed (answer, transfer, conference)
    if (!leg.dn) return;
    const other = otherDN ?? call.other(leg)?.address ?? call.legs.find((l) => l !== leg)?.address;
    this.bus.publish({
      kind: 'call',
      name,
      thisDN: leg.dn,
      connId: call.connId,
      otherDN: other,
      callType: call.callType,
      ani: call.ani,
      dnis: call.dnis,
      userData: call.userDataView,
      routed: leg.routed || undefined,
      origin,
      transferConnId: extra?.transferConnId,
    });
  }

  // ---------------------------------------------------------------- inbound INVITE

  /** An initial INVITE (no To tag). Answers it, now or later. */
  onInvite(ctx: IncomingRequest): void {
    let server: InviteServerSession;
    try {
      server = this.ua.acceptInvite(ctx);
    } catch (err) {
      ctx.reply(err instanceof DialogError && err.status ? err.status : 400, 'Missing Contact');
      return;
    }
    const req = ctx.request;
    let number: string | undefined;
    let fromUser: string | undefined;
    try {
      number = userOf(req.requestUri);
      fromUser = userOf(req.from.uri);
    } catch {
      server.reject(400, 'Bad Request-URI');
      return;
    }
    if (!number) {
      server.reject(404, 'Not Found (no user part)');
      return;
    }
    // A B2BUA starts new requests but must not let a routing loop through itself run forever:
    // carry the caller's Max-Forwards minus one to the other leg (RFC 3261 §16.6 step 3, RFC 7332 §3).
    const mfRaw = req.getHeader('Max-Forwards');
    const mf = mfRaw !== undefined && /^\d+$/.test(mfRaw.trim()) ? Number(mfRaw.trim()) : 70;
    if (mf <= 0) {
      server.reject(483, 'Too Many Hops');
      return;
    }
    number = this.directory.normaliseNumber(number);
    const ani = fromUser ? this.directory.normaliseNumber(fromUser) : 'anonymous';
    const identity = this.reachability.identifyInbound?.(ctx.source, fromUser);
    let originDn = identity?.dn;
    if (!originDn && !identity) {
      const d = this.directory.getDn(ani);
      if (d && isAgentDnType(d.type)) originDn = d.number;
    }
    const dest = this.directory.getDn(number);
    const destIsAgentDn = dest !== undefined && isAgentDnType(dest.type);
    const callType: CallType = originDn ? (destIsAgentDn ? 'Internal' : dest?.type === 'routing-point' ? 'Internal' : 'Outbound') : 'Inbound';
    const call = this.newCall(callType, originDn ?? ani, number);
    call.maxForwards = Math.min(mf - 1, 70);
    const a = call.add(new CallLeg(originDn, originDn ?? ani, 'in'));
    a.server = server;
    a.lastSdpReceived = req.body.length > 0 ? req.body.toString('utf8') : undefined;
    a.session = server.session;
    this.watchSession(call, a, server.session);
    server.onCancel(() => this.onCallerCancel(call, a));
    this.logger.debug({ connId: call.connId, number, ani, originDn, destType: dest?.type }, 'inbound INVITE');

    if (originDn) this.emit('EventDialing', call, a, number);
    if (dest?.type === 'routing-point') {
      void this.routeCall(call, a, server, dest.number);
      return;
    }
    if (dest && !destIsAgentDn) {
      this.rejectCaller(call, a, 404, 'Not Found');
      return;
    }
    if (destIsAgentDn && dest) {
      if (originDn !== dest.number && this.policy?.rejectsCall(dest.number)) {
        this.rejectCaller(call, a, 480, 'Temporarily Unavailable (agent not ready)');
        return;
      }
      if (originDn !== dest.number && this.singleDialogBusy(dest.number)) {
        this.rejectCaller(call, a, 486, 'Busy Here');
        return;
      }
      const res = this.reachability.resolve(dest.number);
      const targets = this.reachability.candidates(dest.number);
      if (res.mode === 'unreachable' || targets.length === 0) {
        this.rejectCaller(call, a, 480, `Temporarily Unavailable (${res.mode === 'unreachable' ? res.reason : 'out of service'})`);
        return;
      }
      void this.connectInbound(call, a, server, dest.number, number, targets, inviteTimeoutMs(this.directoryAsRouting(), dest.number), false);
      return;
    }
    // Not a DN: an external number through a softswitch (behaviour §3.3).
    const targets = this.reachability.candidates(number);
    if (targets.length === 0) {
      const res = this.reachability.resolveExternal(number);
      if (res.mode === 'unreachable') this.rejectCaller(call, a, 404, 'Not Found');
      else this.rejectCaller(call, a, 480, 'Temporarily Unavailable (softswitch out of service)');
      return;
    }
    void this.connectInbound(call, a, server, undefined, number, targets, 0, false);
  }

  /** `inviteTimeoutMs` wants the directory interface of routing; ours is a compatible subset. */
  private directoryAsRouting(): Parameters<typeof inviteTimeoutMs>[0] {
    const d = this.directory;
    return {
      effectiveOption: (dn: string, name: string) => d.effectiveOption(dn, name),
      getDn: (n: string) => d.getDn(n),
      normaliseNumber: (n: string) => d.normaliseNumber(n),
      getAgent: () => undefined,
      getAgentGroup: () => undefined,
    };
  }

  private async routeCall(call: Call, a: CallLeg, server: InviteServerSession, routingPoint: string): Promise<void> {
    call.routed = true;
    call.routingPoint = routingPoint;
    if (!this.router) {
      this.rejectCaller(call, a, 480, 'Temporarily Unavailable (no router)');
      return;
    }
    server.progress(180);
    a.state = LegState.Alerting;
    const outcome = await this.router.route({ callId: call.connId, routingPoint, ani: call.ani, dnis: call.dnis });
    if (call.state === CallState.Released) return;
    switch (outcome.kind) {
      case 'delivered':
      case 'abandoned':
        return;
      case 'rejected':
        this.rejectCaller(call, a, outcome.status, 'Temporarily Unavailable (no agent)');
        return;
      case 'default-dn': {
        const targets = this.reachability.candidates(outcome.dn);
        const dn = this.directory.getDn(outcome.dn);
        if (targets.length === 0) {
          this.rejectCaller(call, a, 480, 'Temporarily Unavailable');
          return;
        }
        const isDn = dn !== undefined && isAgentDnType(dn.type);
        await this.connectInbound(call, a, server, isDn ? dn.number : undefined, outcome.dn, targets, isDn ? inviteTimeoutMs(this.directoryAsRouting(), dn.number) : 0, false);
        return;
      }
    }
  }

  /**
   * Ring one destination for an inbound call and bridge it with the caller when it answers.
   * With `keepCallerOnFailure` (routed deliveries) a failure leaves the caller waiting.
   * @returns the dial result
   */
  async connectInbound(
    call: Call,
    a: CallLeg,
    server: InviteServerSession,
    dn: string | undefined,
    address: string,
    targets: Deliverable[],
    ringTimeoutMs: number,
    keepCallerOnFailure: boolean,
    routed = false,
  ): Promise<DialResult> {
    const offer = a.lastSdpReceived;
    const result = await this.dial(call, {
      dn,
      address,
      targets,
      offer,
      ringTimeoutMs,
      routed,
      fromUser: call.ani ?? 'anonymous',
      onProgress: (leg, r) => {
        if (r.status >= 180 && r.status < 190 && a.server && !a.released) {
          const body = r.body.length > 0 && isSdp(r.body) ? a.adapt(r.body) : undefined;
          server.progress(r.status, body, r.reason);
          a.state = LegState.Alerting;
        }
        void leg;
      },
      onAnswered: (leg, session, r, ackAnswer) => {
        if (a.released || !a.server) {
          ackAnswer?.(Buffer.alloc(0));
          void session.bye();
          return;
        }
        leg.lastSdpReceived = r.body.length > 0 ? r.body.toString('utf8') : undefined;
        // Offer in the caller's INVITE: the 2xx has the answer. Late offer: the 2xx has the offer
        // and the caller's ACK will carry the answer (RFC 3264 §4).
        if (!offer && ackAnswer) {
          a.onNextAck = (ack) => {
            a.lastSdpReceived = ack.body.length > 0 ? ack.body.toString('utf8') : a.lastSdpReceived;
            ackAnswer(leg.adapt(ack.body) ?? Buffer.alloc(0));
          };
        }
        a.session = server.accept(a.adapt(r.body));
        a.server = undefined;
        a.state = LegState.Established;
        this.established(call, a, leg);
      },
    });
    if (result.kind === 'failed' && !keepCallerOnFailure && !a.released && a.server) {
      const { status, reason } = failureStatus(result.failure);
      if (result.failure.kind === 'rejected' && (status === 486 || status === 600)) this.emit('EventDestinationBusy', call, a, address);
      this.rejectCaller(call, a, status, reason);
    }
    return result;
  }

  /**
   * Dial one party for `call`: INVITE through the targets with failover, events EventRinging /
   * EventNetworkReached on 18x. Resolves with the outcome; on `answered` the leg is established
   * and `opts.onAnswered` has run.
   */
  dial(call: Call, opts: DialOptions): Promise<DialResult> {
    const leg = call.add(new CallLeg(opts.dn, opts.address, 'out'));
    leg.routed = opts.routed ?? false;
    if (opts.offer) leg.adapt(opts.offer);
    return new Promise<DialResult>((resolve) => {
      let ringingSent = false;
      const attempt = new OutboundAttempt(
        this.ua,
        this.reachability,
        { targets: opts.targets, fromUser: opts.fromUser, offer: opts.offer, ringTimeoutMs: opts.ringTimeoutMs, maxForwards: call.maxForwards },
        {
          onProgress: (r) => {
            if (leg.released) return;
            if (r.status >= 180 && r.status < 190) {
              leg.state = LegState.Alerting;
              if (!ringingSent && !opts.silent) {
                ringingSent = true;
                this.ringingEvents(call, leg, opts.origin);
              }
            }
            opts.onProgress?.(leg, r);
          },
          onAnswered: (session, r, ackAnswer) => {
            leg.attempt = undefined;
            if (leg.released || call.state === CallState.Released) {
              ackAnswer?.(Buffer.alloc(0));
              void session.bye();
              resolve({ kind: 'cancelled' });
              return;
            }
            leg.session = session;
            leg.state = LegState.Established;
            this.watchSession(call, leg, session);
            if (!ringingSent && !opts.silent) {
              ringingSent = true;
              this.ringingEvents(call, leg, opts.origin);
            }
            opts.onAnswered(leg, session, r, ackAnswer);
            resolve({ kind: 'answered', leg });
          },
          onFailed: (failure) => {
            leg.attempt = undefined;
            leg.state = LegState.Released;
            call.remove(leg);
            if (ringingSent && leg.dn) this.emit('EventReleased', call, leg, undefined, opts.origin);
            resolve({ kind: 'failed', failure });
          },
        },
      );
      leg.attempt = attempt;
      (leg as CallLeg & { cancelDial?: () => void }).cancelDial = () => {
        attempt.cancel();
        if (leg.state !== LegState.Established) {
          leg.attempt = undefined;
          const wasRinging = ringingSent;
          leg.state = LegState.Released;
          call.remove(leg);
          if (wasRinging && leg.dn) this.emit(call.state === CallState.Released ? 'EventAbandoned' : 'EventReleased', call, leg, undefined, opts.origin);
          resolve({ kind: 'cancelled' });
        }
      };
      attempt.start();
    });
  }

  /** Stop ringing a leg (CANCEL). */
  cancelDial(leg: CallLeg): void {
    (leg as CallLeg & { cancelDial?: () => void }).cancelDial?.();
  }

  private ringingEvents(call: Call, leg: CallLeg, origin?: EventOrigin): void {
    if (leg.dn) this.emit('EventRinging', call, leg, undefined, origin);
    // The calling DN hears that the network (an external party) was reached.
    if (!leg.dn) {
      for (const other of call.others(leg)) if (other.dn) this.emit('EventNetworkReached', call, other, leg.address, origin);
    }
  }

  /** Both legs are up: relay between them and report EventEstablished. */
  established(call: Call, a: CallLeg, b: CallLeg, origin?: EventOrigin): void {
    call.state = CallState.Established;
    this.emit('EventEstablished', call, b, a.address, origin);
    this.emit('EventEstablished', call, a, b.address, origin);
  }

  /**
   * Move an established leg to another call (consultation in single-dialog mode, behaviour §6):
   * its dialog stays, its requests now relate to `to`.
   */
  moveLeg(leg: CallLeg, from: Call, to: Call): void {
    from.remove(leg);
    to.add(leg);
    if (leg.session) this.watchSession(to, leg, leg.session);
  }

  /** Forget a call that has no live leg left (after its legs moved away). */
  dropIfEmpty(call: Call): void {
    if (call.liveLegs.length === 0) {
      call.state = CallState.Released;
      this.finishCall(call);
    }
  }

  // ---------------------------------------------------------------- relays

  /** Hook a leg's session to the call: BYE, re-INVITE, UPDATE, INFO, REFER relays. */
  watchSession(call: Call, leg: CallLeg, session: InviteSession): void {
    session.owner = leg;
    session.delegate = {
      onAck: (ack) => {
        const h = leg.onNextAck;
        leg.onNextAck = undefined;
        h?.(ack);
      },
      onBye: () => {
        this.logger.debug({ connId: call.connId, dn: leg.dn }, 'BYE received');
      },
      onTerminated: (reason: SessionEndReason) => this.onLegEnded(call, leg, reason),
      onReinvite: (ctx, s) => void this.relayReinvite(call, leg, s, ctx),
      onUpdate: (ctx, s) => void this.relayUpdate(call, leg, s, ctx),
      onRequest: (ctx) => this.relayOther(call, leg, ctx),
    };
  }

  private async relayReinvite(call: Call, from: CallLeg, session: InviteSession, ctx: UasContext): Promise<void> {
    const to = call.other(from);
    if (!to?.session?.active || to.state !== LegState.Established) {
      // Nobody to relay to (e.g. the other party is being set up): answer with what we last sent.
      if (ctx.request.body.length > 0 && from.lastSdpSent) session.acceptReinvite(ctx, from.lastSdpSent);
      else session.rejectReinvite(ctx, 491, 'Request Pending');
      return;
    }
    const body = ctx.request.body;
    const hasOffer = body.length > 0;
    if (hasOffer) {
      from.lastSdpReceived = body.toString('utf8');
      this.reportPhoneHold(call, from, from.lastSdpReceived);
    }
    const r = await to.session.reinvite(hasOffer ? to.adapt(body) : undefined);
    if (r.status >= 200 && r.status < 300 && r.response) {
      to.lastSdpReceived = r.response.body.length > 0 ? r.response.body.toString('utf8') : to.lastSdpReceived;
      if (!hasOffer && r.ack) {
        const ack = r.ack;
        from.onNextAck = (a) => {
          from.lastSdpReceived = a.body.length > 0 ? a.body.toString('utf8') : from.lastSdpReceived;
          ack(to.adapt(a.body) ?? Buffer.alloc(0));
        };
      }
      session.acceptReinvite(ctx, from.adapt(r.response.body));
    } else {
      session.rejectReinvite(ctx, r.status >= 300 ? r.status : 500, r.response?.reason);
    }
  }

  /** EventHeld/EventRetrieved when a phone itself holds or resumes (1pcc, RFC 3264 §8.4). */
  private reportPhoneHold(call: Call, leg: CallLeg, sdp: string): void {
    if (!leg.dn) return;
    let dir;
    try {
      dir = directionOf(sdp);
    } catch {
      return;
    }
    const holding = dir === 'sendonly' || dir === 'inactive';
    if (holding && !leg.held) {
      leg.held = true;
      this.emit('EventHeld', call, leg);
    } else if (!holding && leg.held) {
      leg.held = false;
      this.emit('EventRetrieved', call, leg);
    }
  }

  private async relayUpdate(call: Call, from: CallLeg, session: InviteSession, ctx: UasContext): Promise<void> {
    const to = call.other(from);
    const body = ctx.request.body;
    if (body.length > 0) {
      from.lastSdpReceived = body.toString('utf8');
      this.reportPhoneHold(call, from, from.lastSdpReceived);
    }
    if (!to?.session?.active) {
      session.answerUpdate(ctx, 200, body.length > 0 ? from.lastSdpSent : undefined);
      return;
    }
    const r = await to.session.update(to.adapt(body) ?? Buffer.alloc(0));
    if (r.status >= 200 && r.status < 300 && r.response) session.answerUpdate(ctx, r.status, from.adapt(r.response.body));
    else session.answerUpdate(ctx, r.status >= 300 ? r.status : 500, undefined, r.response?.reason);
  }

  private relayOther(call: Call, from: CallLeg, ctx: UasContext): boolean {
    const m = ctx.request.method;
    if (m === 'REFER') {
      // We never act on REFER: transfers are ours, by re-INVITE (behaviour §9).
      if (from.dn && !optionBoolean(OPTION_REFER_ENABLED, this.directory.effectiveOption(from.dn, OPTION_REFER_ENABLED))) ctx.reply(403, 'Forbidden (refer-enabled = false)');
      else ctx.reply(405, 'Method Not Allowed', [['Allow', 'INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS']]);
      return true;
    }
    if (m === 'INFO') {
      const to = call.other(from);
      if (!to?.session?.active) {
        ctx.reply(200);
        return true;
      }
      const ct = ctx.request.getHeader('Content-Type');
      void to.session
        .request('INFO', { body: ctx.request.body, contentType: ct, headers: [] })
        .then((r) => ctx.reply(r.status === 408 || r.status === 503 ? 200 : r.status));
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- release

  private onCallerCancel(call: Call, a: CallLeg): void {
    this.logger.debug({ connId: call.connId }, 'caller cancelled');
    a.state = LegState.Released;
    a.server = undefined;
    const wasEstablished = call.state === CallState.Established;
    call.state = CallState.Released;
    if (call.routed) this.router?.abandon(call.connId);
    for (const leg of call.others(a)) this.cancelDial(leg);
    if (a.dn) this.emit(wasEstablished ? 'EventReleased' : 'EventAbandoned', call, a);
    this.finishCall(call);
  }

  /** Answer the caller with an error and end the call. */
  rejectCaller(call: Call, a: CallLeg, status: number, reason: string): void {
    a.server?.reject(status, reason);
    a.server = undefined;
    a.state = LegState.Released;
    if (a.dn) this.emit('EventReleased', call, a);
    this.releaseCall(call);
  }

  private onLegEnded(call: Call, leg: CallLeg, reason: SessionEndReason): void {
    if (leg.state === LegState.Released) return;
    const wasAnswered = leg.state === LegState.Established;
    leg.state = LegState.Released;
    if (reason === 'cancelled' || reason === 'rejected') return; // handled by the INVITE paths
    if (leg.server) {
      // BYE in the early dialog: the INVITE still needs its final answer (RFC 3261 §15.1.2).
      leg.server.reject(487, 'Request Terminated');
      leg.server = undefined;
    }
    if (!wasAnswered && leg.direction === 'out') return; // dial paths report it
    this.logger.debug({ connId: call.connId, dn: leg.dn, reason }, 'leg ended');
    if (leg.dn) this.emit('EventReleased', call, leg);
    if (this.onPartyLeft?.(call, leg)) return;
    this.releaseCall(call);
  }

  /**
   * Behaviour §6: with `dual-dialog-enabled = false` the device keeps at most one INVITE dialog,
   * so a DN that already has a live leg (ringing, talking, held, consulting) cannot be presented
   * another call: direct calls get 486, deliveries and transfers fail as busy.
   */
  singleDialogBusy(dn: string): boolean {
    if (optionBoolean('dual-dialog-enabled', this.directory.effectiveOption(dn, 'dual-dialog-enabled'))) return false;
    for (const call of this.calls.values()) {
      for (const leg of call.liveLegs) if (leg.dn === dn) return true;
    }
    return false;
  }

  /** End every live leg of a call (BYE / CANCEL / reject) and report EventReleased on each DN. */
  releaseCall(call: Call, origin?: EventOrigin): void {
    if (call.state === CallState.Released && call.liveLegs.length === 0) {
      this.finishCall(call);
      return;
    }
    call.state = CallState.Released;
    // A transferred call may be waiting on a routing point while its party hangs up.
    if (call.routed) this.router?.abandon(call.connId);
    for (const leg of call.liveLegs) this.releaseLeg(call, leg, origin);
    this.finishCall(call);
  }

  /** End one leg: BYE if established, CANCEL if ringing, 487/480 if it is the unanswered caller. */
  releaseLeg(call: Call, leg: CallLeg, origin?: EventOrigin): void {
    if (leg.state === LegState.Released) return;
    if (leg.attempt) {
      this.cancelDial(leg);
      return;
    }
    const wasEstablished = leg.state === LegState.Established;
    leg.state = LegState.Released;
    if (leg.server) {
      leg.server.reject(480, 'Temporarily Unavailable');
      leg.server = undefined;
    } else if (leg.session?.active) {
      void leg.session.bye();
    }
    if (leg.dn && (wasEstablished || leg.direction === 'in')) this.emit('EventReleased', call, leg, undefined, origin);
  }

  private finishCall(call: Call): void {
    if (!this.calls.has(call.connId)) return;
    if (call.liveLegs.length > 0) return;
    this.calls.delete(call.connId);
    this.journal.closed(call);
    this.completed++;
    // A device that was busy with this call may take a waiting routed call now.
    if (call.legs.some((l) => l.dn !== undefined)) this.router?.dispatch?.();
  }

  /** BYE every call (shutdown). */
  releaseAll(): void {
    for (const call of [...this.calls.values()]) this.releaseCall(call);
  }
}
