import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { AgentPhoneReachability } from '../agents/agent-phone-reachability.js';
import type { AgentService } from '../agents/agent-service.js';
import type { AgentSession } from '../agents/agent-session.js';
import { AgentState } from '../agents/agent-state.js';
import type { CallDelivery, DeliveryOutcome } from './call-delivery.js';
import type { ClusterRouting, RemoteReadyAgent } from './cluster-routing.js';
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
  /** The cluster's agents and reservations (docs/cluster.md); absent: this node's agents only. */
  readonly cluster?: ClusterRouting;
}

/** A reservation lasts the ring time plus this (ms), so that it outlives the offer it guards. */
export const RESERVATION_MARGIN_MS = 5000;
/** An agent whose reservation another node holds is not tried again for this long (ms). */
export const RESERVATION_EXCLUDE_MS = 1000;

/** The agent a call is matched with: one of this node's, or one another node owns. */
type AgentPick =
  | { readonly kind: 'local'; readonly session: AgentSession }
  | { readonly kind: 'remote'; readonly agent: RemoteReadyAgent };

interface PendingCall {
  readonly call: RoutableCall;
  readonly resolve: (outcome: RouteOutcome) => void;
  readonly enqueuedAt: number;
  deadline?: TimerHandle;
  expired: boolean;
  /** Set while the call rings an agent. */
  offer?: {
    readonly dn: string;
    readonly agentId: string;
    readonly token: number;
    /** The cluster reservation of the agent is given back when the offer ends. */
    readonly held: boolean;
    timer?: TimerHandle;
  };
  /** Set while the cluster reservation of this agent is being taken. */
  reserving?: string;
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
 *
 * In a cluster ({@link ClusterRouting}, docs/cluster.md) the Ready agents of the other live nodes
 * compete too, for a call that may be redirected; every pick, local or remote, first takes the
 * agent's reservation (one offer per agent in the whole cluster): the call leaves the queue while
 * it is taken; refused, the call goes back to the front and that agent is skipped for
 * {@link RESERVATION_EXCLUDE_MS}. A remote pick settles the call `redirect`; a local one is
 * offered, and the reservation is given back when the offer ends.
 */
export class RoutingPointRouter {
  private readonly queue: PendingCall[] = [];
  private readonly offering = new Map<string, PendingCall>();
  /** Agents being offered a call by this node. */
  private readonly reservedAgents = new Set<string>();
  /** Agents whose cluster reservation this node is taking. */
  private readonly reservingAgents = new Set<string>();
  /** Calls whose agent's cluster reservation is being taken. */
  private readonly reserving = new Map<string, PendingCall>();
  /** Agent id → until when it is skipped (its reservation was refused), with the timer that lifts it. */
  private readonly excluded = new Map<string, { until: number; timer: TimerHandle }>();
  private readonly unsubscribers: Array<() => void> = [];
  private cluster: ClusterRouting | undefined;
  private unsubscribeCluster: (() => void) | undefined;
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
    if (opts.cluster) this.useCluster(opts.cluster);
  }

