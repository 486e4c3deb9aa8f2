/**
 * The router in a cluster (docs/cluster.md, "Routing across nodes") with a fake
 * {@link ClusterRouting}: every pick takes the agent's reservation first; a refused one puts the
 * call back and skips the agent for a while; a remote agent idle longer than every local one
 * gets the call by redirect; a reservation is given back whenever the offer ends.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { AgentService } from '../../../src/contact-center/agents/agent-service.js';
import { AgentState } from '../../../src/contact-center/agents/agent-state.js';
import { ContactCenterEventBus } from '../../../src/contact-center/events.js';
import type {
  CallDelivery,
  DeliveryOptions,
  DeliveryOutcome,
} from '../../../src/contact-center/routing/call-delivery.js';
import type { ClusterRouting, RemoteReadyAgent } from '../../../src/contact-center/routing/cluster-routing.js';
import type { RoutableCall, RouteOutcome } from '../../../src/contact-center/routing/routable-call.js';
import {
  RESERVATION_EXCLUDE_MS,
  RESERVATION_MARGIN_MS,
  RoutingPointRouter,
} from '../../../src/contact-center/routing/routing-point-router.js';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { exampleDirectory, FakeReachability, type MemoryDirectory } from './fakes.js';

interface Attempt {
  callId: string;
  dn: string;
  options: DeliveryOptions;
  settle: (o: DeliveryOutcome) => void;
}

class FakeDelivery implements CallDelivery {
  readonly attempts: Attempt[] = [];
  readonly cancelled: string[] = [];
  deliver(callId: string, dn: string, options: DeliveryOptions): Promise<DeliveryOutcome> {
    return new Promise((resolve) => this.attempts.push({ callId, dn, options, settle: resolve }));
  }
  cancel(callId: string, dn: string): void {
    this.cancelled.push(`${callId}@${dn}`);
  }
}

interface Reservation {
  agentId: string;
  ttlMs: number;
  answer: (ok: boolean) => void;
}

/** The cluster: remote Ready agents set by the test; each reservation waits for the test's answer. */
class FakeCluster implements ClusterRouting {
  readonly remote = new Map<string, RemoteReadyAgent>();
  readonly reservations: Reservation[] = [];
  readonly released: string[] = [];
  private readonly listeners = new Set<() => void>();

  remoteReady(agentIds: readonly string[]): RemoteReadyAgent[] {
    return agentIds.flatMap((id) => (this.remote.has(id) ? [this.remote.get(id)!] : []));
  }
  reserve(agentId: string, ttlMs: number): Promise<boolean> {
    return new Promise((resolve) => this.reservations.push({ agentId, ttlMs, answer: resolve }));
  }
  release(agentId: string): void {
    this.released.push(agentId);
  }
  onRemoteReady(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  announceReady(agent: RemoteReadyAgent): void {
    this.remote.set(agent.agentId, agent);
    for (const l of this.listeners) l();
  }
  get last(): Reservation {
    const r = this.reservations.at(-1);
    if (!r) throw new Error('no reservation');
    return r;
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('RoutingPointRouter in a cluster', () => {
  let directory: MemoryDirectory;
  let reach: FakeReachability;
  let clock: FakeClock;
  let agents: AgentService;
  let delivery: FakeDelivery;
  let cluster: FakeCluster;
  let router: RoutingPointRouter;
  let outcomes: Map<string, RouteOutcome>;

  function route(callId: string, extra: Partial<RoutableCall> = {}): void {
    void router.route({ callId, routingPoint: '5000', ...extra }).then((o) => outcomes.set(callId, o));
  }

  const amy = (idleSince: number): RemoteReadyAgent => ({
    agentId: 'amy',
    owner: 'node-1',
    dn: '6666',
    idleSince,
    sip: 'udp:127.0.0.1:5071',
  });

  beforeEach(() => {
    directory = exampleDirectory();
    directory
      .addDn('6666', 'extension')
      .addAgent('amy', 'amy-secret', '6666')
      .addGroup('Support', ['jay', 'joe', 'amy']);
    reach = new FakeReachability(['+1']);
    clock = new FakeClock(10_000);
    agents = new AgentService({
      directory,
      reachability: reach,
      bus: new ContactCenterEventBus(),
      clock,
      logger: silentLogger,
    });
    delivery = new FakeDelivery();
    cluster = new FakeCluster();
    router = new RoutingPointRouter({ agents, reachability: reach, delivery, clock, logger: silentLogger, cluster });
    outcomes = new Map();
  });

  it('takes the local agent’s reservation (ring time + margin) before offering; the call waits meanwhile; given back once the agent is Busy', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    route('c1');
    expect(delivery.attempts).toHaveLength(0);
    expect(cluster.reservations.map((r) => [r.agentId, r.ttlMs])).toEqual([['jay', 32_000 + RESERVATION_MARGIN_MS]]);
    expect(router.waitingCalls().map((w) => w.callId)).toEqual(['c1']);
    cluster.last.answer(true);
    await flush();
    expect(delivery.attempts.map((a) => [a.callId, a.dn])).toEqual([['c1', '8888']]);
    expect(cluster.released).toEqual([]);
    let stateAtRelease: string | undefined;
    const release = cluster.release.bind(cluster);
    cluster.release = (id) => {
      stateAtRelease = agents.sessionByAgent(id)?.status.state;
      release(id);
    };
    delivery.attempts[0]!.settle('answered');
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'delivered', dn: '8888', agentId: 'jay' });
    expect(cluster.released).toEqual(['jay']);
    expect(stateAtRelease).toBe(AgentState.BusyReady);
  });

  it('a refused reservation puts the call back at the front and skips that agent for a while; then it is tried again', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    clock.advance(1000);
    agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AutoIn' });
    route('c1');
    expect(cluster.last.agentId).toBe('jay'); // idle longest
    route('c2');
    expect(cluster.last.agentId).toBe('joe'); // jay is held for c1 meanwhile
    cluster.reservations[0]!.answer(false); // another node offers jay a call
    await flush();
    expect(router.waitingCalls().map((w) => w.callId)).toEqual(['c2', 'c1']);
    expect(cluster.reservations).toHaveLength(2); // jay skipped, joe held for c2
    cluster.reservations[1]!.answer(true);
    await flush();
    expect(delivery.attempts.map((a) => [a.callId, a.dn])).toEqual([['c2', '7777']]);
    expect(router.waitingCalls().map((w) => w.callId)).toEqual(['c2', 'c1']);
    clock.advance(RESERVATION_EXCLUDE_MS - 1);
    expect(cluster.reservations).toHaveLength(2);
    clock.advance(1);
    expect(cluster.reservations.map((r) => r.agentId)).toEqual(['jay', 'joe', 'jay']);
    cluster.last.answer(true);
    await flush();
    expect(delivery.attempts.map((a) => [a.callId, a.dn])).toEqual([
      ['c2', '7777'],
      ['c1', '8888'],
    ]);
    expect(cluster.released).toEqual([]);
  });

