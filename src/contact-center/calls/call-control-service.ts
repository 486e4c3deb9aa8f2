/**
 * The CTI gateway's {@link CallControl} port implemented by the B2BUA: 3pcc make-call
 * (RFC 3725 Flow I or IV, behaviour §8), release, hold/retrieve by re-INVITE (behaviour §6
 * single-dialog rules), single-step transfer by re-INVITEs (behaviour §9: never REFER) and
 * attached data. Every step is published as a call event carrying the requester's `origin`.
 */
import { isAgentDnType } from '../../config/config-model.js';
import { optionBoolean } from '../../config/option-table.js';
import { CallControlError, type CallControl, type CallControlRequest } from '../call-control.js';
import { blackHoleSdp, noMediaOffer, rejectAllAnswer, withDirection } from '../../media/sdp.js';
import type { Deliverable } from '../../reachability/reachability-types.js';
import type { EventOrigin, UserData } from '../events.js';
import { inviteTimeoutMs } from '../routing/routing-options.js';
import { failureStatus, type B2bua, type DialResult } from './b2bua.js';
import { Call, CallState } from './call.js';
import { CallLeg, LegState } from './call-leg.js';
import { connectEstablishedParty } from './connect-established-party.js';

/** Option: which 3pcc make-call flow (behaviour §8): `1` = RFC 3725 Flow I, else Flow IV. */
export const OPTION_MAKE_CALL_FLOW = 'make-call-rfc3725-flow';
/** Option: `dual-dialog-enabled` (behaviour §6). */
export const OPTION_DUAL_DIALOG = 'dual-dialog-enabled';
/** Flow I safety wait before A gives up on its 2xx (behaviour §8.1, §14: 28 s). */
export const FLOW1_MAX_WAIT_MS = 28_000;
/** Option overriding {@link FLOW1_MAX_WAIT_MS}, seconds (behaviour §8.1 `rfc3725-flow1-max-wait`). */
export const OPTION_FLOW1_MAX_WAIT = 'rfc3725-flow1-max-wait';

/** What both make-call flows (RFC 3725 Flow I and Flow IV) start from. */
interface MakeCallSetup {
  call: Call;
  /** The DN of the agent placing the call (the origin leg rings its phone). */
  thisDN: string;
  otherNumber: string;
  originTargets: Deliverable[];
  dest: { dn: string | undefined; targets: Deliverable[] };
  origin: EventOrigin;
}

/** A consultation in progress: the agent leg is borrowed from `main` into `consult` (behaviour §6). */
interface Consultation {
  main: Call;
  consult: Call;
  agent: CallLeg;
  /** The party of the main call that waits on hold. */
  far: CallLeg;
}

/** Call control requests of the CTI protocol (interfaces §4). */
export class CallControlService implements CallControl {
  /** Consultations by the ConnID of the consult call and of the main call. */
  private readonly consultations = new Map<string, Consultation>();

  constructor(private readonly b2bua: B2bua) {
    b2bua.onPartyLeft = (call, leg) => this.onPartyLeft(call, leg);
  }

  async handle(request: CallControlRequest, origin: EventOrigin): Promise<void> {
    switch (request.request) {
      case 'RequestMakeCall':
        return this.makeCall(request.thisDN, request.otherDN, origin, request.userData);
      case 'RequestReleaseCall': {
        const { call } = this.legOf(request.thisDN, request.connId);
        this.b2bua.releaseCall(call, origin);
        return;
      }
      case 'RequestHoldCall':
        return this.hold(request.thisDN, request.connId, origin);
      case 'RequestRetrieveCall':
        return this.retrieve(request.thisDN, request.connId, origin);
      case 'RequestSingleStepTransfer':
        return this.singleStepTransfer(request.thisDN, request.connId, request.otherDN, origin);
      case 'RequestAttachUserData': {
        const { call } = this.legOf(request.thisDN, request.connId);
        this.attach(call, request.userData, origin);
        return;
      }
      case 'RequestInitiateTransfer':
        return this.initiateTransfer(request.thisDN, request.connId, request.otherDN, origin, request.userData);
      case 'RequestCompleteTransfer':
        return this.completeTransfer(request.thisDN, request.connId, request.transferConnId, origin);
      case 'RequestReconnectCall':
        return this.reconnectCall(request.thisDN, request.connId, origin);
      case 'RequestAnswerCall':
        // Behaviour §9: no `sip-cti-control` for remote agents; nailed-up auto-answer is not built yet.
        throw new CallControlError('not-supported', 'RequestAnswerCall needs sip-cti-control or a nailed-up connection');
      default: {
        const unknown: { request: string } = request;
        throw new CallControlError('not-supported', `${unknown.request} is not supported yet`);
      }
    }
  }

