/**
 * Device health shared by the nodes of a cluster (docs/cluster.md, "Device health"): one node
 * probes each device (softswitch, SBC, static contact with `oos-check`), elected with a lease,
 * and every node applies the states it finds.
 *
 * - Lease `PREFIX:probe:DN` = the holder's name, taken with `SET NX PX`, renewed by the holder
 *   every `renewMs` (TTL `leaseMs`). Only the holder sends the device's OPTIONS.
 * - State `PREFIX:device:DN` = `{ dn, v, state, reason, node, at }`, written and announced on
 *   `PREFIX:devices` in one script; `v` increases with each write, so every node ends on the
 *   same last state whatever order the announcements and its own writes cross in.
 * - Spread: a device prefers the live node at `hash(DN) mod live nodes` (names sorted); that node
 *   takes it as soon as it is free, the others once they have seen it free for a renewal; a holder
 *   gives back, after holding it a lease, a device that prefers another live node.
 * - Redis away: every node probes every device itself (logged once) and shares nothing; when Redis
 *   answers again the leases are taken anew and each holder announces its next probe's result.
 */
import type { Redis } from 'ioredis';
import type { DeviceState, OosProber } from '../reachability/oos-prober.js';
import type { Logger } from '../util/logger.js';

/** What device health needs of the node's OOS prober (`OosProber` implements it). */
export type ProbedDevices = Pick<OosProber, 'dns' | 'useGate' | 'wake' | 'applyRemote'>;

/** Options of {@link DeviceHealth}. */
export interface DeviceHealthOptions {
  readonly redis: Redis;
  /** A second connection, for the subscription (it may carry other channels). */
  readonly sub: Redis;
  readonly prefix: string;
  readonly self: string;
  /** The names of the live nodes (this one included), from the membership leases. */
  readonly liveNodes: () => readonly string[];
  readonly logger: Logger;
  /** Lease of a device, ms (default 6,000). */
  readonly leaseMs?: number;
  /** Renewal period, ms (default 2,000). */
  readonly renewMs?: number;
  /** Wall clock for the records' `at` (default Date.now). */
  readonly now?: () => number;
}

/** The shared state of a device as stored and announced. */
interface DeviceRecord {
  dn: string;
  /** Version: increases with each write of this device's record. */
  v: number;
  state: DeviceState;
  reason?: string;
  /** The node that found it. */
  node: string;
  /** Wall-clock ms when it was found. */
  at: number;
}

/** Keys and lease arguments per script call. */
const CHUNK = 500;

/**
 * Takes, renews or gives back device leases. KEYS: the probe keys. ARGV[1] self, ARGV[2] TTL ms,
 * ARGV[2+i] per key: `t` take it if free (and renew it if held), `k` renew it if held, `r` give it
 * back if held. Answers the holder of each key afterwards ('' when free).
 */
const LEASE_SCRIPT = `
local out = {}
for i, k in ipairs(KEYS) do
  local h = redis.call('GET', k)
  local a = ARGV[2 + i]
  if h == ARGV[1] then
    if a == 'r' then
      redis.call('DEL', k)
      h = false
    else
      redis.call('PEXPIRE', k, ARGV[2])
    end
  elseif not h and a == 't' then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
    h = ARGV[1]
  end
  out[i] = h or ''
end
return out`;

/**
 * Writes a device's record with the next version and announces it. KEYS[1] the device key.
 * ARGV: the record as JSON without its version, the channel. Answers the version written.
 */
const WRITE_SCRIPT = `
local v = 1
local old = redis.call('GET', KEYS[1])
if old then
  local ok, rec = pcall(cjson.decode, old)
  if ok and type(rec.v) == 'number' then v = rec.v + 1 end
end
local rec = cjson.decode(ARGV[1])
rec.v = v
local text = cjson.encode(rec)
redis.call('SET', KEYS[1], text)
redis.call('PUBLISH', ARGV[2], text)
return v`;

