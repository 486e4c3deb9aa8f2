import type { NameAddr, SipUri, TransportAddress } from '../sip/message/types.js';
import { type DigestServer } from '../sip/auth/digest-server.js';
import type { DigestAlgorithm } from '../sip/auth/digest-hash.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Binding } from './binding.js';
import type { BindingChange, BindingTable } from './binding-table.js';
import { type AuthFailureLimiter } from './auth-failure-limiter.js';
import { bindingDestination, contactKey } from './contact-address.js';

/** The DN side of registration, as the registrar needs it (implemented over the config store). */
export interface RegistrarDirectory {
  /**
   * The DN whose number matches this AOR user part (the directory normalises it) and that
   * registers (`contact = *`), with its `password` option; `undefined` if none (→ 404).
   */
  findRegisteringDn(user: string): { dn: string; password?: string } | undefined;
}

/** Registrar policy (application options; see docs/registrar.md). */
export interface RegistrarOptions {
  /** Shortest accepted registration, seconds (default 60; shorter → 423, RFC 3261 §10.3 step 6). */
  minExpires?: number;
  /** Longest granted registration, seconds (default 3600; longer values are clamped). */
  maxExpires?: number;
  /** When neither the Contact nor the request says (default 3600, RFC 3261 §10.2.1.1). */
  defaultExpires?: number;
  /** Contacts kept per DN (default 10); beyond, the least recently refreshed is dropped. */
  maxContacts?: number;
  /** Digest realm; default: the host of the To URI (as Kamailio's `$td`). */
  realm?: string;
  /** Algorithms challenged with, preferred first (default SHA-256, MD5: RFC 8760 §2.4). */
  algorithms?: DigestAlgorithm[];
}

/** The parts of a REGISTER the registrar looks at (extracted by `registerInputFromRequest`). */
export interface RegisterInput {
  toUri: SipUri;
  callId: string;
  cseq: number;
  /** `Contact: *` present. */
  contactStar: boolean;
  /** Parsed Contact values (empty for a query). */
  contacts: readonly NameAddr[];
  /** Raw `Expires` header value, if any. */
  expires?: string;
  /** `Authorization` values, unsplit. */
  credentials: readonly string[];
  /** Where the phone sent it from (for a REGISTER a trusted proxy relayed: as the proxy saw it). */
  source: TransportAddress;
  /** The trusted proxy that relayed it (the cluster's Kamailio), if one did. */
  proxy?: TransportAddress;
  userAgent?: string;
}

/** The answer to give: status, reason phrase and headers to add. */
export interface RegisterOutcome {
  status: number;
  reason: string;
  headers: Array<[name: string, value: string]>;
  /** The DN concerned, when known. */
  dn?: string;
}

const ALLOWED_SCHEMES = new Set(['sip', 'sips']);

/** 64·T1: how long a server transaction would have answered retransmissions (RFC 3261 §17.2.2). */
const RETRANSMISSION_WINDOW_MS = 32_000;
/** Removals remembered for their retransmissions at most (a mass de-registration beyond this forgets the oldest first). */
const MAX_RECENT_REMOVALS = 50_000;

/**
 * REGISTER processing of RFC 3261 §10.3 for DNs with `contact = *` (behaviour §3.5):
 * AOR → DN (404), digest authentication (401/403, RFC 3261 §22), Contact validation (400),
 * expiry clamping (423 with Min-Expires), Call-ID/CSeq ordering (step 7), atomic update,
 * and the 200 OK listing every current binding (step 8).
 */
export class RegisterProcessor {
  private readonly minExpires: number;
  private readonly maxExpires: number;
  private readonly defaultExpires: number;
  private readonly maxContacts: number;
  /**
   * Removals (`Contact: *`, or every contact with expiry 0) accepted within the last 64·T1, by DN,
   * oldest first: a removal leaves no binding to recognise its retransmission by (see
   * {@link isRetransmission}).
   */
  private readonly recentRemovals = new Map<string, { callId: string; cseq: number; at: number }>();

  constructor(
    private readonly table: BindingTable,
    private readonly directory: RegistrarDirectory,
    private readonly digest: DigestServer,
    private readonly limiter: AuthFailureLimiter,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: RegistrarOptions = {},
  ) {
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = Math.max(options.maxExpires ?? 3600, this.minExpires);
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.maxContacts = options.maxContacts ?? 10;
  }