  private dnNumber(raw: string): string {
    const d = this.b2bua.directory;
    return d.getDn(raw)?.number ?? d.normaliseNumber(raw);
  }

  private legOf(thisDN: string, connId: string): { call: Call; leg: CallLeg } {
    const call = this.b2bua.getCall(connId);
    if (!call || call.state === CallState.Released) throw new CallControlError('unknown-conn-id', `no call ${connId}`);
    const leg = call.legOfDn(this.dnNumber(thisDN));
    if (!leg) throw new CallControlError('invalid-state', `${thisDN} is not a party of call ${connId}`);
    return { call, leg };
  }

  /** Routes and DN status of a destination: an agent DN's own routes or a number's softswitches. */
  private destination(number: string): { dn: string | undefined; targets: Deliverable[] } {
    const b = this.b2bua;
    const d = b.directory.getDn(number);
    const dn = d && isAgentDnType(d.type) ? d.number : undefined;
    return { dn, targets: b.reachability.candidates(d?.number ?? number) };
  }

  /**
   * INVITE `number` without an offer for `call` (RFC 3725: its 200 carries the offer) and hold
   * back the ACK: the caller sends it with the answer once the other party has produced one.
   */
  private async dialHoldingAck(
    call: Call,
    dest: { dn: string | undefined; targets: Deliverable[] },
    number: string,
    fromUser: string,
    origin: EventOrigin | undefined,
  ): Promise<{ result: DialResult; ack: ((answer: string | Buffer) => void) | undefined }> {
    const b = this.b2bua;
    let ack: ((answer: string | Buffer) => void) | undefined;
    const result = await b.dial(call, {
      dn: dest.dn,
      address: number,
      targets: dest.targets,
      fromUser,
      origin,
      ringTimeoutMs: dest.dn ? inviteTimeoutMsOf(b, dest.dn) : 0,
      onAnswered: (leg, _s, r, sendAck) => {
        leg.lastSdpReceived = r.body.toString('utf8');
        ack = sendAck;
      },
    });
    return { result, ack };
  }

  private attach(call: Call, data: UserData, origin?: EventOrigin): void {
    Object.assign(call.userData, data);
    for (const leg of call.liveLegs) this.b2bua.emit('EventAttachedDataChanged', call, leg, undefined, origin);
  }

  // ------------------------------------------------------------------ make call

  /**
   * `RequestMakeCall` (behaviour §8): INVITE the origin phone first, then the destination.
   * Resolves when the origin phone answered (EventDialing published); rejects when it did not.
   */
  private async makeCall(thisDN: string, otherDN: string, origin: EventOrigin, userData?: UserData): Promise<void> {
    const b = this.b2bua;
    const self = b.directory.getDn(thisDN);
    if (!self || !isAgentDnType(self.type)) throw new CallControlError('invalid-state', `${thisDN} is not an agent DN`);
    const originTargets = b.reachability.candidates(self.number);
    if (originTargets.length === 0) throw new CallControlError('failed', `${self.number} is unreachable`);
    // Single dialog (behaviour §6): a device already on a call cannot get a second INVITE.
    if (b.singleDialogBusy(self.number)) throw new CallControlError('failed', `${self.number} is on a call (single dialog)`);
    const otherNumber = this.dnNumber(otherDN);
    const target = b.directory.getDn(otherNumber);
    if (target?.type === 'routing-point' && b.router) return this.makeCallToRoutingPoint(self.number, target.number, originTargets, origin, userData);
    const dest = this.destination(otherNumber);
    if (dest.targets.length === 0) throw new CallControlError('failed', `${otherNumber} is unreachable`);
    if (dest.dn && dest.dn !== self.number && b.singleDialogBusy(dest.dn)) throw new CallControlError('failed', `${dest.dn} is busy (single dialog)`);
    const call = b.newCall(dest.dn ? 'Internal' : 'Outbound', self.number, otherNumber);
    if (userData) Object.assign(call.userData, userData);
    const flow1 = b.directory.effectiveOption(self.number, OPTION_MAKE_CALL_FLOW)?.trim() === '1';
    const setup: MakeCallSetup = { call, thisDN: self.number, otherNumber, originTargets, dest, origin };
    return flow1 ? this.makeCallFlow1(setup) : this.makeCallFlow4(setup);
  }

