/**
 * A node's membership of a cluster through Redis (docs/cluster.md): its lease, the owners of
 * agent logins, the takeover of a dead node's agents, and the view `GET /api/cluster` answers.
 */
import type { Redis } from 'ioredis';
import type { AgentSession } from '../contact-center/agents/agent-session.js';
import type { Logger } from '../util/logger.js';
import { closeRedis, connectRedis } from '../util/redis-client.js';
import { AgentOwnership, type ClusterAgents } from './agent-ownership.js';
import { ClusterMembership } from './cluster-membership.js';
import type { ClusterNodeInfo, ClusterView } from './cluster-types.js';

/** Options of {@link RedisCluster.join}. */
export interface JoinOptions {
  readonly url: string;
  readonly self: ClusterNodeInfo;
  readonly logger: Logger;
  /** Key and channel prefix (default `sipserver`). */
  readonly prefix?: string;
  readonly leaseMs?: number;
  readonly renewMs?: number;
  /** Told of the logins this node adopted from a dead node (the CTI layer's desktop grace). */
  readonly onAdopted?: (sessions: readonly AgentSession[]) => void;
}

/** This node in the cluster. */
export class RedisCluster {
  private readonly membership: ClusterMembership;
  private readonly ownership: AgentOwnership;
  private first = true;

  private constructor(
    private readonly redis: Redis,
    private readonly sub: Redis,
    private self: ClusterNodeInfo,
    private readonly o: JoinOptions,
  ) {
    const prefix = o.prefix ?? 'sipserver';
    const logger = o.logger;
    this.ownership = new AgentOwnership({
      redis,
      sub,
      prefix,
      self: self.name,
      isAlive: (n) => this.membership.isAlive(n),
      logger,
    });
    this.membership = new ClusterMembership({
      redis,
      prefix,
      logger,
      self,
      leaseMs: o.leaseMs,
      renewMs: o.renewMs,
      onDeadNode: async (name) => {
        const adopted = await this.ownership.takeOver(name);
        if (adopted.length > 0) o.onAdopted?.(adopted);
      },
    });
  }

  /** Connects, waits for a lease under this node's name, and starts renewing it. */
  static async join(o: JoinOptions): Promise<RedisCluster> {
    const redis = await connectRedis(o.url);
    let sub: Redis;
    try {
      sub = await connectRedis(o.url);
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    const c = new RedisCluster(redis, sub, o.self, o);
    try {
      await c.membership.start();
    } catch (err) {
      redis.disconnect();
      sub.disconnect();
      throw err;
    }
    redis.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'cluster: Redis unreachable, retrying'));
    redis.on('ready', () => void c.onReady());
    return c;
  }

  /** The node's name. */
  get name(): string {
    return this.self.name;
  }

  /** Settles restored logins, then shares and guards every login of this node. */
  async attachAgents(agents: ClusterAgents): Promise<void> {
    await this.ownership.attach(agents);
    this.first = false;
  }

  /** Updates what the lease says of this node (its addresses once listening). */
  async describe(info: Partial<ClusterNodeInfo>): Promise<void> {
    this.self = { ...this.self, ...info };
    this.membership.describe(this.self);
    await this.membership.renew();
  }

  /** `GET /api/cluster`. */
  async view(): Promise<ClusterView> {
    const owners = Object.fromEntries(this.ownership.ownerMap());
    const counts = new Map<string, number>();
    for (const node of Object.values(owners)) counts.set(node, (counts.get(node) ?? 0) + 1);
    const nodes = (await this.membership.nodes()).map((n) => ({ ...n, agents: counts.get(n.name) ?? 0 }));
    return { mode: 'cluster', self: this.self.name, nodes, owners };
  }

  /** Gives the lease back (the others take the agents over) and disconnects. */
  async leave(): Promise<void> {
    await this.ownership.close();
    await closeRedis([this.sub, this.redis], () => this.membership.stop());
  }

  /** Redis came back (maybe empty): the lease and this node's logins are written again. */
  private async onReady(): Promise<void> {
    if (this.first) return;
    try {
      await this.membership.renew();
      await this.ownership.rewrite();
      this.o.logger.info({ node: this.self.name }, 'cluster: Redis is back, lease and agent logins written again');
    } catch (err) {
      this.o.logger.warn({ err }, 'cluster: rewriting state to Redis failed');
    }
  }
}
