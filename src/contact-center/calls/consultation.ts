/**
 * Consultation, alternate and transfer (behaviour §6, §9), in the two shapes of the agent's
 * device:
 * - **single dialog** (`dual-dialog-enabled = false`, and every nailed-up leg): the agent's device
 *   never gets a second INVITE dialog. The held party hears music, the agent's leg is borrowed
 *   into the Consult call and re-INVITEd to a ringback endpoint while the target rings, then to
 *   the target once it answers (the target is dialled without an offer, RFC 3725 §4);
 * - **two dialogs** (`dual-dialog-enabled = true`, office phones): the main call is held by
 *   re-INVITE (`sendonly`), the consultation is a new INVITE dialog to the agent's phone
 *   (`consultation-two-dialog.ts`), then to the target.
 * `RequestCompleteTransfer` connects the held party and the target by re-INVITEs and releases
 * the agent's leg(s) (`B2bua.releaseLeg`); `RequestReconnectCall` releases the target and brings
 * the agent back; `RequestAlternateCall` swaps which of the two the agent talks to. While a
 * consultation lasts, a party hanging up does not simply release the rest of its call: see
 * {@link Consultations.onPartyLeft}. Without a media server the held party gets a black hole and
 * the agent hears nothing while the target rings.
 */
import { CallControlError } from '../call-control.js';
import type { EventOrigin, UserData } from '../events.js';
import type { B2bua } from './b2bua.js';
import { CallState, type Call } from './call.js';
import type { CallEvents } from './call-events.js';
import { LegState, type CallLeg } from './call-leg.js';
import type { CallLookup } from './call-lookup.js';
import { ringTimeoutOf } from './call-options.js';
import type { CallDirectory, CallRouterRef } from './call-ports.js';
import { dialConsultTarget } from './consultation-target.js';
import { callAgentDevice } from './consultation-two-dialog.js';
import type { HoldControl } from './hold-control.js';
import type { ThirdPartyControl } from './third-party-control.js';

/** Construction options of {@link Consultations}. */
export interface ConsultationsOptions {
  calls: B2bua;
  events: CallEvents;
  lookup: CallLookup;
  thirdParty: ThirdPartyControl;
  holds: HoldControl;
  directory: CallDirectory;
  /** The routing-point router; unbound, a consultation with a routing point is refused. */
  router: CallRouterRef;
}

/** How the agent's device takes part in a consultation (behaviour §6). */
export type ConsultationMode = 'single-dialog' | 'two-dialog';

/** A consultation in progress (behaviour §6). */
export interface Consultation {
  readonly main: Call;
  readonly consult: Call;
  /** The agent's leg of the main call (single dialog: borrowed into `consult` while it lasts). */
  readonly agent: CallLeg;
  /** The agent's leg in `consult`: `agent` itself (single dialog) or its second dialog (two dialogs). */
  readonly consultAgent: CallLeg;
  /** The party of the main call that waits on hold. */
  readonly far: CallLeg;
  readonly mode: ConsultationMode;
  /** Whom the agent talks to: the target (or its ringback), or the held party after RequestAlternateCall. */
  talkingTo: 'target' | 'far';
}

/** A consultation with its target leg (undefined until dialled, or once gone). */
export type ConsultationView = Consultation & { readonly target: CallLeg | undefined };

const ok = (status: number): boolean => status >= 200 && status < 300;

/** The consultations in progress and the requests acting on them. */
export class Consultations {
  /** Consultations by the ConnID of the consult call and of the main call. */
  private readonly consultations = new Map<string, Consultation>();

  constructor(private readonly opts: ConsultationsOptions) {}

  /** The consultation a call (main or consult, by ConnID) takes part in, with its target. */
  consultationOf(connId: string): ConsultationView | undefined {
    const c = this.consultations.get(connId);
    return c ? { ...c, target: this.targetOf(c) } : undefined;
  }

