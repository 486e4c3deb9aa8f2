/**
 * The router's {@link CallDelivery} port implemented by the B2BUA: rings an agent DN for a call
 * waiting on a routing point and bridges it with the caller when it answers.
 */
import type { CallDelivery, DeliveryOptions, DeliveryOutcome } from '../routing/call-delivery.js';
import type { B2bua } from './b2bua.js';
import { CallState } from './call.js';
import { LegState } from './call-leg.js';
import { connectEstablishedParty } from './connect-established-party.js';

/** Delivers routed calls (behaviour §9, §12.2, RONA by `sip-invite-timeout`). */
export class CallDeliveryService implements CallDelivery {
  constructor(private readonly b2bua: B2bua) {}

  /**
   * Ring `dn` for call `callId` (the ConnID). `answered`: the call is established on `dn`;
   * `no-answer`: `options.timeoutMs` passed (CANCEL sent); `busy`: 486/600; `failed`: anything
   * else, including `reject-call-notready` (the phone is never rung) and unreachable DNs.
   */
  async deliver(callId: string, dn: string, options: DeliveryOptions): Promise<DeliveryOutcome> {
    const b = this.b2bua;
    const call = b.getCall(callId);
    if (!call || call.state === CallState.Released) return 'failed';
    if (b.policy?.rejectsCall(dn)) {
      b.logger.info({ connId: callId, dn }, 'reject-call-notready: routed call not delivered');
      return 'failed';
    }
    const targets = b.reachability.candidates(dn);
    if (targets.length === 0) return 'failed';
    const number = b.directory.getDn(dn)?.number ?? dn;
    if (b.singleDialogBusy(number)) return 'busy';
    // A call transferred to a routing point: its remaining party is already connected.
    const live = call.liveLegs;
    if (live.length === 1 && live[0]!.state === LegState.Established && live[0]!.session?.active) {
      return connectEstablishedParty(b, call, live[0]!, { dn: number, number, targets, ringTimeoutMs: options.timeoutMs, routed: true });
    }
    const a = call.legs.find((l) => l.direction === 'in' && l.state !== LegState.Released);
    if (!a?.server) return 'failed';
    const result = await b.connectInbound(call, a, a.server, number, number, targets, options.timeoutMs, true, true);
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
    const b = this.b2bua;
    const number = b.directory.getDn(dn)?.number ?? dn;
    const call = b.getCall(callId);
    if (call?.liveLegs.some((l) => l.dn === number)) return false;
    return !b.singleDialogBusy(number);
  }

  /** Stop ringing `dn` for the call (CANCEL). */
  cancel(callId: string, dn: string): void {
    const call = this.b2bua.getCall(callId);
    if (!call) return;
    const leg = call.legs.find((l) => l.dn === dn && l.direction === 'out' && l.state !== LegState.Established && l.state !== LegState.Released);
    if (leg) this.b2bua.cancelDial(leg);
  }
}
