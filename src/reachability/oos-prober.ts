import { Counter, Gauge, Registry } from 'prom-client';
import type { TransportAddress } from '../sip/message/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { OptionsResult, OptionsSender } from './options-sender.js';

/** OOS state of a probed device (behaviour §5.1; interfaces §5 `devices[].state`). */
export type DeviceState = 'unknown' | 'in-service' | 'out-of-service';

/** A device to probe: a DN with a static contact and `oos-check > 0` (behaviour §5.1). */
export interface ProbeTarget {
  /** DN number or name (e.g. `Softswitch`). */
  dn: string;
  /** Request-URI of the OPTIONS (`sip:host:port[;transport=x]`). */
  uri: string;
  dest: TransportAddress;
  /** `oos-check`, seconds between probes (> 0). */
  checkSeconds: number;
  /** `oos-force`, seconds to wait for an answer; 0 or ≥ 32 means 32 (Timer F). */
  forceSeconds: number;
  /** `oos-failure-codes`: final codes that count as a failed probe (default none). */
  failureCodes?: readonly number[];
  /** `oos-recovery-count`: answered probes in a row needed to leave OUT (default 1). */
  recoveryCount?: number;
  /** `oos-options-max-forwards` (default 70). */
  maxForwards?: number;
}

/** What passive detection reports about an INVITE sent to a device (behaviour §5.1, §3.3). */
export type InviteFailureKind = 'timeout' | 'transport-error' | { status: number };

/** Status of a device for `/api/status` (interfaces §5). */
export interface DeviceStatus {
  dn: string;
  state: DeviceState;
  /** ISO time of the last probe sent, if any. */
  lastProbe?: string;
  /** Why the device is out of service, when it is. */
  reason?: string;
}

/** Domain events of the prober (delegate interface). */
export interface OosListener {
  /** IN/UNKNOWN → OUT: `EventDNOutOfService` on this DN. */
  outOfService?(dn: string, reason: string): void;
  /** OUT → IN: `EventDNBackInService` on this DN. */
  backInService?(dn: string): void;
  /** Any state change, including UNKNOWN → IN. */
  stateChanged?(dn: string, from: DeviceState, to: DeviceState): void;
  /** A probe was sent (`lastProbe` moved), whatever its outcome; for live status views. */
  probed?(dn: string): void;
}

/**
 * Who probes which device (docs/cluster.md, "Device health"): a single server probes every
 * device itself (no gate); a node of a cluster probes only the devices whose lease it holds and
 * takes the others' states from the cluster ({@link OosProber.applyRemote}).
 */
export interface ProbeGate {
  /** Whether this node sends the device's OPTIONS now. */
  probes(dn: string): boolean;
  /**
   * What this node found itself: called after each of its probes (`changed` false when the state
   * stayed) and after each transition of passive detection; not for states applied from elsewhere.
   */
  observed?(dn: string, state: DeviceState, reason: string | undefined, changed: boolean): void;
}

/** Dependencies of {@link OosProber}. */
export interface OosProberDeps {
  clock: Clock;
  sender: OptionsSender;
  logger: Logger;
  /** Where metrics are registered (default: a private registry). */
  registry?: Registry;
  /** Random source in [0, 1) for the start-up jitter (default Math.random). */
  random?: () => number;
  /** Final status codes that count as failure (`oos-failure-codes`, default none). */
  failureCodes?: readonly number[];
}

/** Timer F (64·T1, RFC 3261 §17.1.2.2): the wait used when `oos-force` is 0 or ≥ 32 s. */
export const OOS_FORCE_DEFAULT_SECONDS = 32;

interface Device {
  target: ProbeTarget;
  state: DeviceState;
  reason?: string;
  timer?: TimerHandle;
  pending?: { id: number; deadline: TimerHandle };
  lastProbe?: number;
  /** Answered probes in a row while OUT (oos-recovery-count). */
  successes: number;
}

