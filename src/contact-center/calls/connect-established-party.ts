/**
 * Connect a party already in a call (the customer after a transfer) to a new destination by
 * third-party call control (RFC 3725 §4 flow): offer-less INVITE to the destination, its offer
 * to the party by re-INVITE, the party's answer in the ACK to the destination.
 */
import { rejectAllAnswer } from '../../media/sdp.js';
import type { Deliverable } from '../../reachability/reachability-types.js';
import type { EventOrigin } from '../events.js';
import type { B2bua } from './b2bua.js';
import { CallState, type Call } from './call.js';
import type { CallLeg } from './call-leg.js';

/** How {@link connectEstablishedParty} ended (the delivery outcomes of the router). */
export type ConnectOutcome = 'answered' | 'no-answer' | 'busy' | 'failed';

/** Where to connect the party. */
export interface ConnectTarget {
  /** Agent DN of the destination (events are reported on it), or undefined for a number. */
  dn: string | undefined;
  /** The number as the other parties see it. */
  number: string;
  targets: Deliverable[];
  /** Ring time (0 = Timer B). */
  ringTimeoutMs: number;
  /** The destination receives a routed call (agent Busy tracking, behaviour §12.2). */
  routed?: boolean;
  origin?: EventOrigin;
}

/**
 * Ring `to` for `call` and, when it answers, connect it with `party` (re-INVITE with the
 * destination's offer, RFC 3264 §8; the answer goes back in the ACK). A `Consult` call (or one
 * with {@link Call.originatorWaiting}) reports
 * EventEstablished on both parties; otherwise the destination gets EventEstablished and a DN
 * `party` EventPartyChanged. On `no-answer`/`busy`/
 * `failed` before the answer the call and `party` are left as they were (the caller decides);
 * if `party` is gone or refuses the re-INVITE after the answer, the whole call is released.
 */
export async function connectEstablishedParty(b: B2bua, call: Call, party: CallLeg, to: ConnectTarget): Promise<ConnectOutcome> {
  let ack: ((answer: string | Buffer) => void) | undefined;
  const rt = await b.dial(call, {
    dn: to.dn,
    address: to.number,
    targets: to.targets,
    fromUser: party.address,
    ringTimeoutMs: to.ringTimeoutMs,
    routed: to.routed,
    origin: to.origin,
    onAnswered: (leg, _session, response, ackAnswer) => {
      leg.lastSdpReceived = response.body.toString('utf8');
      ack = ackAnswer;
    },
  });
  if (rt.kind === 'cancelled') return 'failed';
  if (rt.kind === 'failed') {
    const f = rt.failure;
    if (f.kind === 'no-answer') return 'no-answer';
    if (f.kind === 'rejected' && (f.status === 486 || f.status === 600)) return 'busy';
    return 'failed';
  }
  const t = rt.leg;
  const refuse = (): void => {
    let answer = '';
    try {
      answer = rejectAllAnswer(t.lastSdpReceived ?? '');
    } catch {
      // no usable offer: an empty ACK
    }
    ack?.(answer);
  };
  if (!party.session?.active) {
    refuse();
    b.releaseCall(call);
    return 'failed';
  }
  const rf = await party.session.reinvite(party.adapt(t.lastSdpReceived ?? ''));
  if (!(rf.status >= 200 && rf.status < 300 && rf.response)) {
    refuse();
    b.releaseCall(call);
    return 'failed';
  }
  party.lastSdpReceived = rf.response.body.toString('utf8');
  ack?.(t.adapt(party.lastSdpReceived) ?? Buffer.alloc(0));
  if (call.callType === 'Consult' || call.originatorWaiting) {
    // A consultation (behaviour §6) or a make-call: the caller and the target are now talking.
    b.established(call, party, t, to.origin);
    return 'answered';
  }
  call.state = CallState.Established;
  b.emit('EventEstablished', call, t, party.address, to.origin);
  if (party.dn) b.emit('EventPartyChanged', call, party, to.number);
  return 'answered';
}
