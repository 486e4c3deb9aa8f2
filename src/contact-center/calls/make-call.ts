/**
 * `RequestMakeCall` by third-party call control (behaviour §8, RFC 3725): the agent's own phone
 * is called first, silently, then the destination. Two flows, chosen per DN by
 * `make-call-rfc3725-flow`:
 * - RFC 3725 Flow I (§4.1, behaviour §8.1): offer-less INVITE to the phone; its offer goes to the
 *   destination; the destination's answer goes back in the phone's ACK — no re-INVITE of the
 *   phone unless the destination is so slow that the phone's ACK had to be sent first (guard,
 *   `rfc3725-flow1-max-wait`);
 * - RFC 3725 Flow IV (§4.4, behaviour §8.2): the phone gets a no-media offer and answers; the
 *   destination gets an offer-less INVITE; its offer reaches the phone by re-INVITE and the
 *   phone's answer goes to the destination in the ACK.
 * A make-call to a routing point takes the Flow IV shape and queues the call there.
 */
import { isAgentDnType } from '../../config/config-model.js';
import { blackHoleSdp, isSdp, noMediaOffer } from '../../media/sdp.js';
import type { Deliverable } from '../../reachability/reachability-types.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { CallControlError } from '../call-control.js';
import type { EventOrigin, UserData } from '../events.js';
import { failureStatus, type B2bua, type DialResult } from './b2bua.js';
import { CallState, type Call } from './call.js';
import type { CallEvents } from './call-events.js';
import type { CallLeg } from './call-leg.js';
import type { CallLookup } from './call-lookup.js';
import { flow1MaxWaitMs, ringTimeoutOf, usesMakeCallFlow1 } from './call-options.js';
import type { CallDirectory, CallReachability, CallRouter, CallRouterRef } from './call-ports.js';
import {
  rejectAllAnswerOr,
  type AckWithAnswer,
  type Destination,
  type ThirdPartyControl,
} from './third-party-control.js';

/** Construction options of {@link MakeCallFlows}. */
export interface MakeCallFlowsOptions {
  calls: B2bua;
  events: CallEvents;
  lookup: CallLookup;
  thirdParty: ThirdPartyControl;
  directory: CallDirectory;
  reachability: Pick<CallReachability, 'candidates'>;
  /** The routing-point router; unbound, a make-call to a routing point is treated as to a number. */
  router: CallRouterRef;
  clock: Clock;
  logger: Logger;
}

/** What both make-call flows (RFC 3725 Flow I and Flow IV) start from. */
interface MakeCallSetup {
  call: Call;
  /** The DN of the agent placing the call (the origin leg rings its phone). */
  thisDN: string;
  otherNumber: string;
  originTargets: Deliverable[];
  dest: Destination;
  origin: EventOrigin;
}

/** The make-call flows. */
export class MakeCallFlows {
  constructor(private readonly opts: MakeCallFlowsOptions) {}

  /**
   * `RequestMakeCall` (behaviour §8): INVITE the origin phone first, then the destination.
   * Resolves when the origin phone answered (EventDialing published); rejects when it did not.
   */
  async makeCall(thisDN: string, otherDN: string, origin: EventOrigin, userData?: UserData): Promise<void> {
    const { calls, directory, lookup } = this.opts;
    const self = directory.getDn(thisDN);
    if (!self || !isAgentDnType(self.type)) throw new CallControlError('invalid-state', `${thisDN} is not an agent DN`);
    const originTargets = this.opts.reachability.candidates(self.number);
    if (originTargets.length === 0) throw new CallControlError('failed', `${self.number} is unreachable`);
    // Single dialog (behaviour §6): a device already on a call cannot get a second INVITE.
    if (calls.singleDialogBusy(self.number))
      throw new CallControlError('failed', `${self.number} is on a call (single dialog)`);
    const otherNumber = lookup.dnNumber(otherDN);
    const target = directory.getDn(otherNumber);
    const router = this.opts.router.current;
    if (target?.type === 'routing-point' && router)
      return this.makeCallToRoutingPoint(router, self.number, target.number, originTargets, origin, userData);
    const dest = lookup.destination(otherNumber);
    if (dest.targets.length === 0) throw new CallControlError('failed', `${otherNumber} is unreachable`);
    if (dest.dn && dest.dn !== self.number && calls.singleDialogBusy(dest.dn))
      throw new CallControlError('failed', `${dest.dn} is busy (single dialog)`);
    const call = calls.newCall(dest.dn ? 'Internal' : 'Outbound', self.number, otherNumber);
    if (userData) Object.assign(call.userData, userData);
    const flow1 = usesMakeCallFlow1(directory, self.number);
    const setup: MakeCallSetup = { call, thisDN: self.number, otherNumber, originTargets, dest, origin };
    return flow1 ? this.makeCallFlow1(setup) : this.makeCallFlow4(setup);
  }