/**
 * Out-of-service detection by SIP OPTIONS (behaviour §5.1): one probe every `oos-check` s
 * (the first after a 0–10 % random jitter, then at a fixed period so that the jitter keeps
 * spreading thousands of devices), at most one pending probe per device, OUT when no final
 * answer comes within `oos-force` s or on a transport error, IN on the first final answer of
 * any code. One Clock timer per device plus one per pending probe.
 */
export class OosProber {
  private readonly devices = new Map<string, Device>();
  private readonly listeners: OosListener[] = [];
  private seq = 0;
  private readonly random: () => number;
  private readonly failureCodes: ReadonlySet<number>;
  private readonly transitions: Counter<'to'>;
  private readonly probes: Counter<'result'>;
  private stopped = false;
  private gate: ProbeGate | undefined;

  constructor(private readonly deps: OosProberDeps) {
    this.random = deps.random ?? Math.random;
    this.failureCodes = new Set(deps.failureCodes ?? []);
    const registry = deps.registry ?? new Registry();
    this.transitions =
      (registry.getSingleMetric('sipserver_oos_transitions_total') as Counter<'to'> | undefined) ??
      new Counter({
        name: 'sipserver_oos_transitions_total',
        help: 'OOS state transitions of probed devices',
        labelNames: ['to'],
        registers: [registry],
      });
    this.probes =
      (registry.getSingleMetric('sipserver_oos_probes_total') as Counter<'result'> | undefined) ??
      new Counter({
        name: 'sipserver_oos_probes_total',
        help: 'OPTIONS probes by outcome',
        labelNames: ['result'],
        registers: [registry],
      });
    if (!registry.getSingleMetric('sipserver_oos_devices')) {
      const devices = this.devices;
      new Gauge({
        name: 'sipserver_oos_devices',
        help: 'Probed devices by OOS state',
        labelNames: ['state'],
        registers: [registry],
        collect() {
          const n: Record<DeviceState, number> = { unknown: 0, 'in-service': 0, 'out-of-service': 0 };
          for (const d of devices.values()) n[d.state]++;
          for (const s of Object.keys(n) as DeviceState[]) this.set({ state: s }, n[s]);
        },
      });
    }
  }

