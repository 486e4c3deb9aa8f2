/**
 * Consultation and transfer in single-dialog mode (behaviour §6, §9): the agent's phone never
 * gets a second INVITE dialog. `RequestInitiateTransfer` holds the other party (sendonly black
 * hole, RFC 3264 §8.4, RFC 3725 §4) and moves the agent's leg into a new Consult call whose
 * target is dialled without an offer; `RequestCompleteTransfer` connects the held party and the
 * target by re-INVITEs and releases the agent; `RequestReconnectCall` sends the agent back to the
 * held party. While a consultation lasts, a party hanging up does not simply release the rest of
 * the call (the agent's leg is borrowed): see {@link Consultations.onPartyLeft}.
 */
import { blackHoleSdp, withDirection } from '../../media/sdp.js';
import { CallControlError } from '../call-control.js';
import type { EventOrigin, UserData } from '../events.js';
import { failureStatus, type B2bua } from './b2bua.js';
import { CallState, type Call } from './call.js';
import type { CallEvents } from './call-events.js';
import { LegState, type CallLeg } from './call-leg.js';
import type { CallLookup } from './call-lookup.js';
import { ringTimeoutOf } from './call-options.js';
import type { CallDirectory, CallRouterRef } from './call-ports.js';
import { rejectAllAnswerOr, type ThirdPartyControl } from './third-party-control.js';

/** Construction options of {@link Consultations}. */
export interface ConsultationsOptions {
  calls: B2bua;
  events: CallEvents;
  lookup: CallLookup;
  thirdParty: ThirdPartyControl;
  directory: CallDirectory;
  /** The routing-point router; unbound, a consultation with a routing point is refused. */
  router: CallRouterRef;
}

/** A consultation in progress: the agent leg is borrowed from `main` into `consult` (behaviour §6). */
export interface Consultation {
  main: Call;
  consult: Call;
  agent: CallLeg;
  /** The party of the main call that waits on hold. */
  far: CallLeg;
}

/** An answered consultation as {@link Consultations.handOver} gives it away. */
export interface ConsultationParties extends Consultation {
  /** The consulted party, answered, in `consult`. */
  target: CallLeg;
}

/** The consultations in progress and the requests acting on them. */
export class Consultations {
  /** Consultations by the ConnID of the consult call and of the main call. */
  private readonly consultations = new Map<string, Consultation>();

  constructor(private readonly opts: ConsultationsOptions) {}