  /**
   * `RequestMakeCall` to a routing point: the agent's phone is called first with a no-media
   * offer (the Flow IV shape, whatever `make-call-rfc3725-flow` says: the destination is not
   * known yet), then the call is queued on the routing point; the agent the router picks is
   * INVITEd without an offer and connected by re-INVITE of the phone (RFC 3725 §4).
   */
  private async makeCallToRoutingPoint(thisDN: string, routingPoint: string, originTargets: Deliverable[], origin: EventOrigin, userData?: UserData): Promise<void> {
    const b = this.b2bua;
    const router = b.router!;
    const call = b.newCall('Internal', thisDN, routingPoint);
    if (userData) Object.assign(call.userData, userData);
    const { leg: a } = await this.dialOrigin(call, thisDN, originTargets, routingPoint, noMediaOffer());
    call.state = CallState.Established;
    call.routed = true;
    call.routingPoint = routingPoint;
    call.originatorWaiting = true;
    b.emit('EventDialing', call, a, routingPoint, origin);
    void (async () => {
      const outcome = await router.route({ callId: call.connId, routingPoint, ani: thisDN, dnis: routingPoint });
      if (call.state === CallState.Released || !a.session?.active) return;
      if (outcome.kind === 'rejected') b.releaseCall(call, origin);
      else if (outcome.kind === 'default-dn') {
        const n = this.dnNumber(outcome.dn);
        const d = this.destination(n);
        const r = d.targets.length === 0 ? 'failed' : await connectEstablishedParty(b, call, a, { dn: d.dn, number: n, targets: d.targets, ringTimeoutMs: d.dn ? inviteTimeoutMsOf(b, d.dn) : 0, origin });
        if (r !== 'answered') b.releaseCall(call, origin);
      }
    })();
  }

  /** The origin leg failed: no call was reported, so only EventError (behaviour §8.3). */
  private originFailed(call: Call, why: string): never {
    this.b2bua.releaseCall(call);
    throw new CallControlError('failed', why);
  }

  /**
   * Ring the origin device of a make-call, silently (no CTI events yet): with `offer` (Flow IV,
   * routing-point calls) or without one (Flow I: its answer holds A's offer and its ACK waits,
   * RFC 3725). Throws through {@link originFailed} when it is not answered.
   */
  private async dialOrigin(
    call: Call,
    thisDN: string,
    originTargets: Deliverable[],
    fromUser: string,
    offer: string | undefined,
  ): Promise<{ leg: CallLeg; ack: ((answer: string | Buffer) => void) | undefined }> {
    const b = this.b2bua;
    let ack: ((answer: string | Buffer) => void) | undefined;
    const ra = await b.dial(call, {
      dn: thisDN,
      address: thisDN,
      targets: originTargets,
      fromUser,
      silent: true,
      offer,
      ringTimeoutMs: inviteTimeoutMsOf(b, thisDN),
      onAnswered: (leg, _s, r, sendAck) => {
        leg.lastSdpReceived = r.body.toString('utf8');
        ack = sendAck;
      },
    });
    if (ra.kind !== 'answered') return this.originFailed(call, ra.kind === 'failed' ? `origin leg: ${failureStatus(ra.failure).status}` : 'origin leg cancelled');
    return { leg: ra.leg, ack };
  }

  /**
   * RFC 3725 Flow I (behaviour §8.1): offer-less INVITE to A; A's offer goes to B; B's answer
   * goes back in the ACK to A. No re-INVITE to A unless the 28 s guard fired.
   */
  private async makeCallFlow1(setup: MakeCallSetup): Promise<void> {
    const { call, thisDN, otherNumber, originTargets, dest, origin } = setup;
    const { leg: a, ack: ackA } = await this.dialOrigin(call, thisDN, originTargets, otherNumber, undefined);
    const offerA = a.lastSdpReceived ?? '';
    this.b2bua.emit('EventDialing', call, a, otherNumber, origin);
    void this.flow1SecondLeg(call, a, offerA, ackA, otherNumber, dest, origin);
  }

