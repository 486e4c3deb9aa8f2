/**
 * The router's {@link CallDelivery} port implemented by call control: rings an agent DN for a call
 * waiting on a routing point and bridges it with the caller when it answers.
 */
import type { Logger } from '../../util/logger.js';
import type { CallDelivery, DeliveryOptions, DeliveryOutcome } from '../routing/call-delivery.js';
import type { B2bua } from './b2bua.js';
import { CallState } from './call.js';
import { LegState } from './call-leg.js';
import type { CallAgentPolicy, CallDirectory, CallReachability } from './call-ports.js';
import type { InboundCalls } from './inbound-calls.js';
import type { ThirdPartyControl } from './third-party-control.js';

/** Construction options of {@link CallDeliveryService}. */
export interface CallDeliveryServiceOptions {
  calls: B2bua;
  inbound: InboundCalls;
  thirdParty: ThirdPartyControl;
  reachability: Pick<CallReachability, 'candidates'>;
  directory: Pick<CallDirectory, 'getDn'>;
  /** Agent policy (`reject-call-notready`); without it nothing is rejected. */
  policy?: CallAgentPolicy;
  logger: Logger;
}

/** Delivers routed calls (behaviour §9, §12.2, RONA by `sip-invite-timeout`). */
export class CallDeliveryService implements CallDelivery {
  constructor(private readonly opts: CallDeliveryServiceOptions) {}

  /**
   * Ring `dn` for call `callId` (the ConnID). `answered`: the call is established on `dn`;
   * `no-answer`: `options.timeoutMs` passed (CANCEL sent); `busy`: 486/600; `failed`: anything
   * else, including `reject-call-notready` (the phone is never rung) and unreachable DNs.
   */
  async deliver(callId: string, dn: string, options: DeliveryOptions): Promise<DeliveryOutcome> {
    const { calls } = this.opts;
    const call = calls.getCall(callId);
    if (!call || call.state === CallState.Released) return 'failed';
    if (this.opts.policy?.rejectsCall(dn)) {
      this.opts.logger.info({ connId: callId, dn }, 'reject-call-notready: routed call not delivered');
      return 'failed';
    }
    const targets = this.opts.reachability.candidates(dn);
    if (targets.length === 0) return 'failed';
    const number = this.opts.directory.getDn(dn)?.number ?? dn;
    if (calls.singleDialogBusy(number)) return 'busy';
    // A call transferred to a routing point: its remaining party is already connected.
    const live = call.liveLegs;
    if (live.length === 1 && live[0]!.state === LegState.Established && live[0]!.session?.active) {
      return this.opts.thirdParty.connectEstablishedParty(call, live[0]!, {
        dn: number,
        number,
        targets,
        ringTimeoutMs: options.timeoutMs,
        routed: true,
      });
    }
    const a = call.legs.find((l) => l.direction === 'in' && l.state !== LegState.Released);
    if (!a?.server) return 'failed';
    const result = await this.opts.inbound.connectInbound(
      call,
      a,
      a.server,
      number,
      number,
      targets,
      options.timeoutMs,
      true,
      true,
    );
    if (result.kind === 'answered') return 'answered';
    if (result.kind === 'cancelled') return 'failed';
    const f = result.failure;
    if (f.kind === 'no-answer') return 'no-answer';
    if (f.kind === 'rejected' && (f.status === 486 || f.status === 600)) return 'busy';
    return 'failed';
  }

  /**
   * May the router offer call `callId` to `dn` now? Not to a party of the call itself (an agent
   * who dialled the routing point, or is consulting it), nor to a single-dialog device that is
   * on another call (behaviour §6).
   */
  canOffer(callId: string, dn: string): boolean {
    const { calls } = this.opts;
    const number = this.opts.directory.getDn(dn)?.number ?? dn;
    const call = calls.getCall(callId);
    if (call?.liveLegs.some((l) => l.dn === number)) return false;
    return !calls.singleDialogBusy(number);
  }

  /** Stop ringing `dn` for the call (CANCEL). */
  cancel(callId: string, dn: string): void {
    const call = this.opts.calls.getCall(callId);
    if (!call) return;
    const leg = call.legs.find(
      (l) => l.dn === dn && l.direction === 'out' && l.state !== LegState.Established && l.state !== LegState.Released,
    );
    if (leg) this.opts.calls.cancelDial(leg);
  }
}
