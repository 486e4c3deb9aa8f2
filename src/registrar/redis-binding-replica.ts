/**
 * Registrations shared by the nodes of a cluster through Redis (docs/cluster.md).
 *
 * Every binding a node's REGISTERs make is a Redis key `PREFIX:binding:DN:KEY` holding
 * `{ node, binding }`, with a TTL equal to the binding's expiry (RFC 3261 §10.3: the binding
 * lives as long as its `expires`), and every change is published on `PREFIX:bindings`. Each node
 * keeps the whole cluster's bindings in its own {@link BindingTable}: it loads the keys when it
 * starts and applies what the others publish, so a lookup never waits for Redis and a node that
 * dies leaves its registrations valid on the others until they expire.
 *
 * Redis is a meeting point, not the record: when it comes back empty (restarted without
 * persistence), each node writes its own bindings again and loads what the others wrote, so
 * the state is rebuilt from the nodes. While it is away, registrations go on locally and are
 * shared when it returns.
 */
import type { Redis } from 'ioredis';
import { closeRedis, connectRedisPair } from '../util/redis-client.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Binding } from './binding.js';
import type { BindingReplica, RemoteBindingChange } from './binding-replica.js';
import type { BindingTable } from './binding-table.js';

/** How {@link RedisBindingReplica.connect} reaches Redis. */
export interface RedisReplicaOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** This node's name, unique in the cluster. */
  readonly node: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Key and channel prefix (default `sipserver`), so that clusters can share one Redis. */
  readonly prefix?: string;
  /** How long the first connection may take, ms (default 5,000). */
  readonly connectTimeoutMs?: number;
}

interface Stored {
  node: string;
  binding: Binding;
}

interface Published {
  node: string;
  dn: string;
  changes: RemoteBindingChange[];
}

const SCAN_COUNT = 1000;

/** The Redis side of a node's registrations; {@link attach} it to the node's binding table. */
export class RedisBindingReplica implements BindingReplica {
  /** This node's own bindings (from its REGISTERs), written again after Redis lost them. */
  private readonly own = new Map<string, Binding>();
  private table: BindingTable | undefined;
  private admit: (dn: string) => boolean = () => true;
  private publishes = 0;
  private readyOnce = false;
  private closed = false;
  private readonly prefix: string;

  private constructor(
    private readonly cmd: Redis,
    private readonly sub: Redis,
    private readonly options: RedisReplicaOptions,
  ) {
    this.prefix = options.prefix ?? 'sipserver';
  }

  /**
   * Connects (commands and a subscriber) and subscribes; rejects with a clear message when Redis
   * does not answer within the timeout.
   */
  static async connect(options: RedisReplicaOptions): Promise<RedisBindingReplica> {
    const [cmd, sub] = await connectRedisPair(options.url, { connectTimeoutMs: options.connectTimeoutMs });
    const replica = new RedisBindingReplica(cmd, sub, options);
    await sub.subscribe(replica.channel);
    sub.on('message', (channel: string, text: string) => replica.onMessage(channel, text));
    cmd.on('error', (err: Error) => replica.onError(err));
    cmd.on('ready', () => void replica.onReady());
    return replica;
  }

  private get channel(): string {
    return `${this.prefix}:bindings`;
  }

  private keyOf(dn: string, key: string): string {
    return `${this.prefix}:binding:${dn}:${key}`;
  }

  /**
   * Loads every binding stored in Redis into `table` and from then on applies what the other
   * nodes publish there, for the DNs `admit` accepts (those configured to register). Call once,
   * after the table restored its own persisted bindings.
   */
  async attach(table: BindingTable, admit: (dn: string) => boolean = () => true): Promise<number> {
    this.table = table;
    this.admit = admit;
    table.replicateTo(this);
    const n = await this.loadAll();
    this.readyOnce = true;
    return n;
  }