  private async flow1SecondLeg(
    call: Call,
    a: CallLeg,
    offerA: string,
    ackA: ((answer: string | Buffer) => void) | undefined,
    otherNumber: string,
    dest: { dn: string | undefined; targets: Deliverable[] },
    origin: EventOrigin,
  ): Promise<void> {
    const b = this.b2bua;
    let acked = false;
    const ackOnce = (answer: string) => {
      if (acked) return;
      acked = true;
      ackA?.(a.adapt(answer) ?? Buffer.alloc(0));
    };
    // Guard: A gives up on its 2xx after 64·T1; ACK it with a black hole before that (behaviour §8.1).
    const guard = b.clock.setTimeout(() => {
      b.logger.info({ connId: call.connId }, 'Flow I: destination slow, ACKing origin with a black-hole answer');
      ackOnce(safe(() => blackHoleSdp(offerA, true), offerA));
    }, this.flow1MaxWaitMs(a.dn));
    const rb = await b.dial(call, {
      dn: dest.dn,
      address: otherNumber,
      targets: dest.targets,
      offer: offerA.length > 0 ? offerA : undefined,
      fromUser: a.address,
      origin,
      ringTimeoutMs: dest.dn ? inviteTimeoutMsOf(b, dest.dn) : 0,
      onAnswered: (legB, _s, r) => {
        legB.lastSdpReceived = r.body.toString('utf8');
      },
    });
    b.clock.clearTimeout(guard);
    if (a.released) {
      if (rb.kind === 'answered') b.releaseCall(call, origin);
      return;
    }
    if (rb.kind !== 'answered') {
      ackOnce(safe(() => rejectAllAnswer(offerA), offerA));
      this.secondLegFailed(call, a, rb, otherNumber, origin);
      return;
    }
    const legB = rb.leg;
    if (!acked) {
      ackOnce(legB.lastSdpReceived ?? '');
    } else if (a.session && legB.session) {
      // Guard fired: bring A's media to B now (late-offer re-INVITE, RFC 3725 Flow III shape).
      await this.reconnect(a, legB);
    }
    b.established(call, a, legB, origin);
  }

  /** `rfc3725-flow1-max-wait` of the origin DN in ms (default 28 s, at most 31 s: A gives up at 32 s). */
  private flow1MaxWaitMs(dn: string | undefined): number {
    const raw = dn ? this.b2bua.directory.effectiveOption(dn, OPTION_FLOW1_MAX_WAIT) : undefined;
    const n = raw === undefined ? NaN : Number(raw);
    return Number.isFinite(n) && n > 0 ? Math.min(n, 31) * 1000 : FLOW1_MAX_WAIT_MS;
  }

  /**
   * RFC 3725 Flow IV (behaviour §8.2): A gets a no-media offer and answers; B gets an
   * offer-less INVITE; B's offer goes to A by re-INVITE; A's answer goes to B in the ACK.
   */
  private async makeCallFlow4(setup: MakeCallSetup): Promise<void> {
    const { call, thisDN, otherNumber, originTargets, dest, origin } = setup;
    const b = this.b2bua;
    const { leg: a } = await this.dialOrigin(call, thisDN, originTargets, otherNumber, noMediaOffer());
    b.emit('EventDialing', call, a, otherNumber, origin);
    void (async () => {
      const { result: rb, ack: ackB } = await this.dialHoldingAck(call, dest, otherNumber, a.address, origin);
      if (rb.kind !== 'answered') {
        this.secondLegFailed(call, a, rb, otherNumber, origin);
        return;
      }
      const legB = rb.leg;
      if (a.released || !a.session?.active) {
        ackB?.(Buffer.alloc(0));
        b.releaseCall(call, origin);
        return;
      }
      const r = await a.session.reinvite(a.adapt(legB.lastSdpReceived ?? ''));
      if (r.status >= 200 && r.status < 300 && r.response) {
        a.lastSdpReceived = r.response.body.toString('utf8');
        ackB?.(legB.adapt(a.lastSdpReceived) ?? Buffer.alloc(0));
        b.established(call, a, legB, origin);
      } else {
        ackB?.(safe(() => rejectAllAnswer(legB.lastSdpReceived ?? ''), ''));
        b.releaseCall(call, origin);
      }
    })();
  }

