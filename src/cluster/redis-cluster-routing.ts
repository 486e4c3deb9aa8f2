/**
 * Routing across the nodes of a cluster (docs/cluster.md, "Routing across nodes"): the router's
 * {@link ClusterRouting} port over what the node already knows (agents' readiness from the
 * ownership announcements, the nodes' leases) and one Redis key per offered agent,
 * `PREFIX:offer:ID` = the reserving node, taken with `SET NX PX` so that no two nodes offer the same
 * agent a call at once.
 */
import type { Redis } from 'ioredis';
import type { ClusterRouting, RemoteReadyAgent } from '../contact-center/routing/cluster-routing.js';
import type { Logger } from '../util/logger.js';
import type { AgentReadiness } from './agent-ownership.js';
import type { ClusterNodeInfo } from './cluster-types.js';

/** How long a reservation may wait for Redis before it counts as unanswered, ms. */
export const RESERVE_TIMEOUT_MS = 1000;

/** Options of {@link RedisClusterRouting}. */
export interface RedisClusterRoutingOptions {
  readonly redis: Pick<Redis, 'status' | 'set' | 'del'>;
  readonly prefix: string;
  readonly self: string;
  /** What the node knows of an agent (ownership announcements). */
  readonly readinessOf: (agentId: string) => AgentReadiness | undefined;
  /** The lease of a live node (undefined: dead or unknown). */
  readonly leaseOf: (node: string) => ClusterNodeInfo | undefined;
  readonly onRemoteReady: (listener: () => void) => () => void;
  readonly logger: Logger;
}

/** The SIP address of a lease a call is redirected to: its first UDP one, else its first. */
export function redirectAddress(lease: ClusterNodeInfo): string | undefined {
  return lease.sip.find((a) => a.startsWith('udp:')) ?? lease.sip[0];
}

/** {@link ClusterRouting} over Redis. */
export class RedisClusterRouting implements ClusterRouting {
  private degraded = false;

  constructor(private readonly o: RedisClusterRoutingOptions) {}

  private key(agentId: string): string {
    return `${this.o.prefix}:offer:${agentId}`;
  }

  private get redisUp(): boolean {
    return this.o.redis.status === 'ready';
  }

  remoteReady(agentIds: readonly string[]): RemoteReadyAgent[] {
    if (!this.redisUp) {
      this.degrade();
      return [];
    }
    const out: RemoteReadyAgent[] = [];
    for (const agentId of agentIds) {
      const r = this.o.readinessOf(agentId);
      if (!r || !r.ready || r.owner === this.o.self) continue;
      const lease = this.o.leaseOf(r.owner);
      const sip = lease ? redirectAddress(lease) : undefined;
      if (!sip) continue;
      out.push({ agentId, owner: r.owner, dn: r.dn, idleSince: r.idleSince, sip });
    }
    return out;
  }

  async reserve(agentId: string, ttlMs: number): Promise<boolean> {
    const own = this.o.readinessOf(agentId)?.owner === this.o.self;
    if (!this.redisUp) {
      this.degrade();
      return own;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        this.o.redis.set(this.key(agentId), this.o.self, 'PX', Math.ceil(ttlMs), 'NX'),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), RESERVE_TIMEOUT_MS);
          timer.unref();
        }),
      ]);
      if (answer === 'timeout') {
        this.degrade();
        return own;
      }
      this.recover();
      if (answer !== 'OK') return false;
      if (own) return true;
      // The owner announces an agent's new state (Busy after answering) before it deletes the
      // reservation, on one connection: a reservation taken on a view of the agent older than
      // that is given up. One turn of the event loop lets the announcement in first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const now = this.o.readinessOf(agentId);
      if (now?.ready && now.owner !== this.o.self && this.o.leaseOf(now.owner)) return true;
      this.release(agentId);
      return false;
    } catch {
      this.degrade();
      return own;
    } finally {
      clearTimeout(timer);
    }
  }

  release(agentId: string): void {
    if (!this.redisUp) return; // it expires by its TTL
    this.o.redis.del(this.key(agentId)).catch(() => undefined);
  }

  onRemoteReady(listener: () => void): () => void {
    return this.o.onRemoteReady(listener);
  }

  private degrade(): void {
    if (this.degraded) return;
    this.degraded = true;
    this.o.logger.warn("routing: Redis unavailable, calls go to this node's agents only");
  }

  private recover(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.o.logger.info('routing: Redis is back, calls go to agents of every node again');
  }
}