  /**
   * `RequestInitiateTransfer` (behaviour §6, single-dialog mode for every device: the agent's
   * phone never gets a second INVITE dialog): the other party is held (sendonly black hole), the
   * agent leg moves to a new Consult call, the target is INVITEd without an offer and its offer
   * reaches the agent phone by re-INVITE; the agent's answer goes to the target in the ACK.
   * Resolves once the target is being dialled (EventHeld, EventDialing).
   */
  async initiate(
    thisDN: string,
    connId: string,
    otherDN: string,
    origin: EventOrigin,
    userData?: UserData,
  ): Promise<void> {
    const { calls, events, lookup, directory } = this.opts;
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
    if (!far.held) {
      const rf = await far.session.reinvite(far.adapt(withDirection(blackHoleSdp(agentSdp), 'sendonly')));
      if (!(rf.status >= 200 && rf.status < 300))
        throw new CallControlError('failed', `hold re-INVITE answered ${rf.status}`);
      if (rf.response && rf.response.body.length > 0) far.lastSdpReceived = rf.response.body.toString('utf8');
      far.held = true;
      agent.held = true;
      events.emit('EventHeld', main, agent, far.address, origin);
    }
    const consult = calls.newCall('Consult', agent.dn, number);
    Object.assign(consult.userData, main.userData, userData ?? {});
    calls.moveLeg(agent, main, consult);
    const c: Consultation = { main, consult, agent, far };
    this.consultations.set(main.connId, c);
    this.consultations.set(consult.connId, c);
    main.onPartyLeft = (leg) => this.onPartyLeft(main, leg);
    consult.onPartyLeft = (leg) => this.onPartyLeft(consult, leg);
    events.emit('EventDialing', consult, agent, number, origin);
    if (routingPoint && router) {
      // Consultation with a routing point: the router picks the agent (or the default-dn); the
      // delivery connects it to the agent's dialog. Nobody: the agent reconnects.
      consult.routed = true;
      consult.routingPoint = routingPoint;
      calls.detached(consult, 'consultation routing', async () => {
        const outcome = await router.route({
          callId: consult.connId,
          routingPoint,
          ani: consult.ani,
          dnis: consult.dnis,
        });
        if (outcome.kind !== 'default-dn' || this.consultations.get(consult.connId) !== c || !agent.session?.active)
          return;
        const n = lookup.dnNumber(outcome.dn);
        const d = lookup.destination(n);
        if (d.targets.length === 0) return;
        await this.opts.thirdParty.connectEstablishedParty(consult, agent, {
          dn: d.dn,
          number: n,
          targets: d.targets,
          ringTimeoutMs: ringTimeoutOf(directory, d.dn),
          origin,
        });
      });
      return;
    }
    calls.detached(consult, 'consultation dial', async () => {
      const { result: rt, ack: ackT } = await this.opts.thirdParty.dialHoldingAck(
        consult,
        dest,
        number,
        agent.address,
        origin,
      );
      if (rt.kind !== 'answered') {
        if (rt.kind === 'failed') {
          const { status } = failureStatus(rt.failure);
          if (status === 486 || status === 600) events.emit('EventDestinationBusy', consult, agent, number, origin);
        }
        return; // the agent reconnects (RequestReconnectCall)
      }
      const t = rt.leg;
      if (!agent.session?.active || this.consultations.get(consult.connId) !== c) {
        ackT?.(rejectAllAnswerOr(t.lastSdpReceived ?? '', ''));
        calls.releaseLeg(consult, t);
        return;
      }
      const ra = await agent.session.reinvite(agent.adapt(t.lastSdpReceived ?? ''));
      if (ra.status >= 200 && ra.status < 300 && ra.response) {
        agent.lastSdpReceived = ra.response.body.toString('utf8');
        ackT?.(t.adapt(agent.lastSdpReceived) ?? Buffer.alloc(0));
        events.established(consult, agent, t, origin);
      } else {
        ackT?.(rejectAllAnswerOr(t.lastSdpReceived ?? '', ''));
        calls.releaseLeg(consult, t);
      }
    });
  }

  private consultationOf(connId: string, transferConnId?: string): Consultation {
    const c = this.consultations.get(connId) ?? (transferConnId ? this.consultations.get(transferConnId) : undefined);
    if (!c) throw new CallControlError('invalid-state', `no consultation for call ${connId}`);
    return c;
  }

  private end(c: Consultation): void {
    this.consultations.delete(c.main.connId);
    this.consultations.delete(c.consult.connId);
    c.main.onPartyLeft = undefined;
    c.consult.onPartyLeft = undefined;
    // A consultation still waiting on a routing point leaves its queue.
    if (c.consult.routed) this.opts.router.current?.abandon(c.consult.connId);
  }

  /** The consultation of `thisDN` with its answered target; refused unless both parties are still there. */
  private establishedOf(thisDN: string, connId: string, transferConnId: string): { c: Consultation; t: CallLeg } {
    const c = this.consultationOf(connId, transferConnId);
    if (c.agent.dn !== this.opts.lookup.dnNumber(thisDN))
      throw new CallControlError('invalid-state', `${thisDN} is not consulting`);
    const t = c.consult.other(c.agent);
    if (!t || t.state !== LegState.Established)
      throw new CallControlError('invalid-state', 'the consultation is not established');
    if (!c.far.session?.active) throw new CallControlError('invalid-state', 'the held party is gone');
    return { c, t };
  }

  /**
   * Hand an answered consultation over to another flow (`RequestCompleteConference`,
   * `conference.ts`): checked as for a transfer, ended here (a party leaving is no longer this
   * class's business) and returned with its target; the caller now owns the four legs.
   */
  handOver(thisDN: string, connId: string, transferConnId: string): ConsultationParties {
    const { c, t } = this.establishedOf(thisDN, connId, transferConnId);
    this.end(c);
    return { ...c, target: t };
  }