  private secondLegFailed(call: Call, a: CallLeg, rb: { kind: 'failed'; failure: import('./outbound-attempt.js').AttemptFailure } | { kind: 'cancelled' }, otherNumber: string, origin: EventOrigin): void {
    const b = this.b2bua;
    if (rb.kind === 'failed') {
      const { status } = failureStatus(rb.failure);
      if (status === 486 || status === 600) b.emit('EventDestinationBusy', call, a, otherNumber, origin);
    }
    b.releaseCall(call, origin);
  }

  /**
   * Connect two established legs afresh (RFC 3725 §4 style): offer-less re-INVITE to `x`, its
   * offer to `y` by re-INVITE, `y`'s answer in the ACK to `x`.
   */
  private async reconnect(x: CallLeg, y: CallLeg): Promise<boolean> {
    if (!x.session?.active || !y.session?.active) return false;
    const rx = await x.session.reinvite(undefined);
    if (!(rx.status >= 200 && rx.status < 300) || !rx.response) return false;
    x.lastSdpReceived = rx.response.body.toString('utf8');
    const ry = await y.session.reinvite(y.adapt(x.lastSdpReceived));
    if (!(ry.status >= 200 && ry.status < 300) || !ry.response) {
      rx.ack?.(safe(() => rejectAllAnswer(x.lastSdpReceived ?? ''), ''));
      return false;
    }
    y.lastSdpReceived = ry.response.body.toString('utf8');
    rx.ack?.(x.adapt(y.lastSdpReceived) ?? Buffer.alloc(0));
    return true;
  }

  // ------------------------------------------------------------------ hold / retrieve

  /**
   * `RequestHoldCall`: the far end gets a `sendonly` black-hole offer (RFC 3264 §8.4, RFC 3725
   * §4 black hole) so it sends nothing; the agent leg is pointed at a black hole too — with
   * `dual-dialog-enabled = false` without any hold direction, so a PSTN gateway never sees a
   * hold it might turn into a disconnect (behaviour §6).
   */
  private async hold(thisDN: string, connId: string, origin: EventOrigin): Promise<void> {
    const { call, leg } = this.legOf(thisDN, connId);
    const far = call.other(leg);
    if (!far?.session?.active || far.state !== LegState.Established || leg.state !== LegState.Established) {
      throw new CallControlError('invalid-state', 'call is not established');
    }
    if (leg.held) throw new CallControlError('invalid-state', 'call already held');
    const agentSdp = leg.lastSdpReceived ?? far.lastSdpSent;
    const farSdp = far.lastSdpReceived ?? leg.lastSdpSent;
    if (!agentSdp || !farSdp) throw new CallControlError('invalid-state', 'no media description to hold');
    const rf = await far.session.reinvite(far.adapt(withDirection(blackHoleSdp(agentSdp), 'sendonly')));
    if (!(rf.status >= 200 && rf.status < 300)) throw new CallControlError('failed', `hold re-INVITE answered ${rf.status}`);
    if (rf.response && rf.response.body.length > 0) far.lastSdpReceived = rf.response.body.toString('utf8');
    const dual = optionBoolean(OPTION_DUAL_DIALOG, this.b2bua.directory.effectiveOption(leg.dn ?? thisDN, OPTION_DUAL_DIALOG));
    if (leg.session?.active) {
      const toAgent = dual ? withDirection(blackHoleSdp(farSdp), 'sendonly') : blackHoleSdp(farSdp);
      const ra = await leg.session.reinvite(leg.adapt(toAgent));
      if (ra.response && ra.status < 300 && ra.response.body.length > 0) leg.lastSdpReceived = ra.response.body.toString('utf8');
    }
    leg.held = true;
    this.b2bua.emit('EventHeld', call, leg, far.address, origin);
  }

  /** `RequestRetrieveCall`: reconnect agent and far end (offer-less re-INVITE to the agent, RFC 3725 §4). */
  private async retrieve(thisDN: string, connId: string, origin: EventOrigin): Promise<void> {
    const { call, leg } = this.legOf(thisDN, connId);
    const far = call.other(leg);
    if (!leg.held) throw new CallControlError('invalid-state', 'call is not held');
    if (!far?.session?.active) throw new CallControlError('invalid-state', 'no party to retrieve');
    const ok = await this.reconnect(leg, far);
    if (!ok) throw new CallControlError('failed', 'retrieve re-INVITE failed');
    leg.held = false;
    this.b2bua.emit('EventRetrieved', call, leg, far.address, origin);
  }

