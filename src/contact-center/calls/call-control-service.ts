/**
 * The CTI gateway's {@link CallControl} port (interfaces §4) over the B2BUA: each request goes to
 * its flow — make-call (RFC 3725 Flow I or IV, `make-call.ts`), consultation, alternate and
 * transfer (`consultation.ts`), hold/retrieve with music (`hold-control.ts`, behaviour §6),
 * conferences (`conference.ts`), answer (`answer-call.ts`) — or is handled here: release,
 * single-step transfer by re-INVITEs (behaviour §9: never REFER) and
 * attached data. Every step is published as a call event carrying the requester's `origin`.
 */
import { CallControlError, type CallControl, type CallControlRequest, type DnCallSnapshot } from '../call-control.js';
import type { EventOrigin, UserData } from '../events.js';
import type { B2bua } from './b2bua.js';
import { CallState, type Call } from './call.js';
import type { CallEvents } from './call-events.js';
import { LegState } from './call-leg.js';
import type { CallLookup } from './call-lookup.js';
import { ringTimeoutOf } from './call-options.js';
import type { SharedCalls } from './shared-calls.js';
import type { CallAgentPolicy, CallDirectory, CallRouterRef } from './call-ports.js';
import type { AnswerCall } from './answer-call.js';
import type { Conferences } from './conference.js';
import type { Consultations } from './consultation.js';
import type { HoldControl } from './hold-control.js';
import type { MakeCallFlows } from './make-call.js';
import type { ThirdPartyControl } from './third-party-control.js';

/** Construction options of {@link CallControlService}. */
export interface CallControlServiceOptions {
  calls: B2bua;
  events: CallEvents;
  lookup: CallLookup;
  thirdParty: ThirdPartyControl;
  makeCalls: MakeCallFlows;
  consultations: Consultations;
  conferences: Conferences;
  answers: AnswerCall;
  holds: HoldControl;
  directory: CallDirectory;
  /** The routing-point router; unbound, a transfer to a routing point is refused. */
  router: CallRouterRef;
  /** Agent policy (`reject-call-notready`) for transfer targets; without it nothing is rejected. */
  policy?: CallAgentPolicy;
  /** Calls of a dead node taken over here: their DNs are on a call too (docs/cluster.md). */
  shared?: SharedCalls;
}

/** Requests that act on the one other party of a two-party call: refused on a conference. */
const TWO_PARTY_REQUESTS: ReadonlySet<string> = new Set([
  'RequestHoldCall',
  'RequestRetrieveCall',
  'RequestSingleStepTransfer',
  'RequestInitiateTransfer',
  'RequestInitiateConference',
]);

/** Call control requests of the CTI protocol (interfaces §4). */
export class CallControlService implements CallControl {
  constructor(private readonly opts: CallControlServiceOptions) {}

  hasCalls(dn: string): boolean {
    const number = this.opts.lookup.dnNumber(dn);
    for (const call of this.opts.calls.allCalls())
      if (call.state !== CallState.Released && call.legOfDn(number)) return true;
    return this.opts.shared?.hasOrphanOn(number) ?? false;
  }

  callsOnDn(dn: string): DnCallSnapshot[] {
    const number = this.opts.lookup.dnNumber(dn);
    const out: DnCallSnapshot[] = [];
    for (const call of this.opts.calls.allCalls()) {
      if (call.state === CallState.Released) continue;
      const leg = call.legOfDn(number);
      if (!leg) continue;
      const state =
        leg.state === LegState.Established
          ? leg.held
            ? 'Held'
            : 'Established'
          : leg.direction === 'out'
            ? 'Ringing'
            : 'Dialing';
      out.push({
        connId: call.connId,
        state,
        callType: call.callType,
        otherDN: call.other(leg)?.address ?? '',
        ani: call.ani ?? '',
        dnis: call.dnis ?? '',
        userData: call.userDataView,
        inStateMs: Math.max(0, Math.round(performance.now() - leg.changedAt)),
      });
    }
    return out;
  }