  /** Routes across the cluster from now on (the node joined it after the router was built). */
  useCluster(cluster: ClusterRouting | undefined): void {
    this.unsubscribeCluster?.();
    this.unsubscribeCluster = undefined;
    this.cluster = cluster;
    if (cluster) this.unsubscribeCluster = cluster.onRemoteReady(() => this.dispatch());
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
      // (a single server ignores `cc-agent`: only a cluster's redirect names an agent)
      if (call.forAgent !== undefined && this.cluster && this.deliverToReserved(pending, call.forAgent)) return;
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
    const reserving = this.reserving.get(callId);
    if (reserving) {
      // the reservation's answer gives it back
      this.reserving.delete(callId);
      this.settle(reserving, { kind: 'abandoned' });
      return true;
    }
    const offered = this.offering.get(callId);
    if (offered?.offer) {
      const { dn, agentId, held } = offered.offer;
      this.endOffer(offered);
      this.reservedAgents.delete(agentId);
      if (held) this.cluster?.release(agentId);
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
    return [...this.offering.values(), ...this.reserving.values(), ...this.queue].map((p) => ({
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
          const pick = this.pickAgent(p.call);
          if (!pick) {
            i++;
            continue;
          }
          this.queue.splice(i, 1);
          if (this.cluster) this.reserveFor(p, pick);
          else if (pick.kind === 'local') this.offer(p, pick.session, false);
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
    this.useCluster(undefined);
    for (const e of this.excluded.values()) this.opts.clock.clearTimeout(e.timer);
    this.excluded.clear();
    for (const p of [...this.queue, ...this.offering.values(), ...this.reserving.values()]) {
      this.opts.clock.clearTimeout(p.deadline);
      if (p.offer) this.opts.clock.clearTimeout(p.offer.timer);
    }
  }

  private groupOf(routingPoint: string): readonly string[] | undefined {
    const name = this.opts.agents.directory.effectiveOption(routingPoint, OPTION_AGENT_GROUP);
    if (name === undefined || name === '') return undefined;
    return this.opts.agents.directory.getAgentGroup(name)?.agents ?? [];
  }

  /**
   * This node's agent `agentId` when it may be offered `callId` now: Ready, reachable, not being
   * offered another call; with `picking`, also not being reserved and not skipped.
   */
  private available(agentId: string, callId: string, picking = true): AgentSession | undefined {
    if (this.reservedAgents.has(agentId)) return undefined;
    if (picking && (this.reservingAgents.has(agentId) || this.isExcluded(agentId))) return undefined;
    const s = this.opts.agents.sessionByAgent(agentId);
    if (!s || s.status.state !== AgentState.Ready) return undefined;
    if (!this.opts.reachability.isAvailable(s.dn)) return undefined;
    if (this.opts.delivery.canOffer?.(callId, s.dn) === false) return undefined;
    return s;
  }

  private isExcluded(agentId: string): boolean {
    const e = this.excluded.get(agentId);
    return e !== undefined && e.until > this.opts.clock.now();
  }

  private pickAgent(call: RoutableCall): AgentPick | undefined {
    const group = this.groupOf(call.routingPoint) ?? [];
    let best: AgentSession | undefined;
    for (const agentId of group) {
      const s = this.available(agentId, call.callId);
      if (s && (!best || s.idleSince < best.idleSince)) best = s;
    }
    let remote: RemoteReadyAgent | undefined;
    if (this.cluster && call.redirectable && group.length > 0) {
      for (const r of this.cluster.remoteReady(group)) {
        if (this.reservedAgents.has(r.agentId) || this.reservingAgents.has(r.agentId) || this.isExcluded(r.agentId))
          continue;
        if (this.opts.agents.sessionByAgent(r.agentId)) continue; // logged in here: this node's view wins
        if ((!best || r.idleSince < best.idleSince) && (!remote || r.idleSince < remote.idleSince)) remote = r;
      }
    }
    if (remote) return { kind: 'remote', agent: remote };
    return best ? { kind: 'local', session: best } : undefined;
  }

  /**
   * A call another node redirected here for `agentId`, whose reservation that node holds: offered
   * to the agent at once when it is this node's and not being offered a call (a reservation this
   * node is taking for it, or was refused, is the one that node holds: it does not count).
   * @returns false: route it as usual (the reservation is given back)
   */
  private deliverToReserved(p: PendingCall, agentId: string): boolean {
    const inGroup = (this.groupOf(p.call.routingPoint) ?? []).includes(agentId);
    const s = inGroup ? this.available(agentId, p.call.callId, false) : undefined;
    if (s) {
      this.offer(p, s, true);
      return true;
    }
    this.opts.logger.info({ callId: p.call.callId, agentId }, 'redirected call: its agent is not free here, routed');
    if (!this.reservedAgents.has(agentId)) this.cluster?.release(agentId);
    return false;
  }

  /** Takes the cluster reservation of the picked agent, then offers or redirects the call. */
  private reserveFor(p: PendingCall, pick: AgentPick): void {
    const cluster = this.cluster;
    if (!cluster) return;
    const agentId = pick.kind === 'local' ? pick.session.agentId : pick.agent.agentId;
    const dn = pick.kind === 'local' ? pick.session.dn : pick.agent.dn;
    const ttlMs = inviteTimeoutMs(this.opts.agents.directory, dn) + RESERVATION_MARGIN_MS;
    p.reserving = agentId;
    this.reserving.set(p.call.callId, p);
    this.reservingAgents.add(agentId);
    let attempt: Promise<boolean>;
    try {
      attempt = cluster.reserve(agentId, ttlMs);
    } catch {
      attempt = Promise.resolve(false);
    }
    attempt.then(
      (ok) => this.onReserved(p, pick, agentId, ok),
      () => this.onReserved(p, pick, agentId, false),
    );
  }

  private onReserved(p: PendingCall, pick: AgentPick, agentId: string, ok: boolean): void {
    p.reserving = undefined;
    this.reserving.delete(p.call.callId);
    this.reservingAgents.delete(agentId);
    // Taken while the agent is offered a call another node redirected here: that offer's to give back.
    const mine = ok && !this.reservedAgents.has(agentId);
    if (p.done) {
      // abandoned meanwhile
      if (mine) this.cluster?.release(agentId);
      this.dispatch();
      return;
    }
    if (ok && !p.expired) {
      if (pick.kind === 'remote') {
        const { owner, sip } = pick.agent;
        this.opts.logger.debug({ callId: p.call.callId, agentId, owner }, 'routed call redirected to the owner');
        this.settle(p, { kind: 'redirect', agentId, node: owner, sip });
        return;
      }
      const s = this.available(agentId, p.call.callId);
      if (s) {
        this.offer(p, s, true);
        return;
      }
    }
    if (mine) this.cluster?.release(agentId);
    else if (!ok) this.exclude(agentId);
    if (p.expired) {
      this.fallback(p);
      return;
    }
    this.queue.unshift(p);
    this.dispatch();
  }

  private exclude(agentId: string): void {
    const prev = this.excluded.get(agentId);
    if (prev) this.opts.clock.clearTimeout(prev.timer);
    const timer = this.opts.clock.setTimeout(() => {
      this.excluded.delete(agentId);
      this.dispatch();
    }, RESERVATION_EXCLUDE_MS);
    this.excluded.set(agentId, { until: this.opts.clock.now() + RESERVATION_EXCLUDE_MS, timer });
  }

  private offer(p: PendingCall, agent: AgentSession, held: boolean): void {
    const token = ++this.seq;
    const dn = agent.dn;
    const timeoutMs = inviteTimeoutMs(this.opts.agents.directory, dn);
    p.offer = { dn, agentId: agent.agentId, token, held };
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
    const { dn, agentId, held } = p.offer;
    this.endOffer(p);
    this.reservedAgents.delete(agentId);
    // Given back after the agent's new state (Busy, NotReady), which the cluster hears first.
    if (outcome === 'answered') {
      this.opts.agents.routedCallEstablished(dn, p.call.callId);
      if (held) this.cluster?.release(agentId);
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
    if (held) this.cluster?.release(agentId);
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
    if (p.offer || p.reserving !== undefined) return; // decided when the current offer or reservation ends
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