  // ------------------------------------------------------------------ single-step transfer

  /**
   * `RequestSingleStepTransfer` (behaviour §9): the agent leg is released at once (BYE,
   * EventReleased on the agent DN); the target is INVITEd without an offer, its offer reaches
   * the remaining party by re-INVITE and that party's answer goes to the target in the ACK.
   * `reject-call-notready` applies to the target. A routing point as target queues the call
   * there: the router delivers it to an agent the same way (or to its `default-dn`), and
   * releases it (BYE) when nobody takes it.
   */
  private async singleStepTransfer(thisDN: string, connId: string, otherDN: string, origin: EventOrigin): Promise<void> {
    const b = this.b2bua;
    const { call, leg } = this.legOf(thisDN, connId);
    const far = call.other(leg);
    if (!far?.session?.active || far.state !== LegState.Established) throw new CallControlError('invalid-state', 'call is not established');
    const number = this.dnNumber(otherDN);
    const target = b.directory.getDn(number);
    if (target?.type === 'routing-point') {
      const router = b.router;
      if (!router) throw new CallControlError('not-supported', 'no router for routing points');
      b.releaseLeg(call, leg, origin);
      call.routed = true;
      call.routingPoint = target.number;
      void (async () => {
        const outcome = await router.route({ callId: call.connId, routingPoint: target.number, ani: call.ani, dnis: call.dnis });
        if (call.state === CallState.Released || !far.session?.active) return;
        if (outcome.kind === 'rejected') b.releaseCall(call);
        else if (outcome.kind === 'default-dn') {
          const dest = this.destination(this.dnNumber(outcome.dn));
          const r = dest.targets.length === 0 ? 'failed' : await connectEstablishedParty(b, call, far, {
            dn: dest.dn,
            number: this.dnNumber(outcome.dn),
            targets: dest.targets,
            ringTimeoutMs: dest.dn ? inviteTimeoutMsOf(b, dest.dn) : 0,
          });
          if (r !== 'answered') b.releaseCall(call);
        }
      })();
      return;
    }
    const dest = this.destination(number);
    if (dest.dn && b.policy?.rejectsCall(dest.dn)) throw new CallControlError('failed', `${dest.dn} does not take calls now (reject-call-notready)`);
    if (dest.dn && b.singleDialogBusy(dest.dn)) throw new CallControlError('failed', `${dest.dn} is busy (single dialog)`);
    if (dest.targets.length === 0) throw new CallControlError('failed', `${number} is unreachable`);
    b.releaseLeg(call, leg, origin);
    void (async () => {
      const r = await connectEstablishedParty(b, call, far, {
        dn: dest.dn,
        number,
        targets: dest.targets,
        ringTimeoutMs: dest.dn ? inviteTimeoutMsOf(b, dest.dn) : 0,
      });
      if (r !== 'answered') b.releaseCall(call);
    })();
  }

  // ------------------------------------------------------------------ consultation (single dialog)