  publish(dn: string, changes: readonly RemoteBindingChange[]): void {
    const now = this.options.clock.now();
    if (++this.publishes % 1000 === 0) this.pruneOwn(now);
    const multi = this.cmd.multi();
    for (const c of changes) {
      if (c.op === 'put') {
        const ttl = Math.ceil(c.binding.expiresAt - now);
        const k = this.keyOf(dn, c.binding.key);
        this.own.set(k, c.binding);
        if (ttl > 0) multi.set(k, JSON.stringify({ node: this.options.node, binding: c.binding }), 'PX', ttl);
        else multi.del(k);
      } else {
        const k = this.keyOf(dn, c.key);
        this.own.delete(k);
        multi.del(k);
      }
    }
    const message: Published = { node: this.options.node, dn, changes: [...changes] };
    multi.publish(this.channel, JSON.stringify(message));
    multi.exec().catch((err: unknown) => this.onError(err));
  }

  /** Number of this node's own bindings (for status pages). */
  get ownBindings(): number {
    return this.own.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.table?.replicateTo(undefined);
    await closeRedis([this.sub, this.cmd]);
  }

  private onMessage(channel: string, text: string): void {
    if (channel !== this.channel || !this.table) return;
    let m: Published;
    try {
      m = JSON.parse(text) as Published;
    } catch {
      return;
    }
    if (m.node === this.options.node || typeof m.dn !== 'string' || !Array.isArray(m.changes)) return;
    if (!this.admit(m.dn)) return;
    // A phone that now registers through another node is that node's from now on.
    for (const c of m.changes) this.own.delete(this.keyOf(m.dn, c.op === 'put' ? c.binding.key : c.key));
    this.table.applyRemote(m.dn, m.changes);
  }

  /** After a reconnect: write this node's bindings again (Redis may have lost them) and load the others'. */
  private async onReady(): Promise<void> {
    if (!this.readyOnce || this.closed) return;
    try {
      const now = this.options.clock.now();
      this.pruneOwn(now);
      const multi = this.cmd.multi();
      for (const [k, b] of this.own) {
        multi.set(k, JSON.stringify({ node: this.options.node, binding: b }), 'PX', Math.ceil(b.expiresAt - now));
      }
      await multi.exec();
      const n = await this.loadAll();
      this.options.logger.info({ own: this.own.size, loaded: n }, 'Redis is back: registrations shared again');
    } catch (err) {
      this.onError(err);
    }
  }

  /** Forgets own bindings that expired (phones that stopped registering). */
  private pruneOwn(now: number): void {
    for (const [k, b] of this.own) if (b.expiresAt <= now) this.own.delete(k);
  }

  /** SCANs the binding keys and applies the other nodes' ones to the table. */
  private async loadAll(): Promise<number> {
    const table = this.table;
    if (!table) return 0;
    let cursor = '0';
    let n = 0;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const [next, keys] = await this.cmd.scan(cursor, 'MATCH', `${this.prefix}:binding:*`, 'COUNT', SCAN_COUNT);
      if (keys.length > 0) {
        const values = await this.cmd.mget(...keys);
        const byDn = new Map<string, RemoteBindingChange[]>();
        for (const v of values) {
          const stored = parseStored(v);
          if (!stored || stored.node === this.options.node || !this.admit(stored.binding.dn)) continue;
          const list = byDn.get(stored.binding.dn) ?? [];
          list.push({ op: 'put', binding: stored.binding });
          byDn.set(stored.binding.dn, list);
          n++;
        }
        for (const [dn, changes] of byDn) table.applyRemote(dn, changes);
      }
      cursor = next;
      if (cursor === '0') break;
    }
    return n;
  }

  private onError(err: unknown): void {
    if (this.closed) return;
    this.options.logger.warn({ err }, 'Redis: registrations not shared until it answers again');
  }
}

function parseStored(v: string | null): Stored | undefined {
  if (!v) return undefined;
  try {
    const s = JSON.parse(v) as Stored;
    return typeof s.node === 'string' && s.binding && typeof s.binding.dn === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}
