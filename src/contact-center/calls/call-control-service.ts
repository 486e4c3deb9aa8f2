/**
 * The CTI gateway's {@link CallControl} port implemented by the B2BUA: 3pcc make-call
 * (RFC 3725 Flow I or IV, behaviour §8), release, hold/retrieve by re-INVITE (behaviour §6
 * single-dialog rules), single-step transfer by re-INVITEs (behaviour §9: never REFER) and
 * attached data. Every step is published as a call event carrying the requester's `origin`.
 */
import { CallControlError, type CallControl, type CallControlRequest } from '../../api/cti/call-control.js';
import { blackHoleSdp, noMediaOffer, rejectAllAnswer, withDirection } from '../../media/sdp.js';
import type { Deliverable } from '../../reachability/reachability-types.js';
import type { InviteSession } from '../../sip/dialog/invite-session.js';
import type { EventOrigin, UserData } from '../events.js';
import { inviteTimeoutMs } from '../routing/routing-options.js';
import { failureStatus, type B2bua } from './b2bua.js';
import { Call, CallState } from './call.js';
import { CallLeg, LegState } from './call-leg.js';

/** Option: which 3pcc make-call flow (behaviour §8): `1` = RFC 3725 Flow I, else Flow IV. */
export const OPTION_MAKE_CALL_FLOW = 'make-call-rfc3725-flow';
/** Option: `dual-dialog-enabled` (behaviour §6). */
export const OPTION_DUAL_DIALOG = 'dual-dialog-enabled';
/** Flow I safety wait before A gives up on its 2xx (behaviour §8.1, §14: 28 s). */
export const FLOW1_MAX_WAIT_MS = 28_000;
/** Option overriding {@link FLOW1_MAX_WAIT_MS}, seconds (behaviour §8.1 `rfc3725-flow1-max-wait`). */
export const OPTION_FLOW1_MAX_WAIT = 'rfc3725-flow1-max-wait';

const AGENT_DN_TYPES = new Set(['extension', 'acd-position']);

function isFalse(v: string | undefined): boolean {
  return v !== undefined && /^(false|0|no|off)$/i.test(v.trim());
}