  /** Process one REGISTER and say how to answer it. Never throws on bad input. */
  process(req: RegisterInput): RegisterOutcome {
    const ip = req.source.host;
    const wait = this.limiter.blockedFor(ip);
    if (wait > 0) {
      this.logger.debug({ ip, wait }, 'REGISTER refused: source rate-limited after failures');
      return { status: 503, reason: 'Service Unavailable', headers: [['Retry-After', String(wait)]] };
    }
    // RFC 3261 §10.3 step 5; RFC 4475 §3.3.4: an AOR of an unknown scheme is a bad request.
    if (!ALLOWED_SCHEMES.has(req.toUri.scheme)) {
      return { status: 400, reason: 'Bad Request (To is not a SIP URI)', headers: [] };
    }
    const found = req.toUri.user === undefined ? undefined : this.directory.findRegisteringDn(req.toUri.user);
    if (!found) {
      this.limiter.fail(ip);
      this.logger.info({ ip, to: req.toUri.raw }, 'REGISTER for an unknown or non-registering number');
      return { status: 404, reason: 'Not Found', headers: [] };
    }
    const { dn } = found;

    if (found.password !== undefined && found.password !== '') {
      const realm = this.options.realm ?? req.toUri.host;
      const v = this.digest.verify({ method: 'REGISTER', credentials: req.credentials }, realm, (u) =>
        u === dn || this.directory.findRegisteringDn(u)?.dn === dn ? { password: found.password! } : undefined,
      );
      switch (v.outcome) {
        case 'ok':
          break;
        case 'malformed':
          this.limiter.fail(ip);
          return { status: 400, reason: 'Bad Request (Authorization)', headers: [], dn };
        case 'forbidden':
          this.limiter.fail(ip);
          this.logger.warn({ ip, dn, user: v.username }, 'REGISTER authentication failed twice: 403');
          return { status: 403, reason: 'Forbidden', headers: [], dn };
        case 'challenge':
          // RFC 3261 §8.2.7, §17.2.2: a retransmission of a REGISTER we accepted (right digest,
          // nonce-count already used, Call-ID and CSeq of the bindings it wrote, within 64·T1)
          // gets the 200 again, as a server transaction would have resent it.
          if (v.reason === 'replay' && this.isRetransmission(dn, req)) return this.ok(dn, this.clock.now());
          if (v.reason === 'bad-credentials') {
            this.limiter.fail(ip);
            this.logger.info({ ip, dn, user: v.username }, 'REGISTER with wrong credentials: re-challenge');
          }
          return {
            status: 401,
            reason: 'Unauthorized',
            headers: this.digest
              .challenge(realm, { stale: v.stale, retry: v.retry })
              .map((c) => ['WWW-Authenticate', c]),
            dn,
          };
      }
    }

    const now = this.clock.now();
    // Without a password there is no nonce-count to tell a retransmission by (see above):
    // the same Call-ID and CSeq as the bindings, within 64·T1, is one (RFC 3261 §17.2.2).
    if ((found.password === undefined || found.password === '') && this.isRetransmission(dn, req))
      return this.ok(dn, now);
    const current = this.table.get(dn);

    // Query (RFC 3261 §10.2.3).
    if (!req.contactStar && req.contacts.length === 0) return this.ok(dn, now);

    const headerExpires = req.expires === undefined ? undefined : this.parseExpires(req.expires);

    // Wildcard removal (RFC 3261 §10.2.2, §10.3 step 6).
    if (req.contactStar) {
      if (req.contacts.length > 0 || req.expires === undefined || req.expires.trim() !== '0') {
        return { status: 400, reason: 'Bad Request (Contact: * needs Expires: 0 alone)', headers: [], dn };
      }
      const changes: BindingChange[] = [];
      for (const b of current) {
        if (b.callId === req.callId && req.cseq <= b.cseq) return this.badCseq(dn);
        changes.push({ op: 'remove', dn, key: b.key });
      }
      this.table.apply(dn, changes);
      this.noteRemoval(dn, req, now);
      this.logger.info({ dn, removed: changes.length }, 'all bindings removed (Contact: *)');
      return this.ok(dn, now);
    }

    // Validate every contact first: all or nothing (RFC 3261 §10.3 step 7).
    const changes: BindingChange[] = [];
    const putKeys = new Set<string>();
    for (const c of req.contacts) {
      if (!ALLOWED_SCHEMES.has(c.uri.scheme) || c.uri.host === '') {
        this.logger.info({ dn, contact: c.uri.raw }, 'REGISTER with a contact of an unsupported scheme');
        return { status: 400, reason: 'Bad Request (unsupported Contact URI scheme)', headers: [], dn };
      }
      const p = paramValue(c.params, 'expires');
      let expires = p !== undefined ? this.parseExpires(p) : (headerExpires ?? this.defaultExpires);
      if (expires > 0 && expires < this.minExpires) {
        return { status: 423, reason: 'Interval Too Brief', headers: [['Min-Expires', String(this.minExpires)]], dn };
      }
      if (expires > this.maxExpires) expires = this.maxExpires;
      const key = contactKey(c.uri);
      const existing = current.find((b) => b.key === key);
      if (existing && existing.callId === req.callId && req.cseq <= existing.cseq) return this.badCseq(dn);
      if (expires === 0) {
        if (existing) changes.push({ op: 'remove', dn, key });
        continue;
      }
      const found = bindingDestination(c.uri, req.source);
      const { nat } = found;
      // Relayed by a trusted proxy: a phone it cannot be reached at directly is reached through it.
      const dest = nat && req.proxy ? { ...req.proxy } : found.dest;
      const q = paramValue(c.params, 'q');
      const qn = q === undefined ? undefined : Number(q);
      const binding: Binding = {
        dn,
        contact: c.uri.raw,
        key,
        expiresAt: now + expires * 1000,
        callId: req.callId,
        cseq: req.cseq,
        q: qn !== undefined && Number.isFinite(qn) ? qn : undefined,
        source: { transport: req.source.transport, host: req.source.host, port: req.source.port },
        dest,
        nat,
        registeredAt: existing?.registeredAt ?? now,
        updatedAt: now,
        userAgent: req.userAgent?.slice(0, 64),
      };
      putKeys.add(key);
      changes.push({ op: 'put', binding });
    }
    // Bound the number of contacts per DN: drop the least recently refreshed ones (only worth
    // computing when the DN could go over the bound: the common refresh skips it).
    if (current.length + putKeys.size > this.maxContacts) {
      const removed = new Set(changes.filter((c) => c.op === 'remove').map((c) => (c.op === 'remove' ? c.key : '')));
      const survivors = current.filter((b) => !putKeys.has(b.key) && !removed.has(b.key));
      const overflow = survivors.length + putKeys.size - this.maxContacts;
      if (overflow > 0) {
        const oldest = [...survivors].sort((a, b) => a.updatedAt - b.updatedAt).slice(0, overflow);
        for (const b of oldest) changes.push({ op: 'remove', dn, key: b.key });
      }
    }
    this.table.apply(dn, changes);
    if (putKeys.size === 0) this.noteRemoval(dn, req, now);
    this.logger.debug({ dn, changes: changes.length, ip }, 'REGISTER applied');
    return this.ok(dn, now);
  }