/** FNV-1a, 32 bits: the device's place among the live nodes. */
export function deviceHash(dn: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < dn.length; i++) {
    h ^= dn.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The live node a device prefers: `hash(DN) mod live nodes`, over the names sorted. */
export function preferredNode(dn: string, live: readonly string[]): string | undefined {
  if (live.length === 0) return undefined;
  const sorted = [...live].sort();
  return sorted[deviceHash(dn) % sorted.length];
}

/** What a node knows of a device's lease when it plans its next renewal. */
export interface LeaseView {
  /** This node holds it, since (ms). */
  heldSince?: number;
  /** Seen free at the previous renewal. */
  freeBefore: boolean;
}

/**
 * This node's lease action for a configured device (`t` take if free, `k` keep only, `r` give
 * back): take the devices that prefer it at once and the others once seen free for a renewal;
 * give back one that prefers another live node after holding it `leaseMs`.
 */
export function leaseAction(
  dn: string,
  view: LeaseView,
  self: string,
  live: readonly string[],
  now: number,
  leaseMs: number,
): 't' | 'k' | 'r' {
  const nodes = live.includes(self) ? live : [...live, self];
  const preferred = preferredNode(dn, nodes);
  if (view.heldSince !== undefined) {
    return preferred !== self && now - view.heldSince >= leaseMs ? 'r' : 't';
  }
  return preferred === self || view.freeBefore ? 't' : 'k';
}

/** This node's side of the cluster's device health. */
export class DeviceHealth {
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly now: () => number;
  private devices: ProbedDevices | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Devices whose lease this node holds, since (ms). */
  private readonly held = new Map<string, number>();
  /** Devices seen free at the last renewal. */
  private free = new Set<string>();
  /** Every configured device's holder at the last renewal (for `GET /api/cluster`). */
  private holders = new Map<string, string>();
  /** Devices whose stored state was read (a device configured later is read at its first renewal). */
  private readonly known = new Set<string>();
  /** Last version applied per device. */
  private readonly versions = new Map<string, number>();
  /** Writes of this node not answered yet, per device, and the newest announcement met meanwhile. */
  private readonly writing = new Map<string, number>();
  private readonly deferred = new Map<string, DeviceRecord>();
  /** Devices whose next probe result is announced even if unchanged (just taken). */
  private readonly announceNext = new Set<string>();
  private up = true;
  private busy = false;
  private closed = false;
  private readonly onMessage = (channel: string, text: string): void => {
    if (channel === this.channel) this.onAnnouncement(text);
  };
  private readonly onReady = (): void => this.resync();

  constructor(private readonly o: DeviceHealthOptions) {
    this.leaseMs = o.leaseMs ?? 6000;
    this.renewMs = o.renewMs ?? 2000;
    this.now = o.now ?? Date.now;
  }

  private probeKey(dn: string): string {
    return `${this.o.prefix}:probe:${dn}`;
  }

  private deviceKey(dn: string): string {
    return `${this.o.prefix}:device:${dn}`;
  }

  private get channel(): string {
    return `${this.o.prefix}:devices`;
  }

  /**
   * Subscribes, reads the stored states of the configured devices, takes the first leases and
   * gates the prober: from then on it probes only the devices whose lease this node holds.
   */
  async attach(devices: ProbedDevices): Promise<void> {
    this.devices = devices;
    this.o.sub.on('message', this.onMessage);
    await this.o.sub.subscribe(this.channel);
    this.o.redis.on('ready', this.onReady);
    this.o.sub.on('ready', this.onReady);
    devices.useGate({
      probes: (dn) => !this.up || this.o.redis.status !== 'ready' || this.held.has(dn),
      observed: (dn, state, reason, changed) => this.observed(dn, state, reason, changed),
    });
    await this.renew();
    this.timer = setInterval(() => void this.renew(), this.renewMs);
    this.timer.unref();
  }

  /** Device → the node that probes it, at the last renewal (`GET /api/cluster`). */
  probes(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [dn, node] of [...this.holders].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[dn] = node;
    return out;
  }

  /** Whether this node probes the device now. */
  holds(dn: string): boolean {
    return this.held.has(dn);
  }

  /**
   * Stops renewing and gives the leases back (the other nodes take the devices at their next
   * renewal); the prober probes every device again, as a single server.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.resyncTimer);
    this.o.sub.off('message', this.onMessage);
    this.o.redis.off('ready', this.onReady);
    this.o.sub.off('ready', this.onReady);
    this.devices?.useGate(undefined);
    const mine = [...this.held.keys()];
    this.held.clear();
    if (mine.length > 0 && this.o.redis.status === 'ready')
      await this.o.redis.eval(
        LEASE_SCRIPT,
        mine.length,
        ...mine.map((dn) => this.probeKey(dn)),
        this.o.self,
        1,
        ...mine.map(() => 'r'),
      );
  }

  /** One renewal: reads newly configured devices' states, then takes, renews and gives back leases. */
  private async renew(): Promise<void> {
    if (this.busy || this.closed || !this.devices) return;
    this.busy = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (this.o.redis.status !== 'ready') throw new Error(`Redis connection ${this.o.redis.status}`);
      const work = this.renewOnce();
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer from Redis')), this.renewMs);
      });
      await Promise.race([work, late]);
      if (!this.up) {
        this.up = true;
        this.o.logger.info('device health: Redis is back, one node probes each device again');
      }
    } catch (err) {
      if (this.up) {
        this.up = false;
        this.o.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'device health: Redis unavailable, this node probes every device itself',
        );
        // Leases are taken anew when Redis answers: those held now may have run out meanwhile.
        this.held.clear();
      }
    } finally {
      clearTimeout(timer);
      this.busy = false;
    }
  }

  private async renewOnce(): Promise<void> {
    const dns = [...this.devices!.dns()];
    const configured = new Set(dns);
    const fresh = dns.filter((dn) => !this.known.has(dn));
    if (fresh.length > 0) await this.readStored(fresh);
    for (const dn of this.known) if (!configured.has(dn)) this.forget(dn);
    // Devices no longer configured: their leases are given back.
    const gone = [...this.held.keys()].filter((dn) => !configured.has(dn));
    const now = this.now();
    const live = this.o.liveNodes();
    const plan: Array<[string, 't' | 'k' | 'r']> = gone.map((dn) => [dn, 'r']);
    for (const dn of dns)
      plan.push([
        dn,
        leaseAction(
          dn,
          { heldSince: this.held.get(dn), freeBefore: this.free.has(dn) },
          this.o.self,
          live,
          now,
          this.leaseMs,
        ),
      ]);
    const holders = new Map<string, string>();
    const free = new Set<string>();
    for (let i = 0; i < plan.length; i += CHUNK) {
      const part = plan.slice(i, i + CHUNK);
      const answer = (await this.o.redis.eval(
        LEASE_SCRIPT,
        part.length,
        ...part.map(([dn]) => this.probeKey(dn)),
        this.o.self,
        this.leaseMs,
        ...part.map(([, a]) => a),
      )) as string[];
      part.forEach(([dn], j) => {
        const holder = answer[j] ?? '';
        if (!configured.has(dn)) {
          this.held.delete(dn);
          return;
        }
        if (holder === '') free.add(dn);
        else holders.set(dn, holder);
        if (holder === this.o.self) {
          if (!this.held.has(dn)) this.took(dn, now);
        } else if (this.held.delete(dn)) {
          this.announceNext.delete(dn);
        }
      });
    }
    this.holders = holders;
    this.free = free;
  }

  /** This node took a device's lease: it probes it soon and announces what it finds. */
  private took(dn: string, now: number): void {
    this.held.set(dn, now);
    this.announceNext.add(dn);
    this.devices?.wake(dn);
  }

  private forget(dn: string): void {
    this.known.delete(dn);
    this.versions.delete(dn);
    this.deferred.delete(dn);
    this.announceNext.delete(dn);
  }

  /** Reads the stored states of devices once and applies them. */
  private async readStored(dns: readonly string[]): Promise<void> {
    for (let i = 0; i < dns.length; i += CHUNK) {
      const part = dns.slice(i, i + CHUNK);
      const values = await this.o.redis.mget(...part.map((dn) => this.deviceKey(dn)));
      part.forEach((dn, j) => {
        this.known.add(dn);
        const rec = parseRecord(values[j] ?? null);
        if (rec && rec.dn === dn) this.receive(rec);
      });
    }
  }

  /** Redis (or the subscription) answers again, maybe empty: versions restart, states are read again. */
  private resync(): void {
    if (this.closed) return;
    this.versions.clear();
    this.known.clear();
    // A Redis that came back empty lost the states: each holder announces its next probe's result.
    for (const dn of this.held.keys()) this.announceNext.add(dn);
    void this.renew();
    // Holders announce their next probe's result; a node whose subscription came back after that
    // reads it from the stored states.
    clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(() => {
      this.known.clear();
      void this.renew();
    }, this.leaseMs);
    this.resyncTimer.unref();
  }

  /** The prober's own finding: shared when it changed the state, or when this node just took the device. */
  private observed(dn: string, state: DeviceState, reason: string | undefined, changed: boolean): void {
    if (state === 'unknown') return;
    const first = this.announceNext.delete(dn);
    if (!changed && !first) return;
    if (!this.up || this.o.redis.status !== 'ready') return;
    const record: Omit<DeviceRecord, 'v'> = { dn, state, node: this.o.self, at: this.now() };
    if (reason !== undefined && state === 'out-of-service') record.reason = reason;
    this.writing.set(dn, (this.writing.get(dn) ?? 0) + 1);
    this.o.redis
      .eval(WRITE_SCRIPT, 1, this.deviceKey(dn), JSON.stringify(record), this.channel)
      .then((v) => {
        if (typeof v === 'number' && v > (this.versions.get(dn) ?? 0)) this.versions.set(dn, v);
      })
      .catch((err: unknown) => this.o.logger.warn({ err, dn }, 'device state not shared (Redis)'))
      .finally(() => {
        const n = (this.writing.get(dn) ?? 1) - 1;
        if (n > 0) {
          this.writing.set(dn, n);
          return;
        }
        this.writing.delete(dn);
        const later = this.deferred.get(dn);
        this.deferred.delete(dn);
        if (later) this.receive(later);
      });
  }

  private onAnnouncement(text: string): void {
    const rec = parseRecord(text);
    if (rec) this.receive(rec);
  }

  /**
   * Applies a record newer than the last one applied. While this node's own write of the device
   * is unanswered, the newest record is kept until the write's version is known.
   */
  private receive(rec: DeviceRecord): void {
    if (this.closed || !this.devices) return;
    if (this.writing.has(rec.dn)) {
      const d = this.deferred.get(rec.dn);
      if (!d || rec.v > d.v) this.deferred.set(rec.dn, rec);
      return;
    }
    if (rec.v <= (this.versions.get(rec.dn) ?? 0)) return;
    if (this.devices.applyRemote(rec.dn, rec.state, rec.reason)) this.versions.set(rec.dn, rec.v);
  }
}

function parseRecord(text: string | null): DeviceRecord | undefined {
  if (!text) return undefined;
  try {
    const r = JSON.parse(text) as Partial<DeviceRecord>;
    if (typeof r.dn !== 'string' || typeof r.v !== 'number') return undefined;
    if (r.state !== 'in-service' && r.state !== 'out-of-service') return undefined;
    return {
      dn: r.dn,
      v: r.v,
      state: r.state,
      ...(typeof r.reason === 'string' ? { reason: r.reason } : {}),
      node: typeof r.node === 'string' ? r.node : '',
      at: typeof r.at === 'number' ? r.at : 0,
    };
  } catch {
    return undefined;
  }
}
