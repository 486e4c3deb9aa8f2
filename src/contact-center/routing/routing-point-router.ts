import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { AgentPhoneReachability } from '../agents/agent-phone-reachability.js';
import type { AgentService } from '../agents/agent-service.js';
import type { AgentSession } from '../agents/agent-session.js';
import { AgentState } from '../agents/agent-state.js';
import type { CallDelivery, DeliveryOutcome } from './call-delivery.js';
import type { RoutableCall, RouteOutcome } from './routable-call.js';
import { inviteTimeoutMs, OPTION_AGENT_GROUP, OPTION_DEFAULT_DN, routerTimeoutMs } from './routing-options.js';

/** Construction parameters of {@link RoutingPointRouter}. */
export interface RoutingPointRouterOptions {
  readonly agents: AgentService;
  readonly reachability: Pick<AgentPhoneReachability, 'isAvailable' | 'onServiceChange'>;
  readonly delivery: CallDelivery;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Reason code given to an agent set NotReady by RONA. */
  readonly ronaReasonCode?: string;
}

interface PendingCall {
  readonly call: RoutableCall;
  readonly resolve: (outcome: RouteOutcome) => void;
  readonly enqueuedAt: number;
  deadline?: TimerHandle;
  expired: boolean;
  /** Set while the call rings an agent. */
  offer?: { readonly dn: string; readonly agentId: string; readonly token: number; timer?: TimerHandle };
  done: boolean;
}

/** One line of {@link RoutingPointRouter.waitingCalls}. */
export interface WaitingCallInfo {
  readonly callId: string;
  readonly routingPoint: string;
  readonly waitingMs: number;
  /** DN being rung, when the call is being offered. */
  readonly offeredTo?: string;
}

/**
 * Distributes calls arriving on routing points (`type: routing-point`, option `agent-group`) to
 * agents [I, behaviour §12.2]:
 * - target: the Ready agent of the group whose DN is reachable and in service, idle the longest
 *   (smallest `idleSince`; ties in group order); never a NotReady/AfterCallWork/Busy agent, and never
 *   one already being offered a call;
 * - nobody available: the call waits, FIFO, up to the routing point's effective `router-timeout`
 *   (the option table's default; 0 = forever; 60 s if the configuration yields nothing), then
 *   goes to its `default-dn`, or is rejected 480;
 * - when an agent becomes Ready (or a DN comes back in service), the oldest waiting call that
 *   agent can take is delivered;
 * - RONA: a delivery that fails or is not answered within `sip-invite-timeout` puts the call back
 *   at the front of the queue and the agent NotReady (AuxWork, reason code `RONA`).
 */
export class RoutingPointRouter {
  private readonly queue: PendingCall[] = [];
  private readonly offering = new Map<string, PendingCall>();
  private readonly reservedAgents = new Set<string>();
  private readonly unsubscribers: Array<() => void> = [];
  private seq = 0;
  private dispatching = false;
  private dispatchAgain = false;

  constructor(private readonly opts: RoutingPointRouterOptions) {
    this.unsubscribers.push(
      opts.agents.onSessionChange((_id, session) => {
        if (session?.status.state === AgentState.Ready) this.dispatch();
      }),
    );
    const sub = opts.reachability.onServiceChange?.((_dn, inService) => {
      if (inService) this.dispatch();
    });
    if (sub) this.unsubscribers.push(sub);
    const cfg = opts.agents.directory.subscribe?.(() => this.dispatch());
    if (cfg) this.unsubscribers.push(cfg);
  }

  /**
   * Routes a call that arrived on a routing point. Resolves once: delivered to an agent,
   * diverted to `default-dn`, rejected 480, or abandoned ({@link abandon}).
   */
  route(call: RoutableCall): Promise<RouteOutcome> {
    return new Promise<RouteOutcome>((resolve) => {
      const pending: PendingCall = { call, resolve, enqueuedAt: this.opts.clock.now(), expired: false, done: false };
      const group = this.groupOf(call.routingPoint);
      if (group === undefined) {
        this.opts.logger.warn({ routingPoint: call.routingPoint }, 'routing point has no agent-group');
        this.fallback(pending);
        return;
      }
      const waitMs = routerTimeoutMs(this.opts.agents.directory, call.routingPoint);
      if (Number.isFinite(waitMs))
        pending.deadline = this.opts.clock.setTimeout(() => this.onDeadline(pending), waitMs);
      this.queue.push(pending);
      this.dispatch();
    });
  }

  /** The caller hung up: stop waiting or ringing. @returns false if the call was unknown. */
  abandon(callId: string): boolean {
    const idx = this.queue.findIndex((p) => p.call.callId === callId);
    if (idx >= 0) {
      const [p] = this.queue.splice(idx, 1);
      this.settle(p, { kind: 'abandoned' });
      return true;
    }
    const offered = this.offering.get(callId);
    if (offered?.offer) {
      const { dn, agentId } = offered.offer;
      this.endOffer(offered);
      this.reservedAgents.delete(agentId);
      this.opts.delivery.cancel(callId, dn);
      this.settle(offered, { kind: 'abandoned' });
      this.dispatch();
      return true;
    }
    return false;
  }

  /** Calls waiting or being offered, oldest first. */
  waitingCalls(): WaitingCallInfo[] {
    const now = this.opts.clock.now();
    return [...this.offering.values(), ...this.queue].map((p) => ({
      callId: p.call.callId,
      routingPoint: p.call.routingPoint,
      waitingMs: now - p.enqueuedAt,
      ...(p.offer ? { offeredTo: p.offer.dn } : {}),
    }));
  }