  /**
   * `RequestInitiateTransfer` (behaviour §6, single-dialog mode for every device: the agent's
   * phone never gets a second INVITE dialog): the other party is held (sendonly black hole), the
   * agent leg moves to a new Consult call, the target is INVITEd without an offer and its offer
   * reaches the agent phone by re-INVITE; the agent's answer goes to the target in the ACK.
   * Resolves once the target is being dialled (EventHeld, EventDialing).
   */
  private async initiateTransfer(thisDN: string, connId: string, otherDN: string, origin: EventOrigin, userData?: UserData): Promise<void> {
    const b = this.b2bua;
    const { call: main, leg: agent } = this.legOf(thisDN, connId);
    if (this.consultations.has(main.connId)) throw new CallControlError('invalid-state', 'a consultation is already in progress');
    const far = main.other(agent);
    if (!far?.session?.active || far.state !== LegState.Established || !agent.session?.active) {
      throw new CallControlError('invalid-state', 'call is not established');
    }
    const number = this.dnNumber(otherDN);
    const routingPoint = b.directory.getDn(number)?.type === 'routing-point' ? b.directory.getDn(number)!.number : undefined;
    const router = b.router;
    if (routingPoint && !router) throw new CallControlError('not-supported', 'no router for routing points');
    const dest = this.destination(number);
    if (!routingPoint && dest.targets.length === 0) throw new CallControlError('failed', `${number} is unreachable`);
    if (dest.dn && b.singleDialogBusy(dest.dn)) throw new CallControlError('failed', `${dest.dn} is busy (single dialog)`);
    const agentSdp = agent.lastSdpReceived ?? far.lastSdpSent;
    if (!agentSdp) throw new CallControlError('invalid-state', 'no media description to hold');
    if (!far.held) {
      const rf = await far.session.reinvite(far.adapt(withDirection(blackHoleSdp(agentSdp), 'sendonly')));
      if (!(rf.status >= 200 && rf.status < 300)) throw new CallControlError('failed', `hold re-INVITE answered ${rf.status}`);
      if (rf.response && rf.response.body.length > 0) far.lastSdpReceived = rf.response.body.toString('utf8');
      far.held = true;
      agent.held = true;
      b.emit('EventHeld', main, agent, far.address, origin);
    }
    const consult = b.newCall('Consult', agent.dn, number);
    Object.assign(consult.userData, main.userData, userData ?? {});
    b.moveLeg(agent, main, consult);
    const c: Consultation = { main, consult, agent, far };
    this.consultations.set(main.connId, c);
    this.consultations.set(consult.connId, c);
    b.emit('EventDialing', consult, agent, number, origin);
    if (routingPoint && router) {
      // Consultation with a routing point: the router picks the agent (or the default-dn); the
      // delivery connects it to the agent's dialog. Nobody: the agent reconnects.
      consult.routed = true;
      consult.routingPoint = routingPoint;
      void (async () => {
        const outcome = await router.route({ callId: consult.connId, routingPoint, ani: consult.ani, dnis: consult.dnis });
        if (outcome.kind !== 'default-dn' || this.consultations.get(consult.connId) !== c || !agent.session?.active) return;
        const n = this.dnNumber(outcome.dn);
        const d = this.destination(n);
        if (d.targets.length === 0) return;
        await connectEstablishedParty(b, consult, agent, { dn: d.dn, number: n, targets: d.targets, ringTimeoutMs: d.dn ? inviteTimeoutMsOf(b, d.dn) : 0, origin });
      })();
      return;
    }
    void (async () => {
      const { result: rt, ack: ackT } = await this.dialHoldingAck(consult, dest, number, agent.address, origin);
      if (rt.kind !== 'answered') {
        if (rt.kind === 'failed') {
          const { status } = failureStatus(rt.failure);
          if (status === 486 || status === 600) b.emit('EventDestinationBusy', consult, agent, number, origin);
        }
        return; // the agent reconnects (RequestReconnectCall)
      }
      const t = rt.leg;
      if (!agent.session?.active || this.consultations.get(consult.connId) !== c) {
        ackT?.(safe(() => rejectAllAnswer(t.lastSdpReceived ?? ''), ''));
        b.releaseLeg(consult, t);
        return;
      }
      const ra = await agent.session.reinvite(agent.adapt(t.lastSdpReceived ?? ''));
      if (ra.status >= 200 && ra.status < 300 && ra.response) {
        agent.lastSdpReceived = ra.response.body.toString('utf8');
        ackT?.(t.adapt(agent.lastSdpReceived) ?? Buffer.alloc(0));
        b.established(consult, agent, t, origin);
      } else {
        ackT?.(safe(() => rejectAllAnswer(t.lastSdpReceived ?? ''), ''));
        b.releaseLeg(consult, t);
      }
    })();
  }

  private consultationOf(connId: string, transferConnId?: string): Consultation {
    const c = this.consultations.get(connId) ?? (transferConnId ? this.consultations.get(transferConnId) : undefined);
    if (!c) throw new CallControlError('invalid-state', `no consultation for call ${connId}`);
    return c;
  }

  private endConsultation(c: Consultation): void {
    this.consultations.delete(c.main.connId);
    this.consultations.delete(c.consult.connId);
    // A consultation still waiting on a routing point leaves its queue.
    if (c.consult.routed) this.b2bua.router?.abandon(c.consult.connId);
  }

