/**
 * The trust boundary (docs/security.md): who may start something on this server. A new
 * out-of-dialog request that starts something (INVITE) is accepted only from
 *
 * 1. a softswitch, trunk or SBC — a `voip-service` or `trunk` DN — by its source IP: the host of
 *    its `contact` (behaviour §3.1, §3.4) or an address/CIDR of its `trusted-sources`; such a
 *    peer may assert any caller (behaviour §3.4 maps its From to a DN);
 * 2. the phone of an agent DN (extension, ACD position) named in its From:
 *    - the DN has a `password` and `invite` is in its `authenticate-requests` (default
 *      `invite,register`): digest, 407 + Proxy-Authenticate (RFC 3261 §22.3, RFC 8760), with the
 *      registrar's nonces, algorithms and failure limiter;
 *    - otherwise (no password): location match — the source IP is one a binding of the DN
 *      registered from (`contact = *`) or the host of its static `contact`; with
 *      `enable-strict-location-match = true` the port and transport must match too;
 * 3. nobody else: 403 Forbidden (407 while a DN with a password is being claimed).
 *
 * Refusals are counted in `sipserver_requests_refused_total{reason}`, challenges in
 * `sipserver_requests_challenged_total`. A From naming a DN makes the call that DN's only once
 * admitted by rule 2 (or asserted by a trusted peer, rule 1).
 */
import { Counter, type Registry } from 'prom-client';
import type { DnConfig } from '../config/config-model.js';
import { isAgentDnType } from '../config/config-model.js';
import type { ConfigStore } from '../config/config-store.js';
import { normaliseNumber } from '../config/number-normalise.js';
import { optionBoolean } from '../config/option-table.js';
import { contactDest, parseDeviceContact } from '../reachability/device-contact.js';
import type { Binding } from '../registrar/binding.js';
import type { RequestAuthResult } from '../registrar/registrar-module.js';
import type { SipRequest, TransportAddress } from '../sip/message/types.js';
import { normaliseIp, parseAddressList, type AddressList } from '../util/address-list.js';
import type { Logger } from '../util/logger.js';

/** The configuration the trust policy reads (implemented by `ConfigStore`). */
export type TrustConfig = Pick<ConfigStore, 'getDn' | 'listDns' | 'subscribe' | 'effectiveOption'>;

/** The registrar's part: bindings and digest authentication (implemented by `Registrar`). */
export interface TrustRegistrar {
  bindings(dn: string): readonly Binding[];
  authenticateRequest(
    req: SipRequest,
    sourceIp: string,
    dnNumber: string,
    opts?: { proxy?: boolean },
  ): RequestAuthResult;
}

/** Why a request was refused: the `reason` label of `sipserver_requests_refused_total`. */
export type RefusalReason =
  /** No trusted peer, and the From names no agent DN. */
  | 'untrusted-source'
  /** The From names an agent DN that is not digest-authenticated, and the source is not its location. */
  | 'location-mismatch'
  /** Wrong credentials twice (RFC 3261 §22.2: 403). */
  | 'bad-credentials'
  /** Unparseable Proxy-Authorization (400). */
  | 'malformed-credentials'
  /** Too many failed authentications from the source IP (503, the registrar's limiter). */
  | 'auth-rate-limited';

/** How an admitted request was admitted. */
export type Admission =
  /** From a softswitch / trunk / SBC (`dn`: its DN): it may assert any caller (behaviour §3.4). */
  | { admit: true; via: 'trusted-peer'; peer: string }
  /** From the phone of agent DN `dn`: digest-authenticated. */
  | { admit: true; via: 'digest'; dn: string }
  /** From the phone of agent DN `dn`: its registered (or static) location. */
  | { admit: true; via: 'location'; dn: string };

/** A refusal: answer with this and forward nothing. */
export interface Refusal {
  admit: false;
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  /** The metrics label; absent for a digest challenge (407), which is counted apart. */
  why?: RefusalReason;
}

/** The verdict on one request. */
export type TrustVerdict = Admission | Refusal;

/** Dependencies of {@link RequestTrust}. */
export interface RequestTrustDeps {
  config: TrustConfig;
  registrar: TrustRegistrar;
  logger: Logger;
  /** `/metrics` registry for the refusal and challenge counters. */
  registry?: Registry;
}

/** Whether a comma-separated method list (`authenticate-requests`) names `method`, any case. */
function listHas(value: string | undefined, method: string): boolean {
  if (value === undefined) return false;
  const m = method.toLowerCase();
  return value.split(',').some((s) => s.trim().toLowerCase() === m);
}

function userOf(req: SipRequest): string | undefined {
  let user: string | undefined;
  try {
    user = req.from.uri.user;
  } catch {
    return undefined;
  }
  if (!user) return undefined;
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}

/** Where a peer DN sends from: its contact host and its `trusted-sources`. */
interface PeerSources {
  host: string | undefined;
  list: AddressList | undefined;
}

/**
 * The trust policy (docs/security.md, behaviour §3.4, §3.5). Keeps an index of the trusted
 * peers' source addresses, updated per DN change; reads the per-DN options at each request.
 */
export class RequestTrust {
  private readonly config: TrustConfig;
  private readonly registrar: TrustRegistrar;
  private readonly logger: Logger;
  private readonly peers = new Map<string, PeerSources>();
  /** Source IP (normalised) → peer DNs whose contact host it is. */
  private readonly byHost = new Map<string, Set<string>>();
  private readonly refused: Counter<'reason'> | undefined;
  private readonly challenged: Counter | undefined;
  private readonly unsubscribe: () => void;