  /**
   * Take a consultation over (a conference built on it): it is no longer tracked here, its calls
   * get their usual hang-up handling back, and the caller owns its legs from now on.
   */
  take(connId: string): ConsultationView | undefined {
    const c = this.consultations.get(connId);
    if (!c) return undefined;
    const view = { ...c, target: this.targetOf(c) };
    this.end(c);
    return view;
  }

  private targetOf(c: Consultation): CallLeg | undefined {
    return c.consult.other(c.consultAgent);
  }

  /**
   * `RequestInitiateTransfer` (behaviour §6): the other party is held with music, then either
   * (single dialog) the agent's leg moves to a new Consult call and is re-INVITEd to ringback, or
   * (two dialogs) the agent's phone is re-INVITEd `sendonly` and called again for the Consult
   * call. The target is INVITEd without an offer; its offer reaches the agent's leg by re-INVITE
   * and the agent's answer goes to the target in the ACK (RFC 3725 §4). Resolves once the target
   * is being dialled (EventHeld, EventDialing); rejects, with the main call as it was, when the
   * agent's device refuses.
   */
  async initiate(
    thisDN: string,
    connId: string,
    otherDN: string,
    origin: EventOrigin,
    userData?: UserData,
  ): Promise<void> {
    const { calls, events, lookup, directory, holds } = this.opts;
    const { call: main, leg: agent } = lookup.legOf(thisDN, connId);
    if (this.consultations.has(main.connId))
      throw new CallControlError('invalid-state', 'a consultation is already in progress');
    const far = main.other(agent);
    if (!far?.session?.active || far.state !== LegState.Established || !agent.session?.active) {
      throw new CallControlError('invalid-state', 'call is not established');
    }
    const number = lookup.dnNumber(otherDN);
    const routingPoint =
      directory.getDn(number)?.type === 'routing-point' ? directory.getDn(number)!.number : undefined;
    const router = this.opts.router.current;
    if (routingPoint && !router) throw new CallControlError('not-supported', 'no router for routing points');
    const dest = lookup.destination(number);
    if (!routingPoint && dest.targets.length === 0) throw new CallControlError('failed', `${number} is unreachable`);
    if (dest.dn && calls.singleDialogBusy(dest.dn))
      throw new CallControlError('failed', `${dest.dn} is busy (single dialog)`);
    const agentSdp = agent.lastSdpReceived ?? far.lastSdpSent;
    if (!agentSdp) throw new CallControlError('invalid-state', 'no media description to hold');
    const mode: ConsultationMode = holds.singleDialog(agent) ? 'single-dialog' : 'two-dialog';
    const wasHeld = agent.held;
    if (!far.held) await holds.holdParty(far, agentSdp);
    if (mode === 'single-dialog') {
      // The agent hears ringback from our endpoint, not the held party (behaviour §6 step 2).
      const status = await holds.media.connect(agent, { kind: 'ringback' });
      if (status !== 0 && !ok(status)) {
        await holds.undo(main, agent, far);
        throw new CallControlError('failed', `re-INVITE of the agent to ringback answered ${status}`);
      }
    } else if (!wasHeld) {
      await holds.quietAgent(agent, far.lastSdpReceived ?? agent.lastSdpSent);
    }
    agent.held = true;
    if (!wasHeld) events.emit('EventHeld', main, agent, far.address, origin);
    const consult = calls.newCall('Consult', agent.dn, number);
    Object.assign(consult.userData, main.userData, userData ?? {});
    let consultAgent = agent;
    if (mode === 'single-dialog') calls.moveLeg(agent, main, consult);
    else {
      try {
        consultAgent = await callAgentDevice({ calls, lookup, directory }, consult, agent, number);
      } catch (err) {
        await holds.undo(main, agent, far);
        if (main.state !== CallState.Released) events.emit('EventRetrieved', main, agent, far.address, origin);
        throw err;
      }
    }
    const c: Consultation = { main, consult, agent, consultAgent, far, mode, talkingTo: 'target' };
    this.consultations.set(main.connId, c);
    this.consultations.set(consult.connId, c);
    main.onPartyLeft = (leg) => this.onPartyLeft(main, leg);
    consult.onPartyLeft = (leg) => this.onPartyLeft(consult, leg);
    events.emit('EventDialing', consult, consultAgent, number, origin);
    // The target is still wanted: the Consult call goes on with the agent in it (also once the held party left).
    const wanted = () => consult.state !== CallState.Released && consult.liveLegs.includes(consultAgent);
    if (routingPoint && router) {
      // Consultation with a routing point: the router picks the agent (or the default-dn); the
      // delivery connects it to the agent's leg. Nobody: the agent reconnects.
      consult.routed = true;
      consult.routingPoint = routingPoint;
      calls.detached(consult, 'consultation routing', async () => {
        const outcome = await router.route({
          callId: consult.connId,
          routingPoint,
          ani: consult.ani,
          dnis: consult.dnis,
        });
        if (outcome.kind !== 'default-dn' || !wanted() || !consultAgent.session?.active) return;
        const n = lookup.dnNumber(outcome.dn);
        const d = lookup.destination(n);
        if (d.targets.length === 0) return;
        await this.opts.thirdParty.connectEstablishedParty(consult, consultAgent, {
          dn: d.dn,
          number: n,
          targets: d.targets,
          ringTimeoutMs: ringTimeoutOf(directory, d.dn),
          origin,
        });
      });
      return;
    }
    calls.detached(consult, 'consultation dial', () =>
      dialConsultTarget(
        { calls, events, thirdParty: this.opts.thirdParty, media: holds.media },
        { consult, agent: consultAgent, dest, number, origin },
        wanted,
      ),
    );
  }

