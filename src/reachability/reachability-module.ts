import type { Registry } from 'prom-client';
import type { ConfigStore } from '../config/config-store.js';
import type { DnConfig } from '../config/config-model.js';
import { optionBoolean } from '../config/option-table.js';
import {
  createRegistrar,
  type Registrar,
  type RegistrarDeps,
  type RegistrationStatus,
} from '../registrar/registrar-module.js';
import type { SipStack } from '../sip/stack/sip-stack.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { contactDest, contactProbeUri, parseDeviceContact } from './device-contact.js';
import {
  OosProber,
  type DeviceStatus,
  type InviteFailureKind,
  type OosListener,
  type ProbeTarget,
} from './oos-prober.js';
import type { OptionsSender } from './options-sender.js';
import { StackOptionsSender } from './options-sender-stack.js';
import { ReachabilityResolver, type RegistrationView } from './reachability-resolver.js';
import { SoftswitchDnIndex } from './softswitch-dn-index.js';
import type { AgentPhoneResult, Deliverable, InboundIdentity, Resolution } from './reachability-types.js';

/** The configuration reachability reads (implemented by `ConfigStore`). */
export type ReachabilityStore = Pick<
  ConfigStore,
  'getDn' | 'softswitchCandidates' | 'listDns' | 'subscribe' | 'effectiveOption'
>;

/** Dependencies of {@link createReachability}. */
export interface ReachabilityDeps {
  store: ReachabilityStore;
  registrations: RegistrationView;
  clock: Clock;
  logger: Logger;
  /** The SIP stack the real OPTIONS sender uses (unless `sender` is given). */
  stack?: Pick<SipStack, 'createRequest' | 'sendRequest' | 'contactFor'>;
  /** OPTIONS sender override (tests, benchmarks). */
  sender?: OptionsSender;
  registry?: Registry;
  /** Random source for probe jitter (tests). */
  random?: () => number;
}

/** What `GET /api/dns/{number}/status` answers (interfaces §5). */
export interface DnStatusView {
  mode: Resolution['mode'];
  target?: string;
  via?: string;
  inService: boolean;
  reason?: string;
  /** OOS state of the DN itself when it is probed. */
  device?: DeviceStatus['state'];
}

/** The wired reachability layer (behaviour §3, §5, §7, §12.3). */
export interface Reachability {
  readonly resolver: ReachabilityResolver;
  readonly prober: OosProber;
  /** Where a call to the DN goes now. */
  resolve(dn: string): Resolution;
  /** Ordered in-service routes for failover. */
  candidates(number: string): Deliverable[];
  /** `agent-phone` session binding (behaviour §7). */
  bindAgentPhone(dn: string, phone: string): AgentPhoneResult;
  unbindAgentPhone(dn: string): void;
  validateAgentPhone(dn: string, phone: string): AgentPhoneResult;
  /** Reverse lookup of a request from a softswitch (behaviour §3.4). */
  identifyInbound: ReachabilityResolver['identifyInbound'];
  /**
   * The softswitch a DN's calls prefer when all are in service (its agent-phone's, or its own
   * number's for a DN without contact), for `oos-propagate-to-dns` (behaviour §5.1).
   */
  preferredSoftswitch(dn: string): string | undefined;
  /** Passive OOS detection from call control (behaviour §5.1). */
  reportInviteFailure(dn: string, kind: InviteFailureKind): void;
  /** OOS transitions; returns an unsubscribe function. */
  addListener(l: OosListener): () => void;
  /** `/api/dns/{number}/status` body. */
  dnStatus(dn: string): DnStatusView;
  /** `/api/status` `devices`. */
  devices(): DeviceStatus[];
  close(): void;
}

