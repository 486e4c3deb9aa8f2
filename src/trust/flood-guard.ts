/**
 * Flood and abuse limits in the spirit of Kamailio's `pike` module (docs/security.md, "Flood
 * limits"): each source IP's requests are counted in one-second windows; a source that sends more
 * than `pike-requests-per-second` in one window is banned for `pike-ban-seconds`, and every
 * datagram it sends while banned is dropped before it is parsed (the SIP transport asks
 * {@link FloodGuard.admitDatagram} first). Legitimate peers are never banned: the trusted peers
 * of the trust policy (softswitch / trunk / SBC `contact` hosts and `trusted-sources`) and the
 * source addresses of registered phones.
 *
 * Memory is bounded: one small entry per source IP in a table of at most `tableSize` entries
 * (default 16,384); a full table forgets its least recently active entry. Nothing is kept per
 * Call-ID. Only requests are counted (a datagram that starts with `SIP/` is a response); banned
 * sources have everything dropped.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TransportAddress } from '../sip/message/types.js';
import { normaliseIp } from '../util/address-list.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** The limits (docs/options.md: `pike-requests-per-second`, `pike-ban-seconds`). */
export interface FloodLimits {
  /** Requests one source may send in one second; 0 = no limit. */
  requestsPerSecond: number;
  /** How long a source that went over stays banned, in ms. */
  banMs: number;
}

/** Dependencies of {@link FloodGuard}. */
export interface FloodGuardDeps {
  clock: Clock;
  logger: Logger;
  /** The current limits (read at most once a second, so an option change applies within 1 s). */
  limits: () => FloodLimits;
  /** Whether `ip` (normalised) is a legitimate peer that is never banned (trusted peer, registered phone). */
  exempt: (ip: string) => boolean;
  /** Most source IPs remembered (default 16,384). */
  tableSize?: number;
  /** `/metrics` registry. */
  registry?: Registry;
}

interface SourceEntry {
  windowStart: number;
  count: number;
  /** Banned until this time (ms); 0 = not banned. */
  bannedUntil: number;
  /** Exemption checked at this time (ms), and its answer. */
  exemptCheckedAt: number;
  exempt: boolean;
}

/** Exemptions (registrations, configuration) are re-checked at most this often per source. */
const EXEMPT_RECHECK_MS = 10_000;
const SIP_SLASH = Buffer.from('SIP/');

/** Per-source request rate limit with a temporary ban (pike). */
export class FloodGuard {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly limitsOf: () => FloodLimits;
  private readonly exempt: (ip: string) => boolean;
  private readonly tableSize: number;
  /** Source IP → entry; Map order is the eviction order (least recently active first). */
  private readonly table = new Map<string, SourceEntry>();
  private limits: FloodLimits;
  private limitsReadAt: number;
  private droppedCount = 0;
  private bansCount = 0;
  private readonly dropped: Counter | undefined;
  private readonly bans: Counter | undefined;

  constructor(deps: FloodGuardDeps) {
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.limitsOf = deps.limits;
    this.exempt = deps.exempt;
    this.tableSize = Math.max(1, deps.tableSize ?? 16_384);
    this.limits = this.limitsOf();
    this.limitsReadAt = this.clock.now();
    if (deps.registry) {
      this.dropped = new Counter({
        name: 'sipserver_flood_dropped_total',
        help: 'Datagrams dropped unparsed because their source is banned for flooding (docs/security.md)',
        registers: [deps.registry],
      });
      this.bans = new Counter({
        name: 'sipserver_flood_bans_total',
        help: 'Source addresses banned for going over pike-requests-per-second',
        registers: [deps.registry],
      });
      const bannedNow = (): number => this.bannedNow();
      new Gauge({
        name: 'sipserver_flood_banned_sources',
        help: 'Source addresses banned now',
        registers: [deps.registry],
        collect() {
          this.set(bannedNow());
        },
      });
    }
  }

  /** Datagrams dropped so far. */
  get droppedTotal(): number {
    return this.droppedCount;
  }

  /** Bans so far. */
  get bansTotal(): number {
    return this.bansCount;
  }

  /** Source IPs remembered now (≤ the table size). */
  get tracked(): number {
    return this.table.size;
  }

  /** Sources banned now. */
  bannedNow(): number {
    const now = this.clock.now();
    let n = 0;
    for (const e of this.table.values()) if (e.bannedUntil > now) n++;
    return n;
  }

  /** Whether `ip` is banned now. */
  isBanned(ip: string): boolean {
    const e = this.table.get(normaliseIp(ip) ?? ip.toLowerCase());
    return e !== undefined && e.bannedUntil > this.clock.now();
  }

  /** The transport's gate: false drops the datagram unparsed. */
  admitDatagram(source: TransportAddress, datagram: Buffer): boolean {
    const isRequest = datagram.length < 4 || datagram.compare(SIP_SLASH, 0, 4, 0, 4) !== 0;
    return this.admit(source.host, isRequest);
  }

  /** Count one message from `host` (a request or not); false when the source is (now) banned. */
  admit(host: string, isRequest = true): boolean {
    const now = this.clock.now();
    if (now - this.limitsReadAt >= 1000) {
      this.limits = this.limitsOf();
      this.limitsReadAt = now;
    }
    // Datagram sources are canonical already for IPv4 (the common case): no normalising per datagram.
    const ip = host.includes(':') || host.includes('[') ? (normaliseIp(host) ?? host.toLowerCase()) : host;
    let e = this.table.get(ip);
    if (e && e.bannedUntil > 0) {
      if (e.bannedUntil > now) {
        this.droppedCount++;
        this.dropped?.inc();
        return false;
      }
      // Forgiven: the ban is over, counting starts afresh.
      this.logger.info({ source: ip }, 'flood ban over');
      e.bannedUntil = 0;
      e.count = 0;
      e.windowStart = now;
    }
    const limit = this.limits.requestsPerSecond;
    if (!isRequest || limit <= 0) return true;
    if (!e) {
      if (this.table.size >= this.tableSize) {
        const oldest = this.table.keys().next().value;
        if (oldest !== undefined) this.table.delete(oldest);
      }
      e = { windowStart: now, count: 0, bannedUntil: 0, exemptCheckedAt: -Infinity, exempt: false };
      this.table.set(ip, e);
    } else if (now - e.windowStart >= 1000) {
      e.windowStart = now;
      e.count = 0;
      // Still active: move to the end of the eviction order (once a window, not per datagram).
      this.table.delete(ip);
      this.table.set(ip, e);
    }
    e.count++;
    if (e.count <= limit) return true;
    if (now - e.exemptCheckedAt >= EXEMPT_RECHECK_MS) {
      e.exempt = this.exempt(ip);
      e.exemptCheckedAt = now;
    }
    if (e.exempt) return true;
    e.bannedUntil = now + this.limits.banMs;
    this.bansCount++;
    this.bans?.inc();
    this.droppedCount++;
    this.dropped?.inc();
    this.logger.warn(
      { source: ip, requestsPerSecond: limit, banSeconds: this.limits.banMs / 1000 },
      'source banned for flooding',
    );
    return false;
  }
}