/** Call control requests of the CTI protocol (interfaces §4). */
export class CallControlService implements CallControl {
  constructor(private readonly b2bua: B2bua) {}

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
      case 'RequestAnswerCall':
        // Behaviour §9: no `sip-cti-control` for remote agents; nailed-up auto-answer is not built yet.
        throw new CallControlError('not-supported', 'RequestAnswerCall needs sip-cti-control or a nailed-up connection');
      default:
        throw new CallControlError('not-supported', `${request.request} is not supported yet`);
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
    const dn = d && AGENT_DN_TYPES.has(d.type) ? d.number : undefined;
    return { dn, targets: b.reachability.candidates(d?.number ?? number) };
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
    if (!self || !AGENT_DN_TYPES.has(self.type)) throw new CallControlError('invalid-state', `${thisDN} is not an agent DN`);
    const originTargets = b.reachability.candidates(self.number);
    if (originTargets.length === 0) throw new CallControlError('failed', `${self.number} is unreachable`);
    const otherNumber = this.dnNumber(otherDN);
    const dest = this.destination(otherNumber);
    if (dest.targets.length === 0) throw new CallControlError('failed', `${otherNumber} is unreachable`);
    const call = b.newCall(dest.dn ? 'Internal' : 'Outbound', self.number, otherNumber);
    if (userData) Object.assign(call.userData, userData);
    const flow1 = b.directory.effectiveOption(self.number, OPTION_MAKE_CALL_FLOW)?.trim() === '1';
    if (flow1) return this.makeCallFlow1(call, self.number, otherNumber, originTargets, dest, origin);
    return this.makeCallFlow4(call, self.number, otherNumber, originTargets, dest, origin);
  }

  /** The origin leg failed: no call was reported, so only EventError (behaviour §8.3). */
  private originFailed(call: Call, why: string): never {
    this.b2bua.releaseCall(call);
    throw new CallControlError('failed', why);
  }

  /**
   * RFC 3725 Flow I (behaviour §8.1): offer-less INVITE to A; A's offer goes to B; B's answer
   * goes back in the ACK to A. No re-INVITE to A unless the 28 s guard fired.
   */
  private async makeCallFlow1(
    call: Call,
    thisDN: string,
    otherNumber: string,
    originTargets: Deliverable[],
    dest: { dn: string | undefined; targets: Deliverable[] },
    origin: EventOrigin,
  ): Promise<void> {
    const b = this.b2bua;
    let ackA: ((answer: string | Buffer) => void) | undefined;
    let offerA = '';
    const ra = await b.dial(call, {
      dn: thisDN,
      address: thisDN,
      targets: originTargets,
      fromUser: otherNumber,
      silent: true,
      ringTimeoutMs: inviteTimeoutMsOf(b, thisDN),
      onAnswered: (_leg, _s, r, ack) => {
        offerA = r.body.toString('utf8');
        ackA = ack;
      },
    });
    if (ra.kind !== 'answered') return this.originFailed(call, ra.kind === 'failed' ? `origin leg: ${failureStatus(ra.failure).status}` : 'origin leg cancelled');
    const a = ra.leg;
    a.lastSdpReceived = offerA;
    b.emit('EventDialing', call, a, otherNumber, origin);
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
  private async makeCallFlow4(
    call: Call,
    thisDN: string,
    otherNumber: string,
    originTargets: Deliverable[],
    dest: { dn: string | undefined; targets: Deliverable[] },
    origin: EventOrigin,
  ): Promise<void> {
    const b = this.b2bua;
    const ra = await b.dial(call, {
      dn: thisDN,
      address: thisDN,
      targets: originTargets,
      fromUser: otherNumber,
      silent: true,
      offer: noMediaOffer(),
      ringTimeoutMs: inviteTimeoutMsOf(b, thisDN),
      onAnswered: (leg, _s, r) => {
        leg.lastSdpReceived = r.body.toString('utf8');
      },
    });
    if (ra.kind !== 'answered') return this.originFailed(call, ra.kind === 'failed' ? `origin leg: ${failureStatus(ra.failure).status}` : 'origin leg cancelled');
    const a = ra.leg;
    b.emit('EventDialing', call, a, otherNumber, origin);
    void (async () => {
      let ackB: ((answer: string | Buffer) => void) | undefined;
      const rb = await b.dial(call, {
        dn: dest.dn,
        address: otherNumber,
        targets: dest.targets,
        fromUser: a.address,
        origin,
        ringTimeoutMs: dest.dn ? inviteTimeoutMsOf(b, dest.dn) : 0,
        onAnswered: (legB, _s, r, ack) => {
          legB.lastSdpReceived = r.body.toString('utf8');
          ackB = ack;
        },
      });
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
    const dual = !isFalse(this.b2bua.directory.effectiveOption(leg.dn ?? thisDN, OPTION_DUAL_DIALOG));
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
   * `reject-call-notready` applies to the target.
   */
  private async singleStepTransfer(thisDN: string, connId: string, otherDN: string, origin: EventOrigin): Promise<void> {
    const b = this.b2bua;
    const { call, leg } = this.legOf(thisDN, connId);
    const far = call.other(leg);
    if (!far?.session?.active || far.state !== LegState.Established) throw new CallControlError('invalid-state', 'call is not established');
    const number = this.dnNumber(otherDN);
    const dest = this.destination(number);
    if (dest.dn && b.policy?.rejectsCall(dest.dn)) throw new CallControlError('failed', `${dest.dn} does not take calls now (reject-call-notready)`);
    if (dest.targets.length === 0) throw new CallControlError('failed', `${number} is unreachable`);
    b.releaseLeg(call, leg, origin);
    void (async () => {
      let ackT: ((answer: string | Buffer) => void) | undefined;
      const rt = await b.dial(call, {
        dn: dest.dn,
        address: number,
        targets: dest.targets,
        fromUser: far.address,
        ringTimeoutMs: dest.dn ? inviteTimeoutMsOf(b, dest.dn) : 0,
        onAnswered: (legT, _s, r, ack) => {
          legT.lastSdpReceived = r.body.toString('utf8');
          ackT = ack;
        },
      });
      if (rt.kind !== 'answered') {
        b.releaseCall(call);
        return;
      }
      const t = rt.leg;
      if (!far.session?.active) {
        ackT?.(safe(() => rejectAllAnswer(t.lastSdpReceived ?? ''), ''));
        b.releaseCall(call);
        return;
      }
      const rf = await (far.session as InviteSession).reinvite(far.adapt(t.lastSdpReceived ?? ''));
      if (rf.status >= 200 && rf.status < 300 && rf.response) {
        far.lastSdpReceived = rf.response.body.toString('utf8');
        ackT?.(t.adapt(far.lastSdpReceived) ?? Buffer.alloc(0));
        call.state = CallState.Established;
        b.emit('EventEstablished', call, t, far.address);
        if (far.dn) b.emit('EventPartyChanged', call, far, number);
      } else {
        ackT?.(safe(() => rejectAllAnswer(t.lastSdpReceived ?? ''), ''));
        b.releaseCall(call);
      }
    })();
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
