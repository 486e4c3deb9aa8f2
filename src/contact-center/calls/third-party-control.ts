/**
 * Third-party call control primitives (RFC 3725) the CTI flows and routed deliveries share:
 * dial a party without an offer and hold its ACK back until the answer exists (RFC 3725 §4,
 * RFC 3264 §4 late offer); connect a party already in a call to a new destination; connect two
 * established legs afresh by re-INVITEs. A refused offer is answered with every stream rejected
 * (port 0, RFC 3264 §6) so that the ACK still carries an answer.
 */
import { isSdp, rejectAllAnswer } from '../../media/sdp.js';
import type { Deliverable } from '../../reachability/reachability-types.js';
import type { EventOrigin } from '../events.js';
import type { B2bua, DialResult } from './b2bua.js';
import { CallState, type Call } from './call.js';
import type { CallEvents } from './call-events.js';
import type { CallLeg } from './call-leg.js';
import { ringTimeoutOf } from './call-options.js';
import type { CallDirectory } from './call-ports.js';

/** How {@link ThirdPartyControl.connectEstablishedParty} ended (the delivery outcomes of the router). */
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

/** A destination: its agent DN (undefined for a number that is none) and its routes. */
export interface Destination {
  dn: string | undefined;
  targets: Deliverable[];
}

/** Sends the ACK of an offer-less INVITE's 2xx, with the answer (RFC 3264 §4). */
export type AckWithAnswer = (answer: string | Buffer) => void;

/** The answer refusing every stream of `offer`, or `fallback` when `offer` is no usable SDP. */
export function rejectAllAnswerOr(offer: string, fallback: string): string {
  try {
    return rejectAllAnswer(offer);
  } catch {
    return fallback;
  }
}

/** RFC 3725 building blocks over the call core. */
export class ThirdPartyControl {
  constructor(
    private readonly calls: B2bua,
    private readonly events: CallEvents,
    private readonly directory: Pick<CallDirectory, 'effectiveOption'>,
  ) {}

  /**
   * INVITE `number` without an offer for `call` (RFC 3725: its 200 carries the offer) and hold
   * back the ACK: the caller sends it with the answer once the other party has produced one.
   */
  async dialHoldingAck(
    call: Call,
    dest: Destination,
    number: string,
    fromUser: string,
    origin: EventOrigin | undefined,
  ): Promise<{ result: DialResult; ack: AckWithAnswer | undefined }> {
    let ack: AckWithAnswer | undefined;
    const result = await this.calls.dial(call, {
      dn: dest.dn,
      address: number,
      targets: dest.targets,
      fromUser,
      origin,
      ringTimeoutMs: ringTimeoutOf(this.directory, dest.dn),
      onAnswered: (leg, _s, r, sendAck) => {
        leg.lastSdpReceived = r.body.toString('utf8');
        ack = sendAck;
      },
    });
    return { result, ack };
  }

  /**
   * Ring `to` for `call` and, when it answers, connect it with `party` (re-INVITE with the
   * destination's offer, RFC 3264 §8; the answer goes back in the ACK). A `Consult` call (or one
   * with {@link Call.originatorWaiting}) reports
   * EventEstablished on both parties; otherwise the destination gets EventEstablished and a DN
   * `party` EventPartyChanged. On `no-answer`/`busy`/
   * `failed` before the answer the call and `party` are left as they were (the caller decides),
   * and so they are when `to` answers without the offer RFC 3264 §4 requires (`failed`: `to` is
   * ACKed and released); if `party` is gone or refuses the re-INVITE after the answer, the whole
   * call is released.
   */
  async connectEstablishedParty(call: Call, party: CallLeg, to: ConnectTarget): Promise<ConnectOutcome> {
    let ack: AckWithAnswer | undefined;
    const rt = await this.calls.dial(call, {
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
    // No usable offer: an empty ACK.
    const refuse = (): void => ack?.(rejectAllAnswerOr(t.lastSdpReceived ?? '', ''));
    if (!isSdp(t.lastSdpReceived) && party.session?.active) {
      // A 2xx without the offer RFC 3264 §4 requires: ACK it, end that leg, leave `party` as it
      // was (the caller decides, as for a failure before the answer).
      ack?.(Buffer.alloc(0));
      this.calls.releaseLeg(call, t, to.origin);
      return 'failed';
    }
    if (!party.session?.active) {
      refuse();
      this.calls.releaseCall(call);
      return 'failed';
    }
    const rf = await party.session.reinvite(party.adapt(t.lastSdpReceived ?? ''));
    if (!(rf.status >= 200 && rf.status < 300 && rf.response)) {
      refuse();
      this.calls.releaseCall(call);
      return 'failed';
    }
    party.lastSdpReceived = rf.response.body.toString('utf8');
    ack?.(t.adapt(party.lastSdpReceived) ?? Buffer.alloc(0));
    this.calls.closeLegMedia(party); // its ringback or music ends: it talks to `t` now
    if (call.callType === 'Consult' || call.originatorWaiting) {
      // A consultation (behaviour §6) or a make-call: the caller and the target are now talking.
      this.events.established(call, party, t, to.origin);
      return 'answered';
    }
    call.state = CallState.Established;
    this.events.emit('EventEstablished', call, t, party.address, to.origin);
    if (party.dn) this.events.emit('EventPartyChanged', call, party, to.number);
    return 'answered';
  }

  /**
   * Connect two established legs afresh (RFC 3725 §4 style): offer-less re-INVITE to `x`, its
   * offer to `y` by re-INVITE, `y`'s answer in the ACK to `x`; the media endpoints either was
   * connected to are closed.
   * @returns false when either leg is gone or refuses (then `x` is ACKed with a refusal)
   */
  async reconnect(x: CallLeg, y: CallLeg): Promise<boolean> {
    if (!x.session?.active || !y.session?.active) return false;
    const rx = await x.session.reinvite(undefined);
    if (!(rx.status >= 200 && rx.status < 300) || !rx.response) return false;
    x.lastSdpReceived = rx.response.body.toString('utf8');
    const ry = await y.session.reinvite(y.adapt(x.lastSdpReceived));
    if (!(ry.status >= 200 && ry.status < 300) || !ry.response) {
      rx.ack?.(rejectAllAnswerOr(x.lastSdpReceived ?? '', ''));
      return false;
    }
    y.lastSdpReceived = ry.response.body.toString('utf8');
    rx.ack?.(x.adapt(y.lastSdpReceived) ?? Buffer.alloc(0));
    // They talk to each other now: the endpoints they were connected to (music, ringback) close.
    this.calls.closeLegMedia(x);
    this.calls.closeLegMedia(y);
    return true;
  }
}