/** The probe target of a DN, or undefined when it is not probed (behaviour §5.1 scope). */
export function probeTargetOf(dn: DnConfig, store: Pick<ConfigStore, 'effectiveOption'>): ProbeTarget | undefined {
  const c = parseDeviceContact(dn.options.contact);
  if (!c) return undefined; // `*`, empty: registered DNs use registration state (FIXME: optional probing)
  const check = Number(store.effectiveOption(dn.number, 'oos-check') ?? '0');
  if (!(check > 0)) return undefined;
  const force = Number(store.effectiveOption(dn.number, 'oos-force') ?? '0');
  const codes = (store.effectiveOption(dn.number, 'oos-failure-codes') ?? '')
    .split(',')
    .map((x) => Number(x.trim()))
    .filter((n) => Number.isInteger(n) && n >= 100 && n <= 699);
  const recovery = Number(store.effectiveOption(dn.number, 'oos-recovery-count') ?? '1');
  const mf = Number(store.effectiveOption(dn.number, 'oos-options-max-forwards') ?? '70');
  return {
    dn: dn.number,
    uri: contactProbeUri(c),
    dest: contactDest(c),
    checkSeconds: check,
    forceSeconds: Number.isFinite(force) ? force : 0,
    failureCodes: codes.length > 0 ? codes : undefined,
    recoveryCount: Number.isInteger(recovery) && recovery >= 1 ? recovery : 1,
    maxForwards: Number.isInteger(mf) && mf >= 0 && mf <= 255 ? mf : 70,
  };
}

/**
 * Wire reachability: the resolver over the live configuration and the registrar's bindings,
 * the OOS prober over the SIP stack, both following the change feed incrementally.
 */