  async handle(request: CallControlRequest, origin: EventOrigin): Promise<void> {
    if (TWO_PARTY_REQUESTS.has(request.request) && 'connId' in request && this.opts.conferences.has(request.connId))
      throw new CallControlError('invalid-state', `${request.request} is not possible on a conference`);
    switch (request.request) {
      case 'RequestMakeCall':
        return this.opts.makeCalls.makeCall(request.thisDN, request.otherDN, origin, request.userData);
      case 'RequestReleaseCall': {
        if (await this.opts.consultations.release(request.thisDN, request.connId, origin)) return;
        const { call, leg } = this.opts.lookup.legOf(request.thisDN, request.connId);
        // A member of a conference leaves it; the others stay (behaviour §11.1).
        if (await this.opts.conferences.release(call, leg, origin)) return;
        this.opts.calls.releaseCall(call, origin);
        return;
      }
      case 'RequestHoldCall': {
        const { call, leg } = this.opts.lookup.legOf(request.thisDN, request.connId);
        return this.opts.holds.hold(call, leg, origin);
      }
      case 'RequestRetrieveCall': {
        const { call, leg } = this.opts.lookup.legOf(request.thisDN, request.connId);
        return this.opts.holds.retrieve(call, leg, origin);
      }
      case 'RequestSingleStepTransfer':
        return this.singleStepTransfer(request.thisDN, request.connId, request.otherDN, origin);
      case 'RequestAttachUserData': {
        const { call } = this.opts.lookup.legOf(request.thisDN, request.connId);
        this.attach(call, request.userData, origin);
        return;
      }
      case 'RequestInitiateTransfer':
        return this.opts.consultations.initiate(
          request.thisDN,
          request.connId,
          request.otherDN,
          origin,
          request.userData,
        );
      case 'RequestCompleteTransfer':
        return this.opts.consultations.complete(request.thisDN, request.connId, request.transferConnId, origin);
      case 'RequestReconnectCall':
        return this.opts.consultations.reconnect(request.thisDN, request.connId, origin, request.transferConnId);
      case 'RequestAlternateCall':
        return this.opts.consultations.alternate(request.thisDN, request.connId, origin, request.transferConnId);
      case 'RequestAnswerCall':
        return this.opts.answers.answer(request.thisDN, request.connId);
      case 'RequestInitiateConference':
        return this.opts.conferences.initiate(
          request.thisDN,
          request.connId,
          request.otherDN,
          origin,
          request.userData,
        );
      case 'RequestCompleteConference':
        return this.opts.conferences.complete(request.thisDN, request.connId, request.transferConnId, origin);
      case 'RequestDeleteFromConference':
        return this.opts.conferences.deleteParty(request.thisDN, request.connId, request.otherDN, origin);
      default: {
        const unknown: { request: string } = request;
        throw new CallControlError('not-supported', `${unknown.request} is not supported yet`);
      }
    }
  }

  private attach(call: Call, data: UserData, origin?: EventOrigin): void {
    Object.assign(call.userData, data);
    for (const leg of call.liveLegs) this.opts.events.emit('EventAttachedDataChanged', call, leg, undefined, origin);
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
  private async singleStepTransfer(
    thisDN: string,
    connId: string,
    otherDN: string,
    origin: EventOrigin,
  ): Promise<void> {
    const { calls, lookup, directory, thirdParty } = this.opts;
    const { call, leg } = lookup.legOf(thisDN, connId);
    const far = call.other(leg);
    if (!far?.session?.active || far.state !== LegState.Established)
      throw new CallControlError('invalid-state', 'call is not established');
    const number = lookup.dnNumber(otherDN);
    const target = directory.getDn(number);
    if (target?.type === 'routing-point') {
      const router = this.opts.router.current;
      if (!router) throw new CallControlError('not-supported', 'no router for routing points');
      calls.releaseLeg(call, leg, origin);
      call.routed = true;
      call.routingPoint = target.number;
      calls.detached(call, 'transfer routing', async () => {
        const outcome = await router.route({
          callId: call.connId,
          routingPoint: target.number,
          ani: call.ani,
          dnis: call.dnis,
        });
        if (call.state === CallState.Released || !far.session?.active) return;
        if (outcome.kind === 'rejected') calls.releaseCall(call);
        else if (outcome.kind === 'default-dn') {
          const dest = lookup.destination(lookup.dnNumber(outcome.dn));
          const r =
            dest.targets.length === 0
              ? 'failed'
              : await thirdParty.connectEstablishedParty(call, far, {
                  dn: dest.dn,
                  number: lookup.dnNumber(outcome.dn),
                  targets: dest.targets,
                  ringTimeoutMs: ringTimeoutOf(directory, dest.dn),
                });
          if (r !== 'answered') calls.releaseCall(call);
        }
      });
      return;
    }
    const dest = lookup.destination(number);
    if (dest.dn && this.opts.policy?.rejectsCall(dest.dn))
      throw new CallControlError('failed', `${dest.dn} does not take calls now (reject-call-notready)`);
    if (dest.dn && calls.singleDialogBusy(dest.dn))
      throw new CallControlError('failed', `${dest.dn} is busy (single dialog)`);
    if (dest.targets.length === 0) throw new CallControlError('failed', `${number} is unreachable`);
    calls.releaseLeg(call, leg, origin);
    calls.detached(call, 'transfer', async () => {
      const r = await thirdParty.connectEstablishedParty(call, far, {
        dn: dest.dn,
        number,
        targets: dest.targets,
        ringTimeoutMs: ringTimeoutOf(directory, dest.dn),
      });
      if (r !== 'answered') calls.releaseCall(call);
    });
  }
}