  it('a remote agent idle longer than every local one gets a redirectable call: reserved, then `redirect` to its owner (kept reserved)', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' }); // idle since 10 000
    cluster.remote.set('amy', amy(9_000));
    route('c1', { redirectable: true });
    expect(cluster.last).toMatchObject({ agentId: 'amy', ttlMs: 32_000 + RESERVATION_MARGIN_MS });
    cluster.last.answer(true);
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'redirect', agentId: 'amy', node: 'node-1', sip: 'udp:127.0.0.1:5071' });
    expect(delivery.attempts).toHaveLength(0);
    expect(cluster.released).toEqual([]); // the owner gives it back when its offer ends
    expect(router.waitingCalls()).toEqual([]);
  });

  it('a local agent idle longer wins; a call that cannot be redirected never goes to a remote agent', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    cluster.remote.set('amy', amy(10_500));
    route('c1', { redirectable: true });
    expect(cluster.last.agentId).toBe('jay');
    cluster.last.answer(true);
    await flush();
    expect(delivery.attempts.map((a) => a.dn)).toEqual(['8888']);
    cluster.remote.set('amy', amy(1));
    route('c2'); // e.g. an agent dialling the routing point
    expect(cluster.reservations).toHaveLength(1);
    expect(router.waitingCalls().map((w) => w.callId)).toEqual(['c1', 'c2']);
  });

  it('a remote agent becoming Ready dispatches the waiting calls', async () => {
    route('c1', { redirectable: true });
    expect(cluster.reservations).toHaveLength(0);
    cluster.announceReady(amy(9_000));
    expect(cluster.last.agentId).toBe('amy');
    cluster.last.answer(false); // the owner's own call took amy first
    await flush();
    expect(outcomes.has('c1')).toBe(false);
    expect(router.waitingCalls().map((w) => w.callId)).toEqual(['c1']);
    cluster.announceReady(amy(9_000)); // skipped while excluded
    expect(cluster.reservations).toHaveLength(1);
  });

  it('gives the reservation back on RONA, on a failed delivery and on abandon while ringing', async () => {
    directory.appOptions['sip-invite-timeout'] = '10';
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    route('c1');
    cluster.last.answer(true);
    await flush();
    clock.advance(10_000); // RONA
    expect(agents.sessionByAgent('jay')?.status.state).toBe(AgentState.NotReady);
    expect(cluster.released).toEqual(['jay']);
    agents.ready('8888', 'AutoIn');
    expect(cluster.last.agentId).toBe('jay');
    cluster.last.answer(true);
    await flush();
    delivery.attempts.at(-1)!.settle('failed');
    await flush();
    expect(cluster.released).toEqual(['jay', 'jay']);
    agents.ready('8888', 'AutoIn');
    cluster.last.answer(true);
    await flush();
    expect(delivery.attempts).toHaveLength(3);
    expect(router.abandon('c1')).toBe(true);
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'abandoned' });
    expect(delivery.cancelled.at(-1)).toBe('c1@8888');
    expect(cluster.released).toEqual(['jay', 'jay', 'jay']);
  });

  it('abandoned while the reservation is taken: settled at once, the reservation given back when it arrives, nobody rung', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    route('c1');
    expect(router.abandon('c1')).toBe(true);
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'abandoned' });
    cluster.last.answer(true);
    await flush();
    expect(cluster.released).toEqual(['jay']);
    expect(delivery.attempts).toHaveLength(0);
    route('c2'); // jay is free again
    expect(cluster.reservations.map((r) => r.agentId)).toEqual(['jay', 'jay']);
  });

  it('router-timeout passing while the reservation is taken: the call falls back when it arrives, and it is given back', async () => {
    directory.addDn('5000', 'routing-point', { 'agent-group': 'Support', 'router-timeout': '5', 'default-dn': '7777' });
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    route('c1');
    clock.advance(5000);
    await flush();
    expect(outcomes.has('c1')).toBe(false);
    cluster.last.answer(true);
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'default-dn', dn: '7777' });
    expect(cluster.released).toEqual(['jay']);
    expect(delivery.attempts).toHaveLength(0);
  });

  it('a call redirected here for a free agent of this node is offered to it at once, without a new reservation; given back when the offer ends', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    clock.advance(1000);
    agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AutoIn' });
    route('c1', { forAgent: 'joe' });
    expect(cluster.reservations).toHaveLength(0);
    expect(delivery.attempts.map((a) => [a.callId, a.dn])).toEqual([['c1', '7777']]);
    delivery.attempts[0]!.settle('answered');
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'delivered', dn: '7777', agentId: 'joe' });
    expect(cluster.released).toEqual(['joe']);
  });

  it('a call redirected here while this node’s own reservation of that agent is refused (the redirecting node holds it): the agent gets the redirected call', async () => {
    agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AutoIn' });
    route('local');
    expect(cluster.last.agentId).toBe('joe');
    route('redirected', { forAgent: 'joe' }); // arrives while this node's SET NX is in flight
    expect(delivery.attempts.map((a) => [a.callId, a.dn])).toEqual([['redirected', '7777']]);
    cluster.last.answer(false);
    await flush();
    expect(router.waitingCalls().map((w) => [w.callId, w.offeredTo])).toEqual([
      ['redirected', '7777'],
      ['local', undefined],
    ]);
    route('again', { forAgent: 'joe' }); // joe is being offered a call: not twice
    expect(delivery.attempts).toHaveLength(1);
    expect(cluster.released).toEqual([]); // this node's offer holds the key: not given back
    delivery.attempts[0]!.settle('answered');
    await flush();
    expect(cluster.released).toEqual(['joe']);
    // skipped by this node's own picks for a while after the refusal, joe still takes a redirected call
    clock.advance(10);
    agents.routedCallEnded('7777', 'redirected');
    expect(agents.sessionByAgent('joe')?.status.state).toBe(AgentState.Ready);
    expect(cluster.reservations).toHaveLength(1);
    route('third', { forAgent: 'joe' });
    expect(delivery.attempts.map((a) => a.callId)).toEqual(['redirected', 'third']);
  });

  it('a call redirected here for an agent no longer free: its reservation given back, routed to this node’s agents only', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AuxWork' });
    cluster.remote.set('amy', amy(1));
    route('c1', { forAgent: 'joe' });
    expect(cluster.released).toEqual(['joe']);
    expect(cluster.reservations.map((r) => r.agentId)).toEqual(['jay']); // amy (remote, idle longer) not considered
    cluster.last.answer(true);
    await flush();
    expect(delivery.attempts.map((a) => a.dn)).toEqual(['8888']);
  });

  it('without a cluster port the router offers synchronously and ignores cc-agent (single node)', () => {
    router.close();
    router = new RoutingPointRouter({ agents, reachability: reach, delivery, clock, logger: silentLogger });
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    clock.advance(1000);
    agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AutoIn' });
    route('c1', { redirectable: true, forAgent: 'joe' }); // cc-agent means nothing here
    expect(delivery.attempts.map((a) => a.dn)).toEqual(['8888']); // jay: idle longest
  });
});
