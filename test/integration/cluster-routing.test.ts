/**
 * The cluster side of routing across nodes (docs/cluster.md, "Routing across nodes") against a
 * real Redis: two (then three) `RedisCluster`s in this process with fake agent layers. Checked:
 * an agent's readiness reaches the other node through the ownership announcements (no Redis read
 * per decision), a node joining later reads it once; the offer reservation is exclusive with its
 * TTL and given back; a node whose lease is gone offers nothing; with Redis down the own agents
 * are reserved without it and no remote agent is offered.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterAgents } from '../../src/cluster/agent-ownership.js';
import { RedisCluster } from '../../src/cluster/redis-cluster.js';
import type { AgentSession } from '../../src/contact-center/agents/agent-session.js';
import { AgentState } from '../../src/contact-center/agents/agent-state.js';
import { silentLogger } from '../../src/util/logger.js';
import { TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/** An agent layer holding sessions the test sets. */
class FakeAgents implements ClusterAgents {
  private readonly map = new Map<string, AgentSession>();
  private readonly listeners = new Set<(id: string, s: AgentSession | undefined) => void>();
  sessions(): AgentSession[] {
    return [...this.map.values()];
  }
  sessionByAgent(id: string): AgentSession | undefined {
    return this.map.get(id);
  }
  onSessionChange(l: (id: string, s: AgentSession | undefined) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  adopt(sessions: readonly AgentSession[]): AgentSession[] {
    for (const s of sessions) this.set(s);
    return [...sessions];
  }
  forget(id: string): void {
    this.map.delete(id);
    for (const l of this.listeners) l(id, undefined);
  }
  useLoginGuard(): void {}
  set(s: AgentSession): void {
    this.map.set(s.agentId, s);
    for (const l of this.listeners) l(s.agentId, s);
  }
}

function session(agentId: string, dn: string, state: AgentState, idleSince: number): AgentSession {
  return {
    agentId,
    dn,
    status: { state, workMode: 'AutoIn', readyMode: 'AutoIn', routedCalls: [] },
    loggedInAt: idleSince,
    idleSince,
  };
}

describe('routing across cluster nodes: readiness, leases and reservations in Redis', () => {
  let redis: TestRedis;
  let probe: Redis;
  const joined: RedisCluster[] = [];

  async function join(name: string, sipPort: number, agents: FakeAgents): Promise<RedisCluster> {
    const c = await RedisCluster.join({
      url: redis.url,
      self: { name, sip: [], pid: process.pid, startedAt: new Date().toISOString() },
      logger: silentLogger,
      leaseMs: 900,
      renewMs: 300,
    });
    joined.push(c);
    await c.attachAgents(agents);
    await c.describe({ sip: [`udp:127.0.0.1:${sipPort}`, `tcp:127.0.0.1:${sipPort}`] });
    return c;
  }

  beforeAll(async () => {
    redis = await TestRedis.start();
    probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await probe.connect();
  });

  afterAll(async () => {
    probe?.disconnect();
    for (const c of joined) await c.leave().catch(() => undefined);
    await redis?.stop();
  });

  it('announces readiness to the other nodes; reservations are exclusive, with their TTL; a late node reads readiness once; a node without lease offers nothing', async () => {
    const agentsA = new FakeAgents();
    const agentsB = new FakeAgents();
    const a = await join('node-a', 5071, agentsA);
    const b = await join('node-b', 5072, agentsB);
    agentsA.set(session('ann', '1000', AgentState.Ready, 1_000));
    agentsB.set(session('bob', '1001', AgentState.Ready, 2_000));
    const remoteOfB = await waitFor(() => {
      const r = b.routing.remoteReady(['ann', 'bob', 'nobody']);
      return r.length > 0 ? r : undefined;
    }, 'ann Ready on node-a, seen from node-b');
    expect(remoteOfB).toEqual([
      { agentId: 'ann', owner: 'node-a', dn: '1000', idleSince: 1_000, sip: 'udp:127.0.0.1:5071' },
    ]);
    await waitFor(() => a.routing.remoteReady(['bob']).length === 1, 'bob seen from node-a');

    // Ready → NotReady → Ready again, idle from a new time
    agentsA.set(session('ann', '1000', AgentState.NotReady, 1_000));
    await waitFor(() => b.routing.remoteReady(['ann']).length === 0, 'ann NotReady seen from node-b');
    // a reservation of another node's agent that is not Ready (any more) is given up at once
    expect(await b.routing.reserve('ann', 7_000)).toBe(false);
    expect(await probe.exists('sipserver:offer:ann')).toBe(0);
    agentsA.set(session('ann', '1000', AgentState.Ready, 3_000));
    await waitFor(() => b.routing.remoteReady(['ann'])[0]?.idleSince === 3_000, 'ann Ready again');

    // one reservation per agent, whoever asks
    expect(await b.routing.reserve('ann', 7_000)).toBe(true);
    expect(await probe.get('sipserver:offer:ann')).toBe('node-b');
    const ttl = await probe.pttl('sipserver:offer:ann');
    expect(ttl).toBeGreaterThan(6_000);
    expect(ttl).toBeLessThanOrEqual(7_000);
    expect(await a.routing.reserve('ann', 7_000)).toBe(false);
    expect(await b.routing.reserve('ann', 7_000)).toBe(false);
    b.routing.release('ann');
    await waitFor(async () => (await probe.exists('sipserver:offer:ann')) === 0, 'the reservation given back');
    expect(await a.routing.reserve('ann', 100)).toBe(true);
    await waitFor(async () => (await probe.exists('sipserver:offer:ann')) === 0, 'the reservation expired by its TTL');

    // a node joining later knows every agent's readiness at once
    const c = await join('node-c', 5073, new FakeAgents());
    expect(c.routing.remoteReady(['ann', 'bob']).map((r) => [r.agentId, r.owner, r.idleSince])).toEqual([
      ['ann', 'node-a', 3_000],
      ['bob', 'node-b', 2_000],
    ]);

    // node-a leaves: its lease is gone, ann is not offered (then taken over by another node)
    await a.leave();
    joined.splice(joined.indexOf(a), 1);
    await waitFor(
      () => !c.routing.remoteReady(['ann']).some((r) => r.owner === 'node-a'),
      'ann of node-a no longer offered',
    );
  });

  it('Redis down: no remote agent, an own agent is reserved without Redis, another node’s is not', async () => {
    const agentsD = new FakeAgents();
    const d = await join('node-d', 5074, agentsD);
    const agentsE = new FakeAgents();
    const e = await join('node-e', 5075, agentsE);
    agentsD.set(session('dan', '1002', AgentState.Ready, 5_000));
    await waitFor(() => e.routing.remoteReady(['dan']).length === 1, 'dan seen from node-e');
    await redis.down();
    try {
      await waitFor(() => e.routing.remoteReady(['dan']).length === 0, 'no remote agent while Redis is down');
      const t0 = Date.now();
      expect(await d.routing.reserve('dan', 5_000)).toBe(true);
      expect(await e.routing.reserve('dan', 5_000)).toBe(false);
      expect(Date.now() - t0).toBeLessThan(2_500);
    } finally {
      await redis.up();
    }
    await waitFor(() => e.routing.remoteReady(['dan']).length === 1, 'dan offered again once Redis is back');
  });
});