  /**
   * `RequestMakeCall` to a routing point: the agent's phone is called first with a no-media
   * offer (the Flow IV shape, whatever `make-call-rfc3725-flow` says: the destination is not
   * known yet), then the call is queued on the routing point; the agent the router picks is
   * INVITEd without an offer and connected by re-INVITE of the phone (RFC 3725 §4).
   */
  private async makeCallToRoutingPoint(
    router: CallRouter,
    thisDN: string,
    routingPoint: string,
    originTargets: Deliverable[],
    origin: EventOrigin,
    userData?: UserData,
  ): Promise<void> {
    const { calls, events, lookup } = this.opts;
    const call = calls.newCall('Internal', thisDN, routingPoint);
    if (userData) Object.assign(call.userData, userData);
    const { leg: a } = await this.dialOrigin(call, thisDN, originTargets, routingPoint, noMediaOffer());
    call.state = CallState.Established;
    call.routed = true;
    call.routingPoint = routingPoint;
    call.originatorWaiting = true;
    events.emit('EventDialing', call, a, routingPoint, origin);
    calls.detached(call, 'make-call routing', async () => {
      const outcome = await router.route({ callId: call.connId, routingPoint, ani: thisDN, dnis: routingPoint });
      if (call.state === CallState.Released || !a.session?.active) return;
      if (outcome.kind === 'rejected') calls.releaseCall(call, origin);
      else if (outcome.kind === 'default-dn') {
        const n = lookup.dnNumber(outcome.dn);
        const d = lookup.destination(n);
        const r =
          d.targets.length === 0
            ? 'failed'
            : await this.opts.thirdParty.connectEstablishedParty(call, a, {
                dn: d.dn,
                number: n,
                targets: d.targets,
                ringTimeoutMs: ringTimeoutOf(this.opts.directory, d.dn),
                origin,
              });
        if (r !== 'answered') calls.releaseCall(call, origin);
      }
    });
  }

  /** The origin leg failed: no call was reported, so only EventError (behaviour §8.3). */
  private originFailed(call: Call, why: string): never {
    this.opts.calls.releaseCall(call);
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
  ): Promise<{ leg: CallLeg; ack: AckWithAnswer | undefined }> {
    let ack: AckWithAnswer | undefined;
    const ra = await this.opts.calls.dial(call, {
      dn: thisDN,
      address: thisDN,
      targets: originTargets,
      fromUser,
      silent: true,
      offer,
      ringTimeoutMs: ringTimeoutOf(this.opts.directory, thisDN),
      onAnswered: (leg, _s, r, sendAck) => {
        leg.lastSdpReceived = r.body.toString('utf8');
        ack = sendAck;
      },
    });
    if (ra.kind !== 'answered')
      return this.originFailed(
        call,
        ra.kind === 'failed' ? `origin leg: ${failureStatus(ra.failure).status}` : 'origin leg cancelled',
      );
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
    this.opts.events.emit('EventDialing', call, a, otherNumber, origin);
    this.opts.calls.detached(call, 'make-call second leg', () =>
      this.flow1SecondLeg(call, a, offerA, ackA, otherNumber, dest, origin),
    );
  }