  /**
   * The consultation of `connId` (or `transferConnId`). Without one: `unknown-conn-id` when
   * `connId` names no live call (it has ended), `invalid-state` when it is a live call of `thisDN`
   * that is in no consultation.
   */
  private require(thisDN: string, connId: string, transferConnId?: string): Consultation {
    const c = this.consultations.get(connId) ?? (transferConnId ? this.consultations.get(transferConnId) : undefined);
    if (c) return c;
    this.opts.lookup.legOf(thisDN, connId);
    throw new CallControlError('invalid-state', `no consultation for call ${connId}`);
  }

  private requireAgent(c: Consultation, thisDN: string): void {
    if (c.agent.dn !== this.opts.lookup.dnNumber(thisDN))
      throw new CallControlError('invalid-state', `${thisDN} is not consulting`);
  }

  /** Stop tracking `c`; `consultGoesOn`: its Consult call lives on as the agent's call (the main call went). */
  private end(c: Consultation, consultGoesOn = false): void {
    this.consultations.delete(c.main.connId);
    this.consultations.delete(c.consult.connId);
    c.main.onPartyLeft = undefined;
    c.consult.onPartyLeft = undefined;
    // A consultation still waiting on a routing point leaves its queue.
    if (c.consult.routed && !consultGoesOn) this.opts.router.current?.abandon(c.consult.connId);
  }

  /**
   * `RequestCompleteTransfer`: the held party and the target are connected by re-INVITEs
   * (offer-less re-INVITE to the target, its offer to the held party; their music endpoints
   * close), the target joins the main call and the agent's leg(s) are released with
   * `B2bua.releaseLeg` (EventReleased on both calls for the agent, EventPartyChanged).
   */
  async complete(thisDN: string, connId: string, transferConnId: string, origin: EventOrigin): Promise<void> {
    const { calls, events } = this.opts;
    const c = this.require(thisDN, connId, transferConnId);
    this.requireAgent(c, thisDN);
    const t = this.targetOf(c);
    if (!t || t.state !== LegState.Established)
      throw new CallControlError('invalid-state', 'the consultation is not established');
    if (!c.far.session?.active) throw new CallControlError('invalid-state', 'the held party is gone');
    const ok = await this.opts.thirdParty.reconnect(t, c.far);
    if (!ok) throw new CallControlError('failed', 'could not connect the parties');
    this.end(c);
    c.far.held = false;
    t.held = false;
    calls.moveLeg(t, c.consult, c.main);
    const extra = { transferConnId: c.consult.connId };
    calls.releaseLeg(c.consult, c.consultAgent, origin);
    if (c.mode === 'single-dialog') events.emit('EventReleased', c.main, c.agent, c.far.address, origin, extra);
    else calls.releaseLeg(c.main, c.agent, origin, extra);
    calls.dropIfEmpty(c.consult);
    c.main.state = CallState.Established;
    if (t.dn) events.emit('EventPartyChanged', c.main, t, c.far.address, undefined, extra);
    if (c.far.dn) events.emit('EventPartyChanged', c.main, c.far, t.address, undefined, extra);
  }