  /**
   * `RequestCompleteTransfer`: the held party and the target are connected by re-INVITEs
   * (offer-less re-INVITE to the target, its offer to the held party), the target joins the
   * main call and the agent leg is ended with BYE (EventReleased on both calls for the agent).
   */
  private async completeTransfer(thisDN: string, connId: string, transferConnId: string, origin: EventOrigin): Promise<void> {
    const b = this.b2bua;
    const c = this.consultationOf(connId, transferConnId);
    if (c.agent.dn !== this.dnNumber(thisDN)) throw new CallControlError('invalid-state', `${thisDN} is not consulting`);
    const t = c.consult.other(c.agent);
    if (!t || t.state !== LegState.Established) throw new CallControlError('invalid-state', 'the consultation is not established');
    if (!c.far.session?.active) throw new CallControlError('invalid-state', 'the held party is gone');
    const ok = await this.reconnect(t, c.far);
    if (!ok) throw new CallControlError('failed', 'could not connect the parties');
    this.endConsultation(c);
    c.far.held = false;
    b.moveLeg(t, c.consult, c.main);
    b.releaseLeg(c.consult, c.agent, origin);
    b.emit('EventReleased', c.main, c.agent, c.far.address, origin, { transferConnId: c.consult.connId });
    b.dropIfEmpty(c.consult);
    c.main.state = CallState.Established;
    if (t.dn) b.emit('EventPartyChanged', c.main, t, c.far.address, undefined, { transferConnId: c.consult.connId });
    if (c.far.dn) b.emit('EventPartyChanged', c.main, c.far, t.address, undefined, { transferConnId: c.consult.connId });
  }

  /**
   * `RequestReconnectCall`: the consultation target is released and the agent leg goes back to
   * the held party (offer-less re-INVITE to the agent, its offer to the held party).
   */
  private async reconnectCall(thisDN: string, connId: string, origin: EventOrigin): Promise<void> {
    const b = this.b2bua;
    const c = this.consultationOf(connId);
    if (c.agent.dn !== this.dnNumber(thisDN)) throw new CallControlError('invalid-state', `${thisDN} is not consulting`);
    const t = c.consult.other(c.agent);
    if (t) b.releaseLeg(c.consult, t, origin);
    await this.returnAgent(c, origin);
  }

  /** Move the agent leg back to the main call and reconnect its media to the held party. */
  private async returnAgent(c: Consultation, origin?: EventOrigin): Promise<void> {
    const b = this.b2bua;
    this.endConsultation(c);
    b.emit('EventReleased', c.consult, c.agent, undefined, origin);
    b.moveLeg(c.agent, c.consult, c.main);
    b.dropIfEmpty(c.consult);
    if (!c.far.session?.active) {
      b.releaseCall(c.main, origin);
      return;
    }
    const ok = await this.reconnect(c.agent, c.far);
    if (!ok) {
      b.releaseCall(c.main, origin);
      return;
    }
    c.far.held = false;
    c.agent.held = false;
    b.emit('EventRetrieved', c.main, c.agent, c.far.address, origin);
  }

  /**
   * A party hung up. In a consultation the agent leg is borrowed, so the rest is not released
   * blindly: the target leaving sends the agent back to the held party; the held party leaving
   * ends the main call for the agent (EventReleased) while the consultation goes on.
   * @returns true when the B2BUA must not release the remaining legs
   */
  private onPartyLeft(call: Call, leg: CallLeg): boolean {
    const c = this.consultations.get(call.connId);
    if (!c) return false;
    if (call === c.consult && leg !== c.agent) {
      void this.returnAgent(c);
      return true;
    }
    if (call === c.main && leg === c.far) {
      this.endConsultation(c);
      this.b2bua.emit('EventReleased', c.main, c.agent, c.far.address);
      c.main.state = CallState.Released;
      this.b2bua.dropIfEmpty(c.main);
      c.agent.held = false;
      return true;
    }
    if (leg === c.agent) {
      // The agent hung up: both calls end.
      this.endConsultation(c);
      this.b2bua.releaseCall(c.consult);
      this.b2bua.releaseCall(c.main);
      return true;
    }
    return false;
  }
}

function inviteTimeoutMsOf(b: B2bua, dn: string): number {
  return inviteTimeoutMs(
    {
      effectiveOption: (d: string, n: string) => b.directory.effectiveOption(d, n),
      getDn: (n: string) => b.directory.getDn(n),
      normaliseNumber: (n: string) => b.directory.normaliseNumber(n),
      getAgent: () => undefined,
      getAgentGroup: () => undefined,
    },
    dn,
  );
}

function safe(f: () => string, fallback: string): string {
  try {
    return f();
  } catch {
    return fallback;
  }
}