  private async flow1SecondLeg(
    call: Call,
    a: CallLeg,
    offerA: string,
    ackA: AckWithAnswer | undefined,
    otherNumber: string,
    dest: Destination,
    origin: EventOrigin,
  ): Promise<void> {
    const { calls, clock, logger, directory } = this.opts;
    let acked = false;
    const ackOnce = (answer: string) => {
      if (acked) return;
      acked = true;
      ackA?.(a.adapt(answer) ?? Buffer.alloc(0));
    };
    // Guard: A gives up on its 2xx after 64·T1; ACK it with a black hole before that (behaviour §8.1).
    const guard = clock.setTimeout(
      () => {
        logger.info({ connId: call.connId }, 'Flow I: destination slow, ACKing origin with a black-hole answer');
        ackOnce(safeSdp(() => blackHoleSdp(offerA, true), offerA));
      },
      flow1MaxWaitMs(directory, a.dn),
    );
    const rb = await calls.dial(call, {
      dn: dest.dn,
      address: otherNumber,
      targets: dest.targets,
      offer: offerA.length > 0 ? offerA : undefined,
      fromUser: a.address,
      origin,
      ringTimeoutMs: ringTimeoutOf(directory, dest.dn),
      onAnswered: (legB, _s, r) => {
        legB.lastSdpReceived = r.body.toString('utf8');
      },
    });
    clock.clearTimeout(guard);
    if (a.released) {
      if (rb.kind === 'answered') calls.releaseCall(call, origin);
      return;
    }
    if (rb.kind !== 'answered') {
      // Behaviour §8.1: A is ACKed with a black-hole answer, then BYE (secondLegFailed).
      ackOnce(safeSdp(() => blackHoleSdp(offerA, true), rejectAllAnswerOr(offerA, offerA)));
      this.secondLegFailed(call, a, rb, otherNumber, origin);
      return;
    }
    const legB = rb.leg;
    if (!isSdp(legB.lastSdpReceived)) {
      // A 2xx without the answer to our offer (or without the offer an offer-less INVITE asks
      // for, RFC 3264 §4, RFC 3261 §13.2.1): no media can flow. The phone is ACKed with a black
      // hole and both get BYE, as for a destination that fails (behaviour §8.1).
      ackOnce(safeSdp(() => blackHoleSdp(offerA, true), rejectAllAnswerOr(offerA, offerA)));
      calls.releaseCall(call, origin);
      return;
    }
    if (!acked) {
      ackOnce(legB.lastSdpReceived ?? '');
    } else if (a.session && legB.session) {
      // Guard fired: bring A's media to B now (late-offer re-INVITE, RFC 3725 Flow III shape).
      await this.opts.thirdParty.reconnect(a, legB);
    }
    this.opts.events.established(call, a, legB, origin);
  }

  /**
   * RFC 3725 Flow IV (behaviour §8.2): A gets a no-media offer and answers; B gets an
   * offer-less INVITE; B's offer goes to A by re-INVITE; A's answer goes to B in the ACK.
   */
  private async makeCallFlow4(setup: MakeCallSetup): Promise<void> {
    const { call, thisDN, otherNumber, originTargets, dest, origin } = setup;
    const { calls, events } = this.opts;
    const { leg: a } = await this.dialOrigin(call, thisDN, originTargets, otherNumber, noMediaOffer());
    events.emit('EventDialing', call, a, otherNumber, origin);
    calls.detached(call, 'make-call second leg', async () => {
      const { result: rb, ack: ackB } = await this.opts.thirdParty.dialHoldingAck(
        call,
        dest,
        otherNumber,
        a.address,
        origin,
      );
      if (rb.kind !== 'answered') {
        this.secondLegFailed(call, a, rb, otherNumber, origin);
        return;
      }
      const legB = rb.leg;
      // Gone meanwhile, or a 2xx without the offer RFC 3264 §4 requires: ACK it and end the call.
      if (a.released || !a.session?.active || !isSdp(legB.lastSdpReceived)) {
        ackB?.(Buffer.alloc(0));
        calls.releaseCall(call, origin);
        return;
      }
      const r = await a.session.reinvite(a.adapt(legB.lastSdpReceived ?? ''));
      if (r.status >= 200 && r.status < 300 && r.response) {
        a.lastSdpReceived = r.response.body.toString('utf8');
        ackB?.(legB.adapt(a.lastSdpReceived) ?? Buffer.alloc(0));
        events.established(call, a, legB, origin);
      } else {
        ackB?.(rejectAllAnswerOr(legB.lastSdpReceived ?? '', ''));
        calls.releaseCall(call, origin);
      }
    });
  }

  /** The destination did not answer: EventDestinationBusy on 486/600, then the call ends. */
  private secondLegFailed(
    call: Call,
    a: CallLeg,
    rb: Exclude<DialResult, { kind: 'answered' }>,
    otherNumber: string,
    origin: EventOrigin,
  ): void {
    if (rb.kind === 'failed') {
      const { status } = failureStatus(rb.failure);
      if (status === 486 || status === 600) this.opts.events.emit('EventDestinationBusy', call, a, otherNumber, origin);
    }
    this.opts.calls.releaseCall(call, origin);
  }
}

function safeSdp(f: () => string, fallback: string): string {
  try {
    return f();
  } catch {
    return fallback;
  }
}