  /**
   * `RequestReconnectCall`: the target is released and the agent is back with the held party
   * (offer-less re-INVITE to the agent's leg, its offer to the held party; EventReleased on the
   * consult call, EventRetrieved on the main call). Two dialogs: the consultation dialog ends.
   */
  async reconnect(thisDN: string, connId: string, origin: EventOrigin, transferConnId?: string): Promise<void> {
    const c = this.require(thisDN, connId, transferConnId);
    this.requireAgent(c, thisDN);
    if (c.mode === 'two-dialog') {
      this.end(c);
      this.opts.calls.releaseCall(c.consult, origin);
    } else {
      const t = this.targetOf(c);
      if (t) this.opts.calls.releaseLeg(c.consult, t, origin);
    }
    await this.returnAgent(c, origin);
  }

  /**
   * `RequestAlternateCall` (behaviour §6 step 5): the party the agent talks to is held with music
   * and the agent is connected to the other one (EventHeld on the call left, EventRetrieved on the
   * call taken up). The consultation must be established.
   */
  async alternate(thisDN: string, connId: string, origin: EventOrigin, transferConnId?: string): Promise<void> {
    const c = this.require(thisDN, connId, transferConnId);
    this.requireAgent(c, thisDN);
    const t = this.targetOf(c);
    if (!t || t.state !== LegState.Established || !t.session?.active)
      throw new CallControlError('invalid-state', 'the consultation is not established');
    if (!c.far.session?.active) throw new CallControlError('invalid-state', 'the held party is gone');
    const { holds, events } = this.opts;
    const toFar = c.talkingTo === 'target';
    const [fromCall, fromAgent, fromParty] = toFar ? [c.consult, c.consultAgent, t] : [c.main, c.agent, c.far];
    const [toCall, toAgent, toParty] = toFar ? [c.main, c.agent, c.far] : [c.consult, c.consultAgent, t];
    await holds.holdParty(fromParty, fromAgent.lastSdpReceived ?? fromParty.lastSdpSent);
    if (c.mode === 'two-dialog') {
      await holds.quietAgent(fromAgent, fromParty.lastSdpReceived ?? fromAgent.lastSdpSent);
      fromAgent.held = true;
    }
    await holds.reconnect(toAgent, toParty);
    c.talkingTo = toFar ? 'far' : 'target';
    events.emit('EventHeld', fromCall, fromAgent, fromParty.address, origin);
    events.emit('EventRetrieved', toCall, toAgent, toParty.address, origin);
  }

  /**
   * `RequestReleaseCall` on a call that takes part in a consultation.
   * - the Consult call: the target is released and the main call stays held (single dialog: the
   *   agent's leg returns to it and hears silence, never a BYE: it is the agent's only dialog;
   *   two dialogs: the consultation dialog gets BYE); RequestRetrieveCall brings the agent back;
   * - the main call: the held party is released and the consultation goes on as the agent's call.
   * @returns false when `connId` is in no consultation (an ordinary release)
   */
  async release(thisDN: string, connId: string, origin: EventOrigin): Promise<boolean> {
    const c = this.consultations.get(connId);
    if (!c) return false;
    this.requireAgent(c, thisDN);
    const { calls, events, holds } = this.opts;
    if (connId === c.main.connId) {
      this.end(c, true);
      this.leaveMain(c, origin);
      return true;
    }
    this.end(c);
    if (c.mode === 'two-dialog') {
      calls.releaseCall(c.consult, origin);
      return true;
    }
    const t = this.targetOf(c);
    if (t) calls.releaseLeg(c.consult, t, origin);
    events.emit('EventReleased', c.consult, c.agent, t?.address, origin);
    calls.moveLeg(c.agent, c.consult, c.main);
    calls.dropIfEmpty(c.consult);
    if (c.talkingTo === 'target' && c.far.session?.active) {
      const status = await holds.quietAgent(c.agent, c.far.lastSdpReceived ?? c.agent.lastSdpSent);
      if (!ok(status)) calls.releaseCall(c.main, origin);
    } else if (c.talkingTo === 'far') {
      c.agent.held = false;
    }
    return true;
  }