export function createReachability(deps: ReachabilityDeps): Reachability {
  const logger = deps.logger.child({ layer: 'reachability' });
  const sender = deps.sender ?? (deps.stack ? new StackOptionsSender(deps.stack, logger) : undefined);
  if (!sender) throw new Error('createReachability needs a stack or a sender');
  const prober = new OosProber({ clock: deps.clock, sender, logger, registry: deps.registry, random: deps.random });
  const resolver = new ReachabilityResolver(deps.store, deps.registrations, prober, logger);
  const { store } = deps;

  const refresh = (dn: DnConfig): void => {
    const t = probeTargetOf(dn, store);
    if (t) prober.upsert(t);
    else prober.remove(dn.number);
  };
  // Softswitch → DNs behind it (oos-propagate-to-dns), kept from the change feed and the
  // agent-phone bindings so that a transition costs O(DNs behind the softswitch).
  const behind = new SoftswitchDnIndex({ phoneOf: (dn) => resolver.agentPhoneOf(dn), preferred: preferredSoftswitch });
  const offBindings = resolver.addBindingListener((dn) => behind.refresh(dn));
  const all = store.listDns(0, Number.MAX_SAFE_INTEGER).items;
  for (const dn of all) {
    resolver.addresses.applyDnChange(null, dn);
    behind.applyDnChange(null, dn);
    refresh(dn);
  }
  const unsubscribe = store.subscribe((cs) => {
    let serverChanged = false;
    for (const c of cs.changes) {
      if (c.kind === 'server') serverChanged = true;
      if (c.kind !== 'dn') continue;
      resolver.addresses.applyDnChange(c.old, c.new);
      behind.applyDnChange(c.old, c.new);
      if (c.old && (!c.new || c.new.number !== c.old.number)) prober.remove(c.old.number);
      if (c.new) refresh(c.new);
    }
    // Application-level oos-check/oos-force may change every device: rare, so walk them all.
    if (serverChanged) for (const dn of store.listDns(0, Number.MAX_SAFE_INTEGER).items) refresh(dn);
  });
  function preferredSoftswitch(dn: string): string | undefined {
    const d = store.getDn(dn);
    if (!d) return undefined;
    const phone = resolver.agentPhoneOf(d.number);
    if (phone === undefined && (d.options.contact?.trim() ?? '') !== '') return undefined;
    return store.softswitchCandidates(phone ?? d.number)[0]?.dn;
  }

  // DN service events (behaviour §5.1, §12.3): the probed device's own transitions, the same pair
  // on the agent DNs routed through a softswitch (`oos-propagate-to-dns`, default true), and
  // registration changes of `contact = *` DNs (behaviour §3.5, §15 item 1).
  const listeners = new Set<OosListener>();
  const notify = (dn: string, inService: boolean, reason: string): void => {
    for (const l of [...listeners]) {
      if (inService) l.backInService?.(dn);
      else l.outOfService?.(dn, reason);
    }
  };
  const dnsBehind = (device: string): string[] => {
    if (!optionBoolean('oos-propagate-to-dns', store.effectiveOption(device, 'oos-propagate-to-dns'))) return [];
    return behind.dnsBehind(device);
  };
  const offProber = prober.addListener({
    outOfService: (dn, reason) => {
      notify(dn, false, reason);
      for (const x of dnsBehind(dn)) notify(x, false, `${dn} out of service`);
    },
    backInService: (dn) => {
      notify(dn, true, '');
      for (const x of dnsBehind(dn)) notify(x, true, '');
    },
    stateChanged: (dn, from, to) => {
      for (const l of [...listeners]) l.stateChanged?.(dn, from, to);
    },
  });
  // A DN worked on an agent-phone is reached through the softswitch: its phone's registration
  // does not change its reachability.
  const offRegistrar = deps.registrations.addListener?.({
    registered: (dn) => {
      if (resolver.agentPhoneOf(dn) === undefined) notify(dn, true, '');
    },
    unregistered: (dn, reason) => {
      if (reason !== 'deconfigured' && resolver.agentPhoneOf(dn) === undefined)
        notify(dn, false, `registration ${reason}`);
    },
  });
  logger.info({ probed: prober.size }, 'reachability ready');

  return {
    resolver,
    prober,
    resolve: (dn) => resolver.resolve(dn),
    candidates: (n) => resolver.candidates(n),
    bindAgentPhone: (dn, p) => resolver.bindAgentPhone(dn, p),
    unbindAgentPhone: (dn) => resolver.unbindAgentPhone(dn),
    validateAgentPhone: (dn, p) => resolver.validateAgentPhone(dn, p),
    identifyInbound: (src, user): InboundIdentity | undefined => resolver.identifyInbound(src, user),
    reportInviteFailure: (dn, kind) => prober.reportInviteFailure(dn, kind),
    preferredSoftswitch,
    addListener(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    dnStatus(dn) {
      const r = resolver.resolve(dn);
      const number = store.getDn(dn)?.number ?? dn;
      const probed = prober.has(number) ? prober.state(number) : undefined;
      if (r.mode === 'unreachable') return { mode: r.mode, inService: false, reason: r.reason, device: probed };
      return { mode: r.mode, target: r.target, via: r.via, inService: r.inService, reason: r.reason, device: probed };
    },
    devices: () => prober.snapshot(),
    close() {
      unsubscribe();
      offBindings();
      offProber();
      offRegistrar?.();
      listeners.clear();
      prober.stop();
    },
  };
}

/** Dependencies of {@link wireRegistrarAndReachability}. */
export interface WireDeps {
  stack: Pick<SipStack, 'handle' | 'createRequest' | 'sendRequest' | 'contactFor'>;
  store: ConfigStore;
  clock: Clock;
  logger: Logger;
  /** Data directory: bindings persist in `registrar.sqlite` there (default: the store's). */
  dataDir?: string;
  /** The `/metrics` registry. */
  registry?: Registry;
  /** Extra registrar settings (tests). */
  registrar?: Partial<RegistrarDeps>;
  /** OPTIONS sender override (tests, benchmarks). */
  sender?: OptionsSender;
}

/** What {@link wireRegistrarAndReachability} gives the composition root. */
export interface RegistrarAndReachability {
  registrar: Registrar;
  reachability: Reachability;
  /** For `HttpServer.setStatusProviders({ dnStatus })`: `GET /api/dns/{number}/status`. */
  dnStatus(dn: DnConfig): DnStatusView;
  /** The `registrations` and `devices` parts of `GET /api/status` (merge with agents, calls, load). */
  statusSection(): { registrations: RegistrationStatus[]; devices: DeviceStatus[] };
  close(): void;
}

/**
 * Composition-root helper for `src/app.ts`: the registrar (REGISTER handler on `stack`,
 * bindings persisted in the data directory) and reachability (resolver + OOS prober over
 * `stack`), both following `store`.
 */
export function wireRegistrarAndReachability(deps: WireDeps): RegistrarAndReachability {
  const registrar = createRegistrar({
    stack: deps.stack,
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    dataDir: deps.dataDir ?? deps.store.dataDir,
    registry: deps.registry,
    ...deps.registrar,
  });
  const reachability = createReachability({
    store: deps.store,
    registrations: registrar.table,
    clock: deps.clock,
    logger: deps.logger,
    stack: deps.stack,
    sender: deps.sender,
    registry: deps.registry,
  });
  return {
    registrar,
    reachability,
    dnStatus: (dn) => reachability.dnStatus(dn.number),
    statusSection: () => ({
      registrations: registrar.status(),
      devices: reachability.devices(),
    }),
    close() {
      reachability.close();
      registrar.close();
    },
  };
}
