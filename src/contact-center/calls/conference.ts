/**
 * Three-party conferences on the media server's mixer (behaviour §6, §11.1):
 * `RequestInitiateConference` is a consultation exactly like `RequestInitiateTransfer`;
 * `RequestCompleteConference` takes it over (`Consultations.take`; with two dialogs the agent's
 * consultation dialog ends) and re-INVITEs the held party, the agent and the consulted party, each
 * to its own {@link MediaEndpoint} joined to one {@link MediaMixer} (RFC 3725 §4 style: offer-less
 * re-INVITE, the party's offer answered by its endpoint in the ACK, RFC 3264 §4), all three in the
 * main call. `RequestDeleteFromConference` (or `RequestReleaseCall` by a member, or a member
 * hanging up) removes one party: EventPartyDeleted to the others; with two parties left they are
 * connected directly again (re-INVITEs) and the mixer and endpoints are closed. A member's own
 * re-INVITE or UPDATE (its hold, a refresh) is answered by its endpoint. Without a media
 * server the requests are refused (`not-supported`). No endpoint or mixer outlives its call.
 */
import {
  MediaNegotiationError,
  type MediaEndpoint,
  type MediaMixer,
  type MediaServer,
} from '../../media/media-server.js';
import type { Logger } from '../../util/logger.js';
import { runDetached } from '../../util/detached.js';
import { CallControlError } from '../call-control.js';
import type { EventOrigin, UserData } from '../events.js';
import type { B2bua } from './b2bua.js';
import { CallState, type Call } from './call.js';
import type { CallEvents } from './call-events.js';
import { LegState, type CallLeg } from './call-leg.js';
import type { CallLookup } from './call-lookup.js';
import type { ConsultationView, Consultations } from './consultation.js';
import { rejectAllAnswerOr, type ThirdPartyControl } from './third-party-control.js';

/** Construction options of {@link Conferences}. */
export interface ConferencesOptions {
  calls: B2bua;
  events: CallEvents;
  lookup: CallLookup;
  thirdParty: ThirdPartyControl;
  consultations: Consultations;
  logger: Logger;
}

/** One party on the bridge. */
interface Member {
  readonly leg: CallLeg;
  readonly endpoint: MediaEndpoint;
}

/** A conference: the main call, its mixer and one endpoint per party. */
interface Conference {
  readonly call: Call;
  mixer: MediaMixer | undefined;
  readonly members: Member[];
  /** The parties are being re-INVITEd to the bridge: departures are only recorded. */
  joining: boolean;
  /** Ended (collapsed to two parties, or the call is gone): nothing more to do. */
  ended: boolean;
}

/** The conferences in progress and the requests acting on them. */
/** The media server, if it can mix; else `not-supported` (none, or rtpengine: docs/media.md). */
function mixingMedia(media: MediaServer | undefined): MediaServer {
  if (!media) throw new CallControlError('not-supported', 'conferences need a media server');
  if (media.canMix === false)
    throw new CallControlError('not-supported', 'conferences need the built-in media server (media-server = builtin)');
  return media;
}

export class Conferences {
  /** By the main call's ConnID. */
  private readonly conferences = new Map<string, Conference>();

  constructor(private readonly opts: ConferencesOptions) {}

  /** Conferences in progress (diagnostics, tests). */
  get active(): number {
    return this.conferences.size;
  }

  /** True when call `connId` is a conference (requests that assume two parties are refused on it). */
  has(connId: string): boolean {
    return this.conferences.has(connId);
  }

  /**
   * `RequestInitiateConference`: the consultation of `RequestInitiateTransfer` (behaviour §6:
   * the other party held, the agent's leg borrowed by a Consult call, the target dialled).
   * Refused without a media server that can mix, and on a call that already is a conference.
   */
  async initiate(
    thisDN: string,
    connId: string,
    otherDN: string,
    origin: EventOrigin,
    userData?: UserData,
  ): Promise<void> {
    mixingMedia(this.opts.calls.media);
    if (this.conferences.has(connId)) throw new CallControlError('invalid-state', 'the call already is a conference');
    await this.opts.consultations.initiate(thisDN, connId, otherDN, origin, userData);
  }