  /**
   * The main call of an ended consultation goes (its held party hung up or was released): the
   * agent stays in the Consult call (an agent who had alternated to the held party is
   * reconnected to the target).
   */
  private leaveMain(c: Consultation, origin?: EventOrigin): void {
    const { calls, events } = this.opts;
    if (c.mode === 'two-dialog') {
      calls.releaseCall(c.main, origin);
      return;
    }
    calls.releaseLeg(c.main, c.far, origin);
    events.emit('EventReleased', c.main, c.agent, c.far.address, origin);
    c.main.state = CallState.Released;
    calls.dropIfEmpty(c.main);
    c.agent.held = false;
    const t = this.targetOf(c);
    if (c.talkingTo === 'far' && t?.session?.active) {
      calls.detached(c.consult, 'back to the target', async () => {
        await this.opts.holds.reconnect(c.agent, t);
        events.emit('EventRetrieved', c.consult, c.agent, t.address, origin);
      });
    }
  }

  /** The consultation is over: the agent is back with the held party (unless already, after RequestAlternateCall). */
  private async returnAgent(c: Consultation, origin?: EventOrigin): Promise<void> {
    const { calls, events } = this.opts;
    this.end(c);
    if (c.mode === 'single-dialog') {
      events.emit('EventReleased', c.consult, c.agent, undefined, origin);
      calls.moveLeg(c.agent, c.consult, c.main);
      calls.dropIfEmpty(c.consult);
    }
    if (!c.far.session?.active) {
      calls.releaseCall(c.main, origin);
      return;
    }
    if (c.talkingTo === 'far') return;
    if (!(await this.opts.thirdParty.reconnect(c.agent, c.far))) {
      calls.releaseCall(c.main, origin);
      return;
    }
    c.far.held = false;
    c.agent.held = false;
    events.emit('EventRetrieved', c.main, c.agent, c.far.address, origin);
  }

  /**
   * A party of `call` hung up. In a consultation the rest is not released blindly:
   * - the target leaving: single dialog, the agent goes back to the held party; two dialogs, the
   *   consultation dialog ends and the main call stays held (RequestRetrieveCall);
   * - the held party leaving ends the main call for the agent while the consultation goes on
   *   (an agent who had alternated to the held party is reconnected to the target);
   * - the agent hanging up: single dialog, both calls end; two dialogs, the call of that dialog.
   * @returns true when the B2BUA must not release the remaining legs
   */
  private onPartyLeft(call: Call, leg: CallLeg): boolean {
    const c = this.consultations.get(call.connId);
    if (!c) return false;
    const { calls } = this.opts;
    if (leg === c.agent || leg === c.consultAgent) {
      this.end(c);
      if (c.mode === 'single-dialog' || leg === c.consultAgent) calls.releaseCall(c.consult);
      if (c.mode === 'single-dialog' || leg === c.agent) calls.releaseCall(c.main);
      return true;
    }
    if (call === c.consult) {
      if (c.mode === 'single-dialog') {
        calls.detached(c.main, 'return agent', () => this.returnAgent(c));
      } else {
        this.end(c);
        calls.releaseCall(c.consult);
      }
      return true;
    }
    if (leg !== c.far) return false;
    this.end(c, true);
    this.leaveMain(c);
    return true;
  }
}
