import type { DnConfig } from '../config/config-model.js';
import { normaliseNumber } from '../config/number-normalise.js';
import type { SoftswitchCandidate } from '../config/softswitch-prefix-table.js';
import type { TransportAddress } from '../sip/message/types.js';
import type { Logger } from '../util/logger.js';
import type { Binding } from '../registrar/binding.js';
import type { RegistrarListener } from '../registrar/registrar-listener.js';
import { contactDest, contactTarget, parseDeviceContact } from './device-contact.js';
import { SoftswitchAddressIndex } from './softswitch-address-index.js';
import type { AgentPhoneResult, Deliverable, InboundIdentity, Resolution } from './reachability-types.js';

/** The configuration the resolver reads (implemented by `ConfigStore`). */
export interface ReachabilityConfig {
  /** A DN by number, as written or normalised. */
  getDn(number: string): DnConfig | undefined;
  /** Softswitches whose prefix matches, longest prefix, then priority, then name (behaviour §3.3). */
  softswitchCandidates(number: string): SoftswitchCandidate[];
}

/** Registered contacts of a DN, most recently refreshed first (the registrar's binding table). */
export interface RegistrationView {
  get(dn: string): readonly Binding[];
  /** Registration domain events (first binding added, last binding gone), for DN service events. */
  addListener?(l: RegistrarListener): () => void;
}

/** OOS state of probed devices (the OOS prober). */
export interface ServiceStateView {
  isOutOfService(dn: string): boolean;
}

/**
 * Where an INVITE for a DN goes (behaviour §3.1–3.4, §7, §12.3): registered contact, static
 * contact, softswitch by longest prefix (skipping OUT ones), or the `agent-phone` bound at
 * login. Reads the live configuration at every call, so a change applies to the next call
 * (behaviour §2.3); the only caches (softswitch address index) follow the change feed.
 */
export class ReachabilityResolver {
  /** DN → agent-phone number of the logged-in session. */
  private readonly phoneOfDn = new Map<string, string>();
  /** agent-phone number → DN. */
  private readonly dnOfPhone = new Map<string, string>();
  /** Softswitch contact address → softswitch DNs (feed it DN changes). */
  readonly addresses = new SoftswitchAddressIndex();
  /** Called with the DN after its agent-phone binding changed (bind or unbind). */
  private readonly bindingListeners = new Set<(dn: string) => void>();

  constructor(
    private readonly config: ReachabilityConfig,
    private readonly registrations: RegistrationView,
    private readonly service: ServiceStateView,
    private readonly logger?: Logger,
  ) {}

  /** How a call to this DN is delivered now (interfaces §5 `/api/dns/{number}/status`). */
  resolve(dnNumber: string): Resolution {
    const number = normaliseNumber(dnNumber);
    const dn = this.config.getDn(number);
    if (!dn) return { mode: 'unreachable', inService: false, reason: 'no such DN' };
    const phone = this.phoneOfDn.get(dn.number);
    if (phone !== undefined) {
      const r = this.viaSoftswitch(phone, 'agent-phone');
      return r[0] ?? { mode: 'unreachable', inService: false, reason: `no softswitch matches agent-phone ${phone}` };
    }
    return this.routesOf(dn)[0] ?? this.noRoute(dn);
  }

  /** Where a call to a number that is not a DN goes: softswitch by prefix (behaviour §3.3). */
  resolveExternal(number: string): Resolution {
    const n = normaliseNumber(number);
    return (
      this.viaSoftswitch(n, 'softswitch')[0] ?? {
        mode: 'unreachable',
        inService: false,
        reason: `no softswitch prefix matches ${n}`,
      }
    );
  }

  /**
   * Ordered routes for failover (behaviour §3.3): for a DN its own routes, for another number
   * the softswitches by prefix. Routes that are out of service are left out.
   */
  candidates(number: string): Deliverable[] {
    const n = normaliseNumber(number);
    const dn = this.config.getDn(n);
    let all: Deliverable[];
    if (!dn) all = this.viaSoftswitch(n, 'softswitch', true);
    else {
      const phone = this.phoneOfDn.get(dn.number);
      all = phone !== undefined ? this.viaSoftswitch(phone, 'agent-phone', true) : this.routesOf(dn, true);
    }
    return all.filter((d) => d.inService);
  }

  /**
   * Check an `agent-phone` for a login on `dn` (behaviour §7): not empty, not an internal DN,
   * not bound to another agent's DN, and some softswitch prefix matches it.
   */
  validateAgentPhone(dn: string, phone: string): AgentPhoneResult {
    const p = normaliseNumber(phone);
    if (p === '') return { ok: false, error: 'empty', message: 'agent-phone is empty' };
    if (this.config.getDn(p)) return { ok: false, error: 'internal-dn', message: `agent-phone ${p} is an internal DN` };
    const owner = this.dnOfPhone.get(p);
    const self = this.config.getDn(dn)?.number ?? normaliseNumber(dn);
    if (owner !== undefined && owner !== self) {
      return { ok: false, error: 'in-use', message: `agent-phone ${p} is already bound to DN ${owner}` };
    }
    const ss = this.config.softswitchCandidates(p).find((c) => this.softswitchContact(c.dn));
    if (!ss) return { ok: false, error: 'no-softswitch', message: `no softswitch prefix matches ${p}` };
    return { ok: true, phone: p, softswitch: ss.dn };
  }