  /**
   * `RequestCompleteConference`: the answered consultation ends (EventReleased on the Consult
   * call for the agent), its target joins the main call, and the three parties are re-INVITEd
   * to their endpoints on one mixer. Then EventPartyChanged for a DN target (its ConnID
   * changed) and EventPartyAdded (otherDN = the target) for every other DN party. If a live
   * party refuses its re-INVITE, the whole call is released and the request fails.
   */
  async complete(thisDN: string, connId: string, transferConnId: string, origin: EventOrigin): Promise<void> {
    const { calls, events } = this.opts;
    const media = mixingMedia(calls.media);
    const { main, consult, agent, consultAgent, far, target } = this.answeredConsultation(
      thisDN,
      connId,
      transferConnId,
    );
    this.opts.consultations.take(main.connId);
    if (consultAgent === agent) {
      // Single dialog: the agent's one leg comes back from the Consult call.
      events.emit('EventReleased', consult, agent, target.address, origin, { transferConnId: main.connId });
      calls.moveLeg(agent, consult, main);
    } else {
      // Two dialogs: the consultation dialog ends, the agent joins on the main call's dialog.
      calls.releaseLeg(consult, consultAgent, origin, { transferConnId: main.connId });
    }
    calls.moveLeg(target, consult, main);
    calls.dropIfEmpty(consult);
    const conf: Conference = { call: main, mixer: undefined, members: [], joining: true, ended: false };
    this.conferences.set(main.connId, conf);
    main.onPartyLeft = (leg) => this.partyLeft(conf, leg);
    main.onFinished = () => this.end(conf);
    main.endpointOf = (leg) => conf.members.find((m) => m.leg === leg)?.endpoint;
    let joined: boolean;
    try {
      const mixer = await media.createMixer();
      conf.mixer = mixer;
      if (conf.ended) runDetached(this.opts.logger, 'conference mixer close', () => mixer.close());
      const results = await Promise.all([far, agent, target].map((leg) => this.join(conf, mixer, leg)));
      joined = results.every((ok, i) => ok || [far, agent, target][i]!.released);
    } catch (err) {
      this.opts.logger.warn({ err, connId: main.connId }, 'conference: media failed');
      joined = false;
    }
    conf.joining = false;
    if (!joined || conf.ended) {
      calls.releaseCall(main, origin);
      throw new CallControlError('failed', 'could not bring the parties to the conference');
    }
    far.held = false;
    agent.held = false;
    main.state = CallState.Established;
    if (target.dn && !target.released)
      events.emit('EventPartyChanged', main, target, agent.address, origin, { transferConnId: consult.connId });
    for (const leg of main.liveLegs)
      if (leg !== target && leg.dn) events.emit('EventPartyAdded', main, leg, target.address, origin);
    await this.collapseIfTwo(conf, origin);
  }

  /** The consultation `thisDN` started from call `connId` (or `transferConnId`), its target answered, the held party there. */
  private answeredConsultation(
    thisDN: string,
    connId: string,
    transferConnId: string,
  ): ConsultationView & { target: CallLeg } {
    const c = this.opts.consultations.consultationOf(connId) ?? this.opts.consultations.consultationOf(transferConnId);
    if (!c) {
      // A call that has ended is `unknown-conn-id`; a live one without a consultation `invalid-state`.
      this.opts.lookup.legOf(thisDN, connId);
      throw new CallControlError('invalid-state', `no consultation for call ${connId}`);
    }
    if (c.agent.dn !== this.opts.lookup.dnNumber(thisDN))
      throw new CallControlError('invalid-state', `${thisDN} is not consulting`);
    const target = c.target;
    if (!target || target.state !== LegState.Established)
      throw new CallControlError('invalid-state', 'the consultation is not established');
    if (!c.far.session?.active) throw new CallControlError('invalid-state', 'the held party is gone');
    return { ...c, target };
  }

  /**
   * Re-INVITE `leg` without an offer, answer its offer from a new endpoint of the bridge
   * (RFC 3264 §4, the answer in the ACK) and join that endpoint to the mixer.
   * @returns false when the leg refused or its offer could not be negotiated
   */
  private async join(conf: Conference, mixer: MediaMixer, leg: CallLeg): Promise<boolean> {
    if (!leg.session?.active) return false;
    const endpoint = await this.opts.calls.media!.createEndpoint(`conference ${conf.call.connId} ${leg.address}`);
    conf.members.push({ leg, endpoint });
    if (conf.ended || leg.released) {
      this.drop(conf, leg);
      return false;
    }
    const r = await leg.session.reinvite(undefined);
    if (!(r.status >= 200 && r.status < 300) || !r.response) return false;
    const offer = r.response.body.toString('utf8');
    leg.lastSdpReceived = offer;
    this.opts.calls.closeLegMedia(leg); // its music, ringback or silence endpoint
    let answer: string;
    try {
      answer = await endpoint.answer(offer);
    } catch (err) {
      if (!(err instanceof MediaNegotiationError)) throw err;
      r.ack?.(rejectAllAnswerOr(offer, ''));
      return false;
    }
    r.ack?.(leg.adapt(answer) ?? Buffer.alloc(0));
    if (conf.ended || leg.released) return false;
    await mixer.join(endpoint);
    return true;
  }

