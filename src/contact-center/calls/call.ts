/**
 * The call model: a ConnID, parties (legs) and the T-Library attributes reported with every
 * call event (interfaces §4).
 */
import type { MediaEndpoint } from '../../media/media-server.js';
import type { CallType, UserData } from '../events.js';
import { CallLeg, LegState } from './call-leg.js';

/** Life of a call. */
export enum CallState {
  Setup = 'Setup',
  Established = 'Established',
  Released = 'Released',
}

/** A call handled by the B2BUA. */
export class Call {
  state = CallState.Setup;
  readonly legs: CallLeg[] = [];
  userData: Record<string, string | number> = {};
  /** The call came through a routing point (an ACD call: makes the agent Busy, behaviour §12.2). */
  routed = false;
  routingPoint: string | undefined;
  /**
   * The remaining party placed this call and waits for its destination (RequestMakeCall to a
   * routing point): the answer is reported as EventEstablished on both parties.
   */
  originatorWaiting = false;
  /**
   * Set while a consultation borrows a leg of this call (behaviour §6): what a party hanging up
   * does instead of the release of the whole call; returns true when it took care of the rest.
   */
  onPartyLeft: ((leg: CallLeg) => boolean) | undefined;
  /**
   * Set while some legs of this call talk to our own media endpoints rather than to each other
   * (a conference): the endpoint of `leg`, which then answers the offers its device sends
   * (re-INVITE, UPDATE) instead of them being relayed to another party.
   */
  endpointOf: ((leg: CallLeg) => MediaEndpoint | undefined) | undefined;
  /**
   * Called once when the call is forgotten (every leg released): frees what a flow holds for it
   * outside the call, e.g. a conference's media endpoints and mixer.
   */
  onFinished: (() => void) | undefined;
  /** Max-Forwards for the INVITEs this call sends: the caller's value minus one (RFC 3261 §16.6 step 3 by analogy). */
  maxForwards = 70;
  readonly createdAt: number;

  constructor(
    readonly connId: string,
    public callType: CallType,
    readonly ani: string | undefined,
    readonly dnis: string | undefined,
    now: number,
  ) {
    this.createdAt = now;
  }

  add(leg: CallLeg): CallLeg {
    this.legs.push(leg);
    return leg;
  }

  remove(leg: CallLeg): void {
    const i = this.legs.indexOf(leg);
    if (i >= 0) this.legs.splice(i, 1);
  }

  /** Live legs other than `leg`. */
  others(leg: CallLeg): CallLeg[] {
    return this.legs.filter((l) => l !== leg && l.state !== LegState.Released);
  }

  /** The one other live leg (two-party calls). */
  other(leg: CallLeg): CallLeg | undefined {
    return this.others(leg)[0];
  }

  /** The live leg of a DN. */
  legOfDn(dn: string): CallLeg | undefined {
    return this.legs.find((l) => l.dn === dn && l.state !== LegState.Released);
  }

  /** Legs still alive. */
  get liveLegs(): CallLeg[] {
    return this.legs.filter((l) => l.state !== LegState.Released);
  }

  /** Snapshot of the user data for events. */
  get userDataView(): UserData {
    return { ...this.userData };
  }
}

export { CallLeg, LegState };