  /**
   * `RequestCompleteTransfer`: the held party and the target are connected by re-INVITEs
   * (offer-less re-INVITE to the target, its offer to the held party), the target joins the
   * main call and the agent leg is ended with BYE (EventReleased on both calls for the agent).
   */
  async complete(thisDN: string, connId: string, transferConnId: string, origin: EventOrigin): Promise<void> {
    const { calls, events } = this.opts;
    const { c, t } = this.establishedOf(thisDN, connId, transferConnId);
    const ok = await this.opts.thirdParty.reconnect(t, c.far);
    if (!ok) throw new CallControlError('failed', 'could not connect the parties');
    this.end(c);
    c.far.held = false;
    calls.moveLeg(t, c.consult, c.main);
    calls.releaseLeg(c.consult, c.agent, origin);
    events.emit('EventReleased', c.main, c.agent, c.far.address, origin, { transferConnId: c.consult.connId });
    calls.dropIfEmpty(c.consult);
    c.main.state = CallState.Established;
    if (t.dn)
      events.emit('EventPartyChanged', c.main, t, c.far.address, undefined, { transferConnId: c.consult.connId });
    if (c.far.dn)
      events.emit('EventPartyChanged', c.main, c.far, t.address, undefined, { transferConnId: c.consult.connId });
  }

  /**
   * `RequestReconnectCall`: the consultation target is released and the agent leg goes back to
   * the held party (offer-less re-INVITE to the agent, its offer to the held party).
   */
  async reconnect(thisDN: string, connId: string, origin: EventOrigin): Promise<void> {
    const c = this.consultationOf(connId);
    if (c.agent.dn !== this.opts.lookup.dnNumber(thisDN))
      throw new CallControlError('invalid-state', `${thisDN} is not consulting`);
    const t = c.consult.other(c.agent);
    if (t) this.opts.calls.releaseLeg(c.consult, t, origin);
    await this.returnAgent(c, origin);
  }

  /** Move the agent leg back to the main call and reconnect its media to the held party. */
  private async returnAgent(c: Consultation, origin?: EventOrigin): Promise<void> {
    const { calls, events } = this.opts;
    this.end(c);
    events.emit('EventReleased', c.consult, c.agent, undefined, origin);
    calls.moveLeg(c.agent, c.consult, c.main);
    calls.dropIfEmpty(c.consult);
    if (!c.far.session?.active) {
      calls.releaseCall(c.main, origin);
      return;
    }
    const ok = await this.opts.thirdParty.reconnect(c.agent, c.far);
    if (!ok) {
      calls.releaseCall(c.main, origin);
      return;
    }
    c.far.held = false;
    c.agent.held = false;
    events.emit('EventRetrieved', c.main, c.agent, c.far.address, origin);
  }

  /**
   * A party of `call` hung up. In a consultation the agent leg is borrowed, so the rest is not
   * released blindly: the target leaving sends the agent back to the held party; the held party
   * leaving ends the main call for the agent (EventReleased) while the consultation goes on.
   * @returns true when the B2BUA must not release the remaining legs
   */
  private onPartyLeft(call: Call, leg: CallLeg): boolean {
    const c = this.consultations.get(call.connId);
    if (!c) return false;
    const { calls, events } = this.opts;
    if (call === c.consult && leg !== c.agent) {
      calls.detached(c.main, 'return agent', () => this.returnAgent(c));
      return true;
    }
    if (call === c.main && leg === c.far) {
      this.end(c);
      events.emit('EventReleased', c.main, c.agent, c.far.address);
      c.main.state = CallState.Released;
      calls.dropIfEmpty(c.main);
      c.agent.held = false;
      return true;
    }
    if (leg === c.agent) {
      // The agent hung up: both calls end.
      this.end(c);
      calls.releaseCall(c.consult);
      calls.releaseCall(c.main);
      return true;
    }
    return false;
  }
}
