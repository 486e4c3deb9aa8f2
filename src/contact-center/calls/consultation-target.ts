/**
 * The target of a consultation (behaviour §6), dialled without an offer (RFC 3725 §4): its offer
 * reaches the agent's leg by re-INVITE (the agent stops hearing ringback) and the agent's answer
 * goes to the target in the ACK. When the target fails (busy: EventDestinationBusy; no answer;
 * an answer without the offer RFC 3264 §4 requires; the agent's device refusing its offer) the
 * agent's ringback turns to silence until RequestReconnectCall or RequestReleaseCall.
 */
import { isSdp } from '../../media/sdp.js';
import type { EventOrigin } from '../events.js';
import { failureStatus, type B2bua } from './b2bua.js';
import type { Call } from './call.js';
import type { CallEvents } from './call-events.js';
import type { CallLeg } from './call-leg.js';
import type { LegMedia } from './leg-media.js';
import { rejectAllAnswerOr, type Destination, type ThirdPartyControl } from './third-party-control.js';

/** What {@link dialConsultTarget} needs. */
export interface ConsultTargetDeps {
  calls: B2bua;
  events: CallEvents;
  thirdParty: ThirdPartyControl;
  media: LegMedia;
}

/** The consultation whose target is dialled. */
export interface ConsultTarget {
  consult: Call;
  /** The agent's leg in the Consult call. */
  agent: CallLeg;
  dest: Destination;
  number: string;
  origin: EventOrigin;
}

/**
 * Dial the target of `c` and connect it to the agent's leg. `current` tells whether the
 * consultation still goes on when the target answers (else the target is released).
 */
export async function dialConsultTarget(
  deps: ConsultTargetDeps,
  c: ConsultTarget,
  current: () => boolean,
): Promise<void> {
  const { calls, events } = deps;
  const { consult, agent, dest, number, origin } = c;
  const { result: rt, ack: ackT } = await deps.thirdParty.dialHoldingAck(consult, dest, number, agent.address, origin);
  const quiet = () => deps.media.play(agent, { kind: 'silence' });
  if (rt.kind !== 'answered') {
    if (rt.kind === 'failed') {
      const { status } = failureStatus(rt.failure);
      if (status === 486 || status === 600) events.emit('EventDestinationBusy', consult, agent, number, origin);
    }
    await quiet();
    return; // the agent reconnects (RequestReconnectCall)
  }
  const t = rt.leg;
  const offer = t.lastSdpReceived ?? '';
  if (!agent.session?.active || !current()) {
    ackT?.(rejectAllAnswerOr(offer, ''));
    calls.releaseLeg(consult, t);
    return;
  }
  if (!isSdp(offer)) {
    // A 2xx to an offer-less INVITE must carry the offer (RFC 3264 §4, RFC 3261 §13.2.2.4): ACK
    // it and end that dialog.
    ackT?.(Buffer.alloc(0));
    calls.releaseLeg(consult, t, origin);
    await quiet();
    return;
  }
  const ra = await agent.session.reinvite(agent.adapt(offer));
  if (ra.status >= 200 && ra.status < 300 && ra.response) {
    agent.lastSdpReceived = ra.response.body.toString('utf8');
    ackT?.(t.adapt(agent.lastSdpReceived) ?? Buffer.alloc(0));
    calls.closeLegMedia(agent); // ringback ends: the agent talks to the target
    events.established(consult, agent, t, origin);
  } else {
    ackT?.(rejectAllAnswerOr(offer, ''));
    calls.releaseLeg(consult, t, origin);
    await quiet();
  }
}