  /**
   * `RequestDeleteFromConference` (behaviour §11.1): the party `otherDN` (a DN or the number of
   * an external party) leaves the conference `connId` of `thisDN` — released like any leg (BYE;
   * a nailed-up agent's leg is parked by the call core), EventPartyDeleted to the others.
   */
  async deleteParty(thisDN: string, connId: string, otherDN: string, origin: EventOrigin): Promise<void> {
    const { call } = this.opts.lookup.legOf(thisDN, connId);
    const conf = this.conferences.get(call.connId);
    if (!conf || conf.joining) throw new CallControlError('invalid-state', `call ${connId} is not a conference`);
    const number = this.opts.lookup.dnNumber(otherDN);
    const leg = call.liveLegs.find((l) => l.dn === number || l.address === number);
    if (!leg) throw new CallControlError('invalid-state', `${otherDN} is not in the conference`);
    await this.remove(conf, leg, origin);
  }

  /**
   * `RequestReleaseCall` by a member of a conference: only that member leaves (as with
   * {@link deleteParty}). @returns false when `call` is no conference (release it as usual)
   */
  async release(call: Call, leg: CallLeg, origin: EventOrigin): Promise<boolean> {
    const conf = this.conferences.get(call.connId);
    if (!conf || conf.joining) return false;
    await this.remove(conf, leg, origin);
    return true;
  }

  private async remove(conf: Conference, leg: CallLeg, origin: EventOrigin): Promise<void> {
    this.opts.calls.releaseLeg(conf.call, leg, origin);
    await this.departed(conf, leg, origin);
  }

  /** A member hung up (its EventReleased is out): the others hear of it, two left are reconnected. */
  private partyLeft(conf: Conference, leg: CallLeg): boolean {
    if (conf.joining) {
      // The bridge is being set up: complete() reconnects the two left once it is done.
      this.drop(conf, leg);
      this.announce(conf, leg);
    } else this.opts.calls.detached(conf.call, 'conference party left', () => this.departed(conf, leg));
    return true;
  }

  /**
   * `leg` left: its endpoint closes, two parties left are reconnected, then the remaining DN
   * parties get EventPartyDeleted — after the reconnection, so that a desktop acting on the event
   * (a release, a new consultation) finds a settled two-party call.
   */
  private async departed(conf: Conference, leg: CallLeg, origin?: EventOrigin): Promise<void> {
    this.drop(conf, leg);
    await this.collapseIfTwo(conf, origin);
    this.announce(conf, leg, origin);
  }

  /** EventPartyDeleted (otherDN = the party gone) to every remaining DN party. */
  private announce(conf: Conference, leg: CallLeg, origin?: EventOrigin): void {
    for (const other of conf.call.liveLegs)
      if (other.dn) this.opts.events.emit('EventPartyDeleted', conf.call, other, leg.address, origin);
  }

  /**
   * Fewer than three parties left: the bridge goes (mixer and endpoints closed); two parties are
   * connected directly again (offer-less re-INVITE to one, its offer to the other, RFC 3725 §4);
   * one party alone, or a refused reconnection, releases the call.
   */
  private async collapseIfTwo(conf: Conference, origin?: EventOrigin): Promise<void> {
    const live = conf.call.liveLegs;
    if (conf.ended || live.length >= 3) return;
    conf.call.onPartyLeft = undefined;
    conf.call.endpointOf = undefined;
    this.end(conf);
    const [x, y] = live;
    if (!x || !y || !(await this.opts.thirdParty.reconnect(x, y))) this.opts.calls.releaseCall(conf.call, origin);
  }

  /** Close one member's endpoint (it leaves the mixer first). */
  private drop(conf: Conference, leg: CallLeg): void {
    const i = conf.members.findIndex((m) => m.leg === leg);
    if (i < 0) return;
    const [m] = conf.members.splice(i, 1);
    const mixer = conf.mixer;
    runDetached(this.opts.logger, 'conference endpoint close', async () => {
      await mixer?.leave(m!.endpoint).catch(() => undefined);
      await m!.endpoint.close();
    });
  }

  /** Forget the conference and free its media: mixer first, then every endpoint. */
  private end(conf: Conference): void {
    if (conf.ended) return;
    conf.ended = true;
    if (this.conferences.get(conf.call.connId) === conf) this.conferences.delete(conf.call.connId);
    const mixer = conf.mixer;
    const endpoints = conf.members.splice(0).map((m) => m.endpoint);
    runDetached(this.opts.logger, 'conference close', async () => {
      await mixer?.close();
      await Promise.all(endpoints.map((e) => e.close()));
    });
  }
}
