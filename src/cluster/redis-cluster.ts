/**
 * A node's membership of a cluster through Redis (docs/cluster.md): its lease, the owners of
 * agent logins, the takeover of a dead node's agents, and the view `GET /api/cluster` answers.
 */
import type { Redis } from 'ioredis';
import type { AgentSession } from '../contact-center/agents/agent-session.js';
import type { BindingTable } from '../registrar/binding-table.js';
import { RedisBindingReplica } from '../registrar/redis-binding-replica.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { optionNumber } from '../config/option-table.js';
import { closeRedis, connectRedisPair } from '../util/redis-client.js';
import { redactUrl } from '../util/url.js';
import { AgentOwnership, type ClusterAgents } from './agent-ownership.js';
import { ClusterMembership } from './cluster-membership.js';
import { DeviceHealth, type ProbedDevices } from './device-health.js';
import { RedisClusterRouting } from './redis-cluster-routing.js';
import { RedisSharedCalls } from './redis-shared-calls.js';
import type { SharedCalls } from '../contact-center/calls/shared-calls.js';
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

/** What {@link joinCluster} shares: the node's registrations and agent logins. */
export interface ClusterNodeDeps {
  readonly url: string;
  readonly node: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The registrar's table, and which DNs take registrations (`contact = *`). */
  readonly bindings: BindingTable;
  readonly admitDn: (dn: string) => boolean;
  readonly agents: ClusterAgents;
  /** The application options (`cluster-node-lease`). */
  readonly options: Readonly<Record<string, string>>;
  readonly onAdopted?: (sessions: readonly AgentSession[]) => void;
  /** The node's OOS prober: one node probes each device, every node applies its states. */
  readonly devices?: ProbedDevices;
  /** The node's calls: shared so that they are ended properly if the node dies. */
  readonly calls?: SharedCalls;
  /** `cluster-orphan-check` now, seconds (read at each check). */
  readonly orphanCheckS?: () => number;
}

/** A node in the cluster: its shared registrations and its lease and agent logins. */
export interface ClusterNode {
  readonly registrations: RedisBindingReplica;
  readonly cluster: RedisCluster;
  /** Leaves the cluster (the lease is given back) and stops sharing registrations. */
  leave(): Promise<void>;
}

/** `cluster-node-lease` (docs/options.md): the lease and its renewal period, ms. */
export function clusterTimes(options: Readonly<Record<string, string>>): { leaseMs: number; renewMs: number } {
  const leaseMs = optionNumber('cluster-node-lease', options['cluster-node-lease']) * 1000;
  return { leaseMs, renewMs: Math.round(leaseMs / 3) };
}

/**
 * Joins the cluster in Redis (docs/cluster.md): shares the registrations (loading the others'),
 * takes the node's lease, settles and shares its agent logins.
 */
export async function joinCluster(d: ClusterNodeDeps): Promise<ClusterNode> {
  const registrations = await RedisBindingReplica.connect({
    url: d.url,
    node: d.node,
    clock: d.clock,
    logger: d.logger.child({ layer: 'registrar' }),
  });
  const logger = d.logger.child({ layer: 'cluster' });
  let cluster: RedisCluster;
  try {
    const loaded = await registrations.attach(d.bindings, d.admitDn);
    cluster = await RedisCluster.join({
      url: d.url,
      self: { name: d.node, sip: [], pid: process.pid, startedAt: new Date(d.clock.now()).toISOString() },
      logger,
      ...(d.onAdopted ? { onAdopted: d.onAdopted } : {}),
      ...clusterTimes(d.options),
    });
    if (d.calls) await cluster.attachCalls(d.calls, d.orphanCheckS);
    await cluster.attachAgents(d.agents);
    if (d.devices) await cluster.attachDevices(d.devices);
    logger.info({ node: d.node, redis: redactUrl(d.url), registrations: loaded }, 'joined the cluster');
  } catch (err) {
    await registrations.close();
    throw err;
  }
  return {
    registrations,
    cluster,
    async leave() {
      await cluster.leave();
      await registrations.close();
    },
  };
}