  /** Bind an `agent-phone` to a DN for a login session (behaviour §7); validated first. */
  bindAgentPhone(dn: string, phone: string): AgentPhoneResult {
    const r = this.validateAgentPhone(dn, phone);
    if (!r.ok) return r;
    const self = this.config.getDn(dn)?.number ?? normaliseNumber(dn);
    this.unbindAgentPhone(self);
    this.phoneOfDn.set(self, r.phone);
    this.dnOfPhone.set(r.phone, self);
    for (const l of [...this.bindingListeners]) l(self);
    const own = this.config.getDn(self);
    if (own?.options.contact) {
      this.logger?.warn(
        { dn: self, contact: own.options.contact },
        'agent-phone overrides the DN contact for this session',
      );
    }
    return r;
  }

  /** Drop the session binding of a DN (logout, session loss). */
  unbindAgentPhone(dn: string): void {
    const self = this.config.getDn(dn)?.number ?? normaliseNumber(dn);
    const p = this.phoneOfDn.get(self);
    if (p === undefined) return;
    this.phoneOfDn.delete(self);
    if (this.dnOfPhone.get(p) === self) this.dnOfPhone.delete(p);
    for (const l of [...this.bindingListeners]) l(self);
  }

  /**
   * Registers a listener called with the DN whenever its agent-phone binding changes (behaviour
   * §7), for indexes keyed by the number a DN's calls are routed by. Returns the remove function.
   */
  addBindingListener(l: (dn: string) => void): () => void {
    this.bindingListeners.add(l);
    return () => this.bindingListeners.delete(l);
  }

  /** The `agent-phone` bound to a DN, if any. */
  agentPhoneOf(dn: string): string | undefined {
    return this.phoneOfDn.get(this.config.getDn(dn)?.number ?? normaliseNumber(dn));
  }

  /**
   * Reverse lookup of a request from a softswitch (behaviour §3.4): `undefined` when the source
   * is not a softswitch; else the softswitch and, if found, the DN the caller is (exact DN
   * number first, then an `agent-phone` session).
   */
  identifyInbound(source: TransportAddress, fromUser: string | undefined): InboundIdentity | undefined {
    const ss = this.addresses.lookup(source.host, source.port);
    if (ss.length === 0) return undefined;
    const softswitch = ss[0];
    if (fromUser === undefined) return { softswitch };
    const u = normaliseNumber(fromUser);
    const dn = this.config.getDn(u);
    if (dn) return { softswitch, dn: dn.number, match: 'dn' };
    const bound = this.dnOfPhone.get(u);
    if (bound !== undefined) return { softswitch, dn: bound, match: 'agent-phone' };
    return { softswitch };
  }

  /** Routes of a DN by its own configuration (no agent-phone), best first. */
  private routesOf(dn: DnConfig, all = false): Deliverable[] {
    const contact = dn.options.contact?.trim() ?? '';
    if (contact === '*') {
      // Registered DNs never use softswitch selection (behaviour §3.5).
      const bindings = this.registrations.get(dn.number);
      return (all ? bindings : bindings.slice(0, 1)).map((b) => ({
        mode: 'registered' as const,
        target: b.contact,
        dest: { ...b.dest },
        inService: true,
      }));
    }
    if (contact !== '') {
      const c = parseDeviceContact(contact);
      if (!c) return [];
      const out = this.service.isOutOfService(dn.number);
      return [
        {
          mode: 'static',
          target: contactTarget(c, dn.number, true),
          dest: contactDest(c),
          inService: !out,
          reason: out ? 'device out of service' : undefined,
        },
      ];
    }
    return this.viaSoftswitch(dn.number, 'softswitch', all);
  }

  private noRoute(dn: DnConfig): Resolution {
    const contact = dn.options.contact?.trim() ?? '';
    if (contact === '*') return { mode: 'unreachable', inService: false, reason: 'not registered' };
    if (contact !== '') return { mode: 'unreachable', inService: false, reason: `unusable contact ${contact}` };
    return { mode: 'unreachable', inService: false, reason: `no softswitch prefix matches ${dn.number}` };
  }

  /**
   * Softswitch routes for `number`, in selection order, in-service ones first (behaviour §3.3:
   * OUT ones are dropped; when all are OUT the preferred one is returned with inService false).
   */
  private viaSoftswitch(number: string, mode: 'softswitch' | 'agent-phone', all = false): Deliverable[] {
    const inService: Deliverable[] = [];
    const out: Deliverable[] = [];
    for (const cand of this.config.softswitchCandidates(number)) {
      const c = this.softswitchContact(cand.dn);
      if (!c) continue;
      const isOut = this.service.isOutOfService(cand.dn);
      const d: Deliverable = {
        mode,
        target: contactTarget(c, number, false),
        dest: contactDest(c),
        via: cand.dn,
        inService: !isOut,
        reason: isOut ? `softswitch ${cand.dn} out of service` : undefined,
      };
      (isOut ? out : inService).push(d);
      if (!all && !isOut) break;
    }
    if (out.length > 0 && inService.length === 0) {
      out[0].reason = 'every matching softswitch is out of service';
    }
    return all ? [...inService, ...out] : [...inService, ...out].slice(0, 1);
  }

  private softswitchContact(name: string) {
    return parseDeviceContact(this.config.getDn(name)?.options.contact);
  }
}
