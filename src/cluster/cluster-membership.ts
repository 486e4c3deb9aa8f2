/**
 * Which nodes of a cluster are alive (docs/cluster.md): each node holds a lease in Redis
 * (`PREFIX:node:NAME`, its description, expiring after `leaseMs`) that it renews every
 * `renewMs`, and is a member of the set `PREFIX:nodes`. A member whose lease is gone is dead:
 * the first live node that takes the lock `PREFIX:takeover:NAME` (SET NX, 30 s) is told to take
 * over what it owned.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../util/logger.js';
import type { ClusterNodeInfo, ClusterNodeView } from './cluster-types.js';

/** Default lease of a node, ms: a node that stops renewing is dead after at most this long. */
export const DEFAULT_NODE_LEASE_MS = 6000;
/** Default renewal period, ms (a third of the lease: two renewals may be lost). */
export const DEFAULT_NODE_RENEW_MS = 2000;
const TAKEOVER_LOCK_MS = 30_000;

/** Options of {@link ClusterMembership}. */
export interface MembershipOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly self: ClusterNodeInfo;
  readonly logger: Logger;
  readonly leaseMs?: number;
  readonly renewMs?: number;
  /** Called on the node that won the takeover of a dead node (once per dead node). */
  readonly onDeadNode: (name: string) => Promise<void>;
}

/** This node's lease and its view of the others. */
export class ClusterMembership {
  private timer: NodeJS.Timeout | undefined;
  /** Members without a lease at the last look (not yet taken over). */
  private dead = new Set<string>();
  /** The leases of the live members at the last look (this node's included). */
  private leases = new Map<string, ClusterNodeInfo>();
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private busy = false;
  private stopped = false;

  private self: ClusterNodeInfo;

  constructor(private readonly o: MembershipOptions) {
    this.self = o.self;
    this.leaseMs = o.leaseMs ?? DEFAULT_NODE_LEASE_MS;
    this.renewMs = o.renewMs ?? DEFAULT_NODE_RENEW_MS;
  }

  private key(name: string): string {
    return `${this.o.prefix}:node:${name}`;
  }

  private get membersKey(): string {
    return `${this.o.prefix}:nodes`;
  }

  /** Takes the lease (refused while another live process holds this node's name) and starts renewing it. */
  async start(): Promise<void> {
    // A restart under the same name waits for the lease of its previous process to run out; a
    // lease still renewed after that belongs to another live process.
    const deadline = Date.now() + this.leaseMs + this.renewMs;
    for (let held = await this.heldBy(); held; held = await this.heldBy()) {
      if (Date.now() > deadline)
        throw new Error(
          `node name ${this.self.name} is in use by a live node (pid ${held.pid}, sip ${held.sip.join(' ')}): give each node its own --node`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
    await this.renew();
    await this.look();
    this.timer = setInterval(() => void this.tick(), this.renewMs);
    this.timer.unref();
  }

  private async heldBy(): Promise<ClusterNodeInfo | undefined> {
    const v = await this.o.redis.get(this.key(this.self.name));
    return v ? (JSON.parse(v) as ClusterNodeInfo) : undefined;
  }

  /** What the lease says of this node from the next renewal on. */
  describe(self: ClusterNodeInfo): void {
    this.self = self;
  }

  /**
   * Whether a node may be alive: false only for a member whose lease had run out at the last look
   * (a node not known yet counts as alive, so that a login it owns is never taken in doubt).
   */
  isAlive(name: string): boolean {
    return !this.dead.has(name);
  }

  /**
   * The lease of a member that held one at the last look (renewed every `renewMs`): where the
   * router redirects a call for one of its agents. Undefined for a dead or unknown node.
   */
  leaseOf(name: string): ClusterNodeInfo | undefined {
    return this.leases.get(name);
  }

  /** The names of the members that held a lease at the last look (this node's included). */
  liveNodes(): string[] {
    return [...this.leases.keys()];
  }

  /** Reads the members and their leases; answers the dead ones. */
  private async look(): Promise<string[]> {
    const members = await this.o.redis.smembers(this.membersKey);
    const leases = members.length > 0 ? await this.o.redis.mget(...members.map((m) => this.key(m))) : [];
    const dead = members.filter((m, i) => !leases[i] && m !== this.self.name);
    this.dead = new Set(dead);
    const live = new Map<string, ClusterNodeInfo>();
    members.forEach((m, i) => {
      const v = leases[i];
      if (!v) return;
      try {
        live.set(m, JSON.parse(v) as ClusterNodeInfo);
      } catch {
        // unreadable lease: not a redirect target
      }
    });
    this.leases = live;
    return dead;
  }

  /** Renews the lease (also right after Redis came back). */
  async renew(): Promise<void> {
    await this.o.redis
      .multi()
      .set(this.key(this.self.name), JSON.stringify(this.self), 'PX', this.leaseMs)
      .sadd(this.membersKey, this.self.name)
      .exec();
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      await this.renew();
      for (const m of await this.look()) {
        const won = await this.o.redis.set(
          `${this.o.prefix}:takeover:${m}`,
          this.self.name,
          'PX',
          TAKEOVER_LOCK_MS,
          'NX',
        );
        if (won !== 'OK') continue;
        this.o.logger.warn({ node: m }, 'cluster node lost its lease: taking over what it owned');
        await this.o.onDeadNode(m);
        await this.o.redis.srem(this.membersKey, m);
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'cluster lease not renewed (Redis): retrying');
    } finally {
      this.busy = false;
    }
  }

  /** Every member with its lease (for `GET /api/cluster`): one pipelined read of all leases. */
  async nodes(): Promise<Array<Omit<ClusterNodeView, 'agents'>>> {
    const members = (await this.o.redis.smembers(this.membersKey)).sort();
    const pipe = this.o.redis.pipeline();
    for (const m of members) pipe.get(this.key(m)).pttl(this.key(m));
    const replies = (await pipe.exec()) ?? [];
    const out: Array<Omit<ClusterNodeView, 'agents'>> = [];
    members.forEach((m, i) => {
      const value = replies[2 * i]?.[1] as string | null | undefined;
      const ttl = Number(replies[2 * i + 1]?.[1] ?? 0);
      const info = value ? (JSON.parse(value) as ClusterNodeInfo) : undefined;
      out.push({
        name: m,
        alive: info !== undefined,
        self: m === this.self.name,
        leaseMs: info ? Math.max(0, ttl) : 0,
        ...(info ? { sip: info.sip, http: info.http, pid: info.pid, startedAt: info.startedAt } : {}),
      });
    });
    return out;
  }

  /**
   * Stops renewing and gives the lease back: the other nodes take over this node's agents at
   * their next renewal, as for a dead node (a rolling restart moves the agents on).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.o.redis.del(this.key(this.self.name));
  }
}