  constructor(deps: RequestTrustDeps) {
    this.config = deps.config;
    this.registrar = deps.registrar;
    this.logger = deps.logger;
    if (deps.registry) {
      this.refused = new Counter({
        name: 'sipserver_requests_refused_total',
        help: 'New requests refused by the trust policy (docs/security.md), by reason',
        labelNames: ['reason'],
        registers: [deps.registry],
      });
      this.challenged = new Counter({
        name: 'sipserver_requests_challenged_total',
        help: 'New requests answered 407 (digest challenge) by the trust policy',
        registers: [deps.registry],
      });
    }
    for (let offset = 0; ;) {
      const page = this.config.listDns(offset, 1000);
      for (const dn of page.items) this.applyDn(null, dn);
      offset += page.items.length;
      if (page.items.length === 0 || offset >= page.total) break;
    }
    this.unsubscribe = this.config.subscribe((cs) => {
      for (const c of cs.changes) if (c.kind === 'dn') this.applyDn(c.old, c.new);
    });
  }

  /** Stop following configuration changes. */
  close(): void {
    this.unsubscribe();
  }

  /**
   * The verdict on a new out-of-dialog request that starts something (INVITE), from `source`.
   * Refusals and challenges are counted here.
   */
  check(req: SipRequest, source: TransportAddress): TrustVerdict {
    const verdict = this.decide(req, source);
    if (!verdict.admit) {
      if (verdict.why) this.refused?.inc({ reason: verdict.why });
      else this.challenged?.inc();
      this.logger.info(
        { source, method: req.method, status: verdict.status, why: verdict.why ?? 'challenge', from: userOf(req) },
        'request refused by the trust policy',
      );
    }
    return verdict;
  }

  /** Trusted peer DNs (softswitch, trunk, SBC) that `ip` is a source of, sorted. */
  peersOf(ip: string): string[] {
    const n = normaliseIp(ip) ?? ip.toLowerCase();
    const out = new Set(this.byHost.get(n) ?? []);
    for (const [dn, p] of this.peers) if (p.list?.has(n)) out.add(dn);
    return [...out].sort();
  }

  private decide(req: SipRequest, source: TransportAddress): TrustVerdict {
    const peer = this.peersOf(source.host)[0];
    if (peer !== undefined) return { admit: true, via: 'trusted-peer', peer };
    const user = userOf(req);
    const dn = user === undefined ? undefined : this.config.getDn(normaliseNumber(user));
    if (!dn || !isAgentDnType(dn.type)) return refuse(403, 'untrusted-source');
    const password = dn.options.password;
    if (password && listHas(this.config.effectiveOption(dn.number, 'authenticate-requests'), req.method)) {
      const r = this.registrar.authenticateRequest(req, normaliseIp(source.host) ?? source.host, dn.number, {
        proxy: true,
      });
      if (r.ok) return { admit: true, via: 'digest', dn: dn.number };
      if (r.status === 407) return { admit: false, status: 407, reason: r.reason, headers: r.headers };
      const why: RefusalReason =
        r.status === 400 ? 'malformed-credentials' : r.status === 503 ? 'auth-rate-limited' : 'bad-credentials';
      return { admit: false, status: r.status, reason: r.reason, headers: r.headers, why };
    }
    if (this.atLocation(dn, source)) return { admit: true, via: 'location', dn: dn.number };
    return refuse(403, 'location-mismatch');
  }

  /** Location match (docs/security.md): a binding's source, or the static contact's host. */
  private atLocation(dn: DnConfig, source: TransportAddress): boolean {
    const strict = optionBoolean(
      'enable-strict-location-match',
      this.config.effectiveOption(dn.number, 'enable-strict-location-match'),
    );
    const ip = normaliseIp(source.host) ?? source.host.toLowerCase();
    const contact = dn.options.contact?.trim() ?? '';
    if (contact === '*') {
      return this.registrar.bindings(dn.number).some((b) => {
        if ((normaliseIp(b.source.host) ?? b.source.host.toLowerCase()) !== ip) return false;
        return !strict || (b.source.port === source.port && b.source.transport === source.transport);
      });
    }
    const c = parseDeviceContact(contact);
    if (!c) return false;
    const d = contactDest(c);
    if ((normaliseIp(d.host) ?? d.host.toLowerCase()) !== ip) return false;
    return !strict || (d.port === source.port && d.transport === source.transport);
  }

  private applyDn(old: DnConfig | null, neu: DnConfig | null): void {
    if (old) this.removePeer(old.number);
    if (!neu || (neu.type !== 'voip-service' && neu.type !== 'trunk')) return;
    const c = parseDeviceContact(neu.options.contact);
    const host = c ? (normaliseIp(contactDest(c).host) ?? contactDest(c).host.toLowerCase()) : undefined;
    const ts = neu.options['trusted-sources'];
    let list: AddressList | undefined;
    if (ts !== undefined && ts.trim() !== '') {
      const r = parseAddressList(ts);
      if (r.ok) list = r.list;
      else this.logger.warn({ dn: neu.number, bad: r.bad }, 'trusted-sources: not an address or CIDR, ignored');
    }
    if (host === undefined && list === undefined) return;
    this.peers.set(neu.number, { host, list });
    if (host !== undefined) {
      let s = this.byHost.get(host);
      if (!s) this.byHost.set(host, (s = new Set()));
      s.add(neu.number);
    }
  }

  private removePeer(dn: string): void {
    const p = this.peers.get(dn);
    if (!p) return;
    this.peers.delete(dn);
    if (p.host === undefined) return;
    const s = this.byHost.get(p.host);
    s?.delete(dn);
    if (s && s.size === 0) this.byHost.delete(p.host);
  }
}

function refuse(status: number, why: RefusalReason): Refusal {
  return { admit: false, status, reason: status === 403 ? 'Forbidden' : 'Refused', headers: [], why };
}