  /** Matches waiting calls (oldest first) with available agents. Safe to call any time. */
  dispatch(): void {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      for (let round = 0; round < 1000; round++) {
        this.dispatchAgain = false;
        for (let i = 0; i < this.queue.length;) {
          const p = this.queue[i];
          const agent = this.pickAgent(p.call.routingPoint, p.call.callId);
          if (!agent) {
            i++;
            continue;
          }
          this.queue.splice(i, 1);
          this.offer(p, agent);
        }
        if (!this.dispatchAgain) break;
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** Stops listening and rejects nothing: pending calls stay unresolved (shutdown). */
  close(): void {
    for (const u of this.unsubscribers.splice(0)) u();
    for (const p of [...this.queue, ...this.offering.values()]) {
      this.opts.clock.clearTimeout(p.deadline);
      if (p.offer) this.opts.clock.clearTimeout(p.offer.timer);
    }
  }

  private groupOf(routingPoint: string): readonly string[] | undefined {
    const name = this.opts.agents.directory.effectiveOption(routingPoint, OPTION_AGENT_GROUP);
    if (name === undefined || name === '') return undefined;
    return this.opts.agents.directory.getAgentGroup(name)?.agents ?? [];
  }

  private pickAgent(routingPoint: string, callId: string): AgentSession | undefined {
    const group = this.groupOf(routingPoint) ?? [];
    let best: AgentSession | undefined;
    for (const agentId of group) {
      if (this.reservedAgents.has(agentId)) continue;
      const s = this.opts.agents.sessionByAgent(agentId);
      if (!s || s.status.state !== AgentState.Ready) continue;
      if (!this.opts.reachability.isAvailable(s.dn)) continue;
      if (this.opts.delivery.canOffer?.(callId, s.dn) === false) continue;
      if (!best || s.idleSince < best.idleSince) best = s;
    }
    return best;
  }

  private offer(p: PendingCall, agent: AgentSession): void {
    const token = ++this.seq;
    const dn = agent.dn;
    const timeoutMs = inviteTimeoutMs(this.opts.agents.directory, dn);
    p.offer = { dn, agentId: agent.agentId, token };
    this.offering.set(p.call.callId, p);
    this.reservedAgents.add(agent.agentId);
    this.opts.logger.debug({ callId: p.call.callId, dn, agentId: agent.agentId }, 'offering routed call');
    p.offer.timer = this.opts.clock.setTimeout(() => {
      if (p.offer?.token !== token) return;
      this.opts.delivery.cancel(p.call.callId, dn);
      this.onOutcome(p, token, 'no-answer');
    }, timeoutMs);
    let attempt: Promise<DeliveryOutcome>;
    try {
      attempt = this.opts.delivery.deliver(p.call.callId, dn, { timeoutMs, agentId: agent.agentId });
    } catch {
      attempt = Promise.resolve('failed');
    }
    attempt.then(
      (outcome) => this.onOutcome(p, token, outcome),
      () => this.onOutcome(p, token, 'failed'),
    );
  }

  private onOutcome(p: PendingCall, token: number, outcome: DeliveryOutcome): void {
    if (p.done || p.offer?.token !== token) return;
    const { dn, agentId } = p.offer;
    this.endOffer(p);
    this.reservedAgents.delete(agentId);
    if (outcome === 'answered') {
      this.opts.agents.routedCallEstablished(dn, p.call.callId);
      this.settle(p, { kind: 'delivered', dn, agentId });
      return;
    }
    // RONA: the agent did not take the call; make them NotReady so that they are not picked again.
    this.opts.logger.info({ callId: p.call.callId, dn, agentId, outcome }, 'RONA: call returns to routing');
    const s = this.opts.agents.sessionByAgent(agentId);
    if (s && s.status.state === AgentState.Ready) {
      try {
        this.opts.agents.notReady(s.dn, 'AuxWork', this.opts.ronaReasonCode ?? 'RONA');
      } catch (err) {
        this.opts.logger.warn({ err, agentId }, 'could not set agent NotReady after RONA');
      }
    }
    if (p.expired) {
      this.fallback(p);
      return;
    }
    this.queue.unshift(p);
    this.dispatch();
  }

  private endOffer(p: PendingCall): void {
    if (p.offer) this.opts.clock.clearTimeout(p.offer.timer);
    p.offer = undefined;
    this.offering.delete(p.call.callId);
  }

  private onDeadline(p: PendingCall): void {
    p.expired = true;
    if (p.offer) return; // decided when the current offer ends
    const idx = this.queue.indexOf(p);
    if (idx >= 0) this.queue.splice(idx, 1);
    this.fallback(p);
  }

  private fallback(p: PendingCall): void {
    const dir = this.opts.agents.directory;
    const raw = dir.effectiveOption(p.call.routingPoint, OPTION_DEFAULT_DN);
    // FIXME: default-dn equal to the routing point itself would loop; call control must not re-route it here.
    if (raw !== undefined && raw.trim() !== '') {
      this.settle(p, { kind: 'default-dn', dn: dir.normaliseNumber(raw) });
    } else {
      this.settle(p, { kind: 'rejected', status: 480 });
    }
  }

  private settle(p: PendingCall, outcome: RouteOutcome): void {
    if (p.done) return;
    p.done = true;
    this.opts.clock.clearTimeout(p.deadline);
    this.opts.logger.info({ callId: p.call.callId, outcome }, 'routing finished');
    p.resolve(outcome);
  }
}