  /** Subscribe to transitions; returns an unsubscribe function. */
  addListener(l: OosListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Who probes which device (a cluster's device health); undefined: this server probes every
   * device (the default). Consulted at each device's tick.
   */
  useGate(gate: ProbeGate | undefined): void {
    this.gate = gate;
  }

  /**
   * The gate now lets this node probe the device: its next probe leaves after a fresh 0–10 %
   * jitter of `oos-check` instead of at its next tick (a node that took over a device probes it
   * at once, not up to `oos-check` later). A probe still pending is kept.
   */
  wake(dn: string): void {
    const d = this.devices.get(dn);
    if (!d || this.stopped) return;
    this.deps.clock.clearTimeout(d.timer);
    this.schedule(d, this.random() * 0.1 * d.target.checkSeconds * 1000);
  }

  /**
   * A state another node found (a cluster's device health): set as if this node had found it, so
   * the listeners (CTI `EventDNOutOfService` / `EventDNBackInService`, the DNs behind a
   * softswitch, nailed-up connections) run here as on the node that probed. Not reported back to
   * the gate. Ignored for a device not probed here and for `unknown`.
   * @returns whether the device is probed here
   */
  applyRemote(dn: string, state: DeviceState, reason?: string): boolean {
    const d = this.devices.get(dn);
    if (!d) return false;
    if (state !== 'unknown') this.set(d, state, reason, 'remote');
    return true;
  }

  /** Number of devices probed. */
  get size(): number {
    return this.devices.size;
  }

  /**
   * Start probing a device, or update it. A change of address or timing restarts its
   * schedule (first probe after a fresh jitter) and keeps its state.
   */
  upsert(target: ProbeTarget): void {
    if (!(target.checkSeconds > 0)) {
      this.remove(target.dn);
      return;
    }
    const old = this.devices.get(target.dn);
    if (old && sameTarget(old.target, target)) {
      old.target = target; // failure codes, recovery count, Max-Forwards: next probe
      return;
    }
    if (old) this.cancel(old);
    const d: Device = { target, state: old?.state ?? 'unknown', reason: old?.reason, successes: 0 };
    this.devices.set(target.dn, d);
    if (!this.stopped) this.schedule(d, this.random() * 0.1 * target.checkSeconds * 1000);
  }

  /** Stop probing a device and forget its state. */
  remove(dn: string): void {
    const d = this.devices.get(dn);
    if (!d) return;
    this.cancel(d);
    this.devices.delete(dn);
  }

  /** True when the DN is probed. */
  has(dn: string): boolean {
    return this.devices.has(dn);
  }

  /** Every probed DN. */
  dns(): IterableIterator<string> {
    return this.devices.keys();
  }

  /** State of a device; `unknown` for one not probed. */
  state(dn: string): DeviceState {
    return this.devices.get(dn)?.state ?? 'unknown';
  }

  /** True when the DN is probed and OUT. */
  isOutOfService(dn: string): boolean {
    return this.devices.get(dn)?.state === 'out-of-service';
  }

  /** Status rows for `/api/status` `devices`. */
  snapshot(): DeviceStatus[] {
    const out: DeviceStatus[] = [];
    for (const d of this.devices.values()) {
      out.push({
        dn: d.target.dn,
        state: d.state,
        lastProbe: d.lastProbe === undefined ? undefined : new Date(d.lastProbe).toISOString(),
        reason: d.state === 'out-of-service' ? d.reason : undefined,
      });
    }
    return out;
  }

  /**
   * Passive detection (behaviour §5.1, §3.3): an INVITE to the device timed out, hit a
   * transport error, or got 503 → OUT at once. Other final answers (4xx, 6xx) are the callee's
   * answer and never mark the device. Ignored for devices not probed (`oos-check = 0`).
   */
  reportInviteFailure(dn: string, kind: InviteFailureKind): void {
    const d = this.devices.get(dn);
    if (!d) return;
    let changed: boolean;
    if (typeof kind === 'object') {
      if (kind.status !== 503) return;
      changed = this.set(d, 'out-of-service', 'INVITE answered 503');
    } else {
      changed = this.set(d, 'out-of-service', kind === 'timeout' ? 'INVITE timed out' : 'INVITE transport error');
    }
    if (changed) this.observed(d, true);
  }

  /** Stop every timer; pending probes' answers are ignored. */
  stop(): void {
    this.stopped = true;
    for (const d of this.devices.values()) this.cancel(d);
  }

  private schedule(d: Device, delayMs: number): void {
    d.timer = this.deps.clock.setTimeout(() => this.tick(d), delayMs);
  }

  private tick(d: Device): void {
    if (this.devices.get(d.target.dn) !== d || this.stopped) return;
    this.schedule(d, d.target.checkSeconds * 1000);
    if (this.gate && !this.gate.probes(d.target.dn)) return; // another node of the cluster probes it
    if (d.pending) {
      this.deps.logger.debug({ dn: d.target.dn }, 'OOS probe still pending: no new probe');
      return;
    }
    this.probe(d);
  }

  private probe(d: Device): void {
    const id = ++this.seq;
    const force = d.target.forceSeconds;
    const waitMs = (force > 0 && force < OOS_FORCE_DEFAULT_SECONDS ? force : OOS_FORCE_DEFAULT_SECONDS) * 1000;
    d.lastProbe = this.deps.clock.now();
    this.notify(d.target.dn, (l) => l.probed?.(d.target.dn));
    const deadline = this.deps.clock.setTimeout(() => {
      if (d.pending?.id !== id) return;
      d.pending = undefined;
      this.probes.inc({ result: 'timeout' });
      this.observed(d, this.set(d, 'out-of-service', `no final answer to OPTIONS within ${waitMs / 1000} s`));
    }, waitMs);
    d.pending = { id, deadline };
    let p: Promise<OptionsResult>;
    try {
      p = this.deps.sender.send(d.target.uri, d.target.dest, waitMs, d.target.maxForwards);
    } catch (err) {
      p = Promise.resolve({ kind: 'transport-error', error: String(err) });
    }
    p.then(
      (r) => this.result(d, id, r),
      (err: unknown) => this.result(d, id, { kind: 'transport-error', error: String(err) }),
    );
  }

  private result(d: Device, id: number, r: OptionsResult): void {
    if (d.pending?.id !== id || this.devices.get(d.target.dn) !== d) {
      this.probes.inc({ result: 'late' });
      this.deps.logger.info({ dn: d.target.dn, result: r }, 'late OPTIONS answer after oos-force ignored');
      return;
    }
    this.deps.clock.clearTimeout(d.pending.deadline);
    d.pending = undefined;
    let changed = false;
    if (r.kind === 'final') {
      if (this.failureCodes.has(r.status) || d.target.failureCodes?.includes(r.status)) {
        this.probes.inc({ result: 'failure-code' });
        changed = this.set(d, 'out-of-service', `OPTIONS answered ${r.status}`);
      } else {
        this.probes.inc({ result: 'answered' });
        d.successes++;
        // oos-recovery-count: hysteresis only on the way back from OUT.
        if (d.state !== 'out-of-service' || d.successes >= (d.target.recoveryCount ?? 1))
          changed = this.set(d, 'in-service');
      }
    } else if (r.kind === 'timeout') {
      this.probes.inc({ result: 'timeout' });
      changed = this.set(d, 'out-of-service', 'OPTIONS transaction timed out');
    } else {
      this.probes.inc({ result: 'transport-error' });
      changed = this.set(d, 'out-of-service', `transport error${r.error ? `: ${r.error}` : ''}`);
    }
    this.observed(d, changed);
  }

  /** Tells the gate what this node found itself. */
  private observed(d: Device, changed: boolean): void {
    if (!this.gate?.observed) return;
    try {
      this.gate.observed(d.target.dn, d.state, d.reason, changed);
    } catch (err) {
      this.deps.logger.error({ err, dn: d.target.dn }, 'OOS gate failed');
    }
  }

  /** @returns whether the state changed */
  private set(d: Device, to: DeviceState, reason?: string, source: 'local' | 'remote' = 'local'): boolean {
    if (to === 'out-of-service') d.successes = 0;
    const from = d.state;
    if (from === to) {
      if (source === 'remote' && to === 'out-of-service') d.reason = reason;
      return false;
    }
    d.state = to;
    d.reason = reason;
    this.transitions.inc({ to });
    const dn = d.target.dn;
    const how = source === 'remote' ? { from: 'cluster' } : {};
    if (to === 'out-of-service') this.deps.logger.warn({ dn, reason, ...how }, 'device out of service');
    else this.deps.logger.info({ dn, from, ...how }, 'device in service');
    this.notify(dn, (l) => {
      l.stateChanged?.(dn, from, to);
      if (to === 'out-of-service') l.outOfService?.(dn, reason ?? '');
      else if (from === 'out-of-service') l.backInService?.(dn);
    });
    return true;
  }

  /** Calls `fn` on every listener; a throwing listener is logged and the others still run. */
  private notify(dn: string, fn: (l: OosListener) => void): void {
    for (const l of [...this.listeners]) {
      try {
        fn(l);
      } catch (err) {
        this.deps.logger.error({ err, dn }, 'OOS listener failed');
      }
    }
  }

  private cancel(d: Device): void {
    this.deps.clock.clearTimeout(d.timer);
    d.timer = undefined;
    if (d.pending) this.deps.clock.clearTimeout(d.pending.deadline);
    d.pending = undefined;
  }
}

function sameTarget(a: ProbeTarget, b: ProbeTarget): boolean {
  return (
    a.uri === b.uri &&
    a.checkSeconds === b.checkSeconds &&
    a.forceSeconds === b.forceSeconds &&
    a.dest.host === b.dest.host &&
    a.dest.port === b.dest.port &&
    a.dest.transport === b.dest.transport
  );
}