/** `GET /api/cluster` of a server started without `--redis`: itself, with its agents and probed devices. */
export function singleNodeView(
  self: Omit<ClusterNodeInfo, 'startedAt'>,
  agentIds: readonly string[],
  probed: readonly string[] = [],
): ClusterView {
  return {
    mode: 'single',
    self: self.name,
    nodes: [{ ...self, alive: true, self: true, leaseMs: 0, agents: agentIds.length }],
    owners: Object.fromEntries(agentIds.map((id) => [id, self.name])),
    probes: Object.fromEntries([...probed].sort().map((dn) => [dn, self.name])),
  };
}

/** This node in the cluster. */
export class RedisCluster {
  private readonly membership: ClusterMembership;
  private readonly ownership: AgentOwnership;
  private readonly devices: DeviceHealth;
  /** The router's port: other nodes' Ready agents and the offer reservations (docs/cluster.md). */
  readonly routing: RedisClusterRouting;
  private first = true;
  private calls: SharedCalls | undefined;

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
        // Its calls first: an agent on one of them stays Busy (docs/cluster.md, "Calls of a dead node").
        const live = (await this.calls?.takeOver(name)) ?? new Set<string>();
        const adopted = await this.ownership.takeOver(name, (id) => live.has(id));
        if (adopted.length > 0) o.onAdopted?.(adopted);
      },
    });
    this.devices = new DeviceHealth({
      redis,
      sub,
      prefix,
      self: self.name,
      liveNodes: () => this.membership.liveNodes(),
      logger,
      ...(o.leaseMs !== undefined ? { leaseMs: o.leaseMs } : {}),
      ...(o.renewMs !== undefined ? { renewMs: o.renewMs } : {}),
    });
    this.routing = new RedisClusterRouting({
      redis,
      prefix,
      self: self.name,
      readinessOf: (id) => this.ownership.readinessOf(id),
      leaseOf: (node) => this.membership.leaseOf(node),
      onRemoteReady: (l) => this.ownership.onRemoteReady(l),
      logger,
    });
  }

  /** Connects, waits for a lease under this node's name, and starts renewing it. */
  static async join(o: JoinOptions): Promise<RedisCluster> {
    const [redis, sub] = await connectRedisPair(o.url);
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

  /**
   * Shares this node's established calls, takes a dead node's calls over with its agents, and
   * answers the in-dialog requests of dead nodes' calls (docs/cluster.md, "Calls of a dead node").
   */
  async attachCalls(calls: SharedCalls, orphanCheckS?: () => number): Promise<void> {
    const store = new RedisSharedCalls({
      redis: this.redis,
      sub: this.sub,
      prefix: this.o.prefix ?? 'sipserver',
      self: this.self.name,
      isAlive: (n) => this.membership.isAlive(n),
      logger: this.o.logger,
    });
    await store.start();
    calls.attach(store, orphanCheckS);
    this.calls = calls;
  }

  /** Shares the device health: this node probes the devices whose lease it holds (docs/cluster.md). */
  async attachDevices(devices: ProbedDevices): Promise<void> {
    await this.devices.attach(devices);
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
    return { mode: 'cluster', self: this.self.name, nodes, owners, probes: this.devices.probes() };
  }

  /** Gives the leases back (the others take the agents and devices over) and disconnects. */
  async leave(): Promise<void> {
    this.calls?.detach();
    await this.ownership.close();
    await closeRedis([this.sub, this.redis], async () => {
      await this.devices.close();
      await this.membership.stop();
    });
  }

  /** Redis came back (maybe empty): the lease and this node's logins are written again. */
  private async onReady(): Promise<void> {
    if (this.first) return;
    try {
      await this.membership.renew();
      await this.ownership.rewrite();
      this.calls?.rewrite();
      this.o.logger.info(
        { node: this.self.name },
        'cluster: Redis is back, lease, agent logins and call records written again',
      );
    } catch (err) {
      this.o.logger.warn({ err }, 'cluster: rewriting state to Redis failed');
    }
  }
}