  /** Remember an accepted removal for 64·T1, bounded: entries past the window or beyond the cap go first. */
  private noteRemoval(dn: string, req: RegisterInput, now: number): void {
    const recent = this.recentRemovals;
    recent.delete(dn);
    recent.set(dn, { callId: req.callId, cseq: req.cseq, at: now });
    for (const [k, r] of recent) {
      if (recent.size <= MAX_RECENT_REMOVALS && now - r.at <= RETRANSMISSION_WINDOW_MS) break;
      recent.delete(k);
    }
  }

  /** Expires value in seconds: malformed → 3600 (RFC 3261 §20.19); huge → clamped later. */
  private parseExpires(v: string): number {
    const t = v.trim();
    if (!/^[0-9]{1,20}$/.test(t)) return 3600;
    const n = Number(t);
    return Number.isFinite(n) ? n : this.maxExpires;
  }

  /**
   * Whether `req` repeats a REGISTER accepted less than 64·T1 (32 s, RFC 3261 §17.2.2 Timer J)
   * ago, which a server transaction would have answered with its 200 again (RFC 3261 §17.2.2;
   * answers here are stateless): either the removal last accepted for this DN has its Call-ID
   * and CSeq, or every contact of `req` is bound with its Call-ID and CSeq, refreshed within
   * the window.
   */
  private isRetransmission(dn: string, req: RegisterInput): boolean {
    const now = this.clock.now();
    const removal = this.recentRemovals.get(dn);
    if (
      removal !== undefined &&
      removal.callId === req.callId &&
      removal.cseq === req.cseq &&
      now - removal.at <= RETRANSMISSION_WINDOW_MS
    )
      return true;
    if (req.contactStar || req.contacts.length === 0) return false;
    const current = this.table.get(dn);
    for (const c of req.contacts) {
      const key = contactKey(c.uri);
      const b = current.find((x) => x.key === key);
      if (!b || b.callId !== req.callId || b.cseq !== req.cseq || now - b.updatedAt > RETRANSMISSION_WINDOW_MS)
        return false;
    }
    return true;
  }

  private badCseq(dn: string): RegisterOutcome {
    // RFC 3261 §10.3 step 7: same Call-ID with a CSeq not above the stored one aborts the update.
    return { status: 400, reason: 'Invalid CSeq number', headers: [], dn };
  }

  private ok(dn: string, now: number): RegisterOutcome {
    const headers: Array<[string, string]> = [];
    for (const b of this.table.get(dn)) {
      headers.push(['Contact', `<${b.contact}>;expires=${Math.max(0, Math.ceil((b.expiresAt - now) / 1000))}`]);
    }
    headers.push(['Date', this.dateHeader(now)]);
    return { status: 200, reason: 'OK', headers, dn };
  }

  private dateSecond = -1;
  private dateText = '';

  /** `Date` of the 200 (RFC 3261 §10.3 step 8, §20.17), formatted once per second. */
  private dateHeader(now: number): string {
    const second = Math.floor(now / 1000);
    if (second !== this.dateSecond) {
      this.dateSecond = second;
      this.dateText = new Date(second * 1000).toUTCString();
    }
    return this.dateText;
  }
}

function paramValue(params: ReadonlyArray<[string, string | null]>, name: string): string | undefined {
  for (const [k, v] of params) if (k.toLowerCase() === name) return v ?? '';
  return undefined;
}
