/**
 * The console's picture of the server, built from the live stream (docs/admin-api.md, "Live
 * stream"): the snapshot replaces everything, each delta updates its part.
 */
import type {
  ActiveCall,
  AgentStatusEntry,
  ChangeSetSummary,
  ClusterDelta,
  DeviceStatus,
  DeviceTransition,
  LiveEvents,
  RegistrationStatus,
  ServerStatus,
} from '../../../src/api/admin/live-types';

/** How many change-sets and transitions the console keeps. */
const KEEP_CHANGE_SETS = 50;
const KEEP_TRANSITIONS = 50;

/** A registration with the time it expires (computed when it was received). */
export interface RegistrationRow extends RegistrationStatus {
  expiresAt: number;
}

/** What the console shows. */
export interface LiveState {
  devices: Map<string, DeviceStatus>;
  deviceHistory: Map<string, DeviceTransition[]>;
  agents: Map<string, AgentStatusEntry>;
  registrations: Map<string, RegistrationRow[]>;
  calls: Map<string, ActiveCall>;
  callCounts: { active: number; waiting: number };
  /** Newest last. */
  changeSets: ChangeSetSummary[];
  load: ServerStatus['load'];
  config: NonNullable<ServerStatus['config']>;
  /** The cluster's nodes (one, `single`, without `--redis`), once the server read them. */
  cluster?: ClusterDelta;
}

const rows = (list: RegistrationStatus[], now: number): RegistrationRow[] =>
  list.map((r) => ({ ...r, expiresAt: now + r.expires * 1000 }));

const keyed = <T>(list: T[], key: (t: T) => string): Map<string, T> => new Map(list.map((t) => [key(t), t]));

/** The state a snapshot gives. */
export function fromSnapshot(s: LiveEvents['snapshot'], now: number): LiveState {
  const regs = new Map<string, RegistrationRow[]>();
  for (const r of rows(s.status.registrations, now)) regs.set(r.dn, [...(regs.get(r.dn) ?? []), r]);
  return {
    devices: keyed(s.status.devices, (d) => d.dn),
    deviceHistory: new Map(Object.entries(s.deviceHistory)),
    agents: keyed(s.status.agents, (a) => a.id),
    registrations: regs,
    calls: keyed(s.calls, (c) => c.connId),
    callCounts: s.status.calls,
    changeSets: s.changeSets,
    load: s.status.load,
    config: s.status.config,
    ...(s.cluster ? { cluster: s.cluster } : {}),
  };
}

/** The state after a delta (a new object; the maps that changed are new too). */
export function applyDelta<K extends Exclude<keyof LiveEvents, 'snapshot'>>(
  st: LiveState,
  event: K,
  data: LiveEvents[K],
  now: number,
): LiveState {
  switch (event) {
    case 'agents': {
      const agents = new Map(st.agents);
      for (const a of data as LiveEvents['agents']) agents.set(a.id, a);
      return { ...st, agents };
    }
    case 'devices': {
      const d = data as LiveEvents['devices'];
      const devices = new Map(st.devices);
      for (const x of d.devices) devices.set(x.dn, x);
      const deviceHistory = new Map(st.deviceHistory);
      for (const [dn, t] of Object.entries(d.transitions))
        deviceHistory.set(dn, [...(deviceHistory.get(dn) ?? []), ...t].slice(-KEEP_TRANSITIONS));
      return { ...st, devices, deviceHistory };
    }
    case 'registrations': {
      const registrations = new Map(st.registrations);
      for (const r of data as LiveEvents['registrations']) {
        if (r.bindings.length === 0) registrations.delete(r.dn);
        else registrations.set(r.dn, rows(r.bindings, now));
      }
      return { ...st, registrations };
    }
    case 'calls': {
      const c = data as LiveEvents['calls'];
      const calls = new Map(st.calls);
      for (const x of c.changed) calls.set(x.connId, x);
      for (const id of c.ended) calls.delete(id);
      return { ...st, calls, callCounts: { active: c.active, waiting: c.waiting } };
    }
    case 'change-sets': {
      const sets = data as LiveEvents['change-sets'];
      const version = Math.max(st.config.version, ...sets.map((c) => c.version));
      return {
        ...st,
        changeSets: [...st.changeSets, ...sets].slice(-KEEP_CHANGE_SETS),
        config: { ...st.config, version },
      };
    }
    case 'load': {
      const l = data as LiveEvents['load'];
      return { ...st, load: l.load, config: l.config };
    }
    case 'cluster':
      return { ...st, cluster: data as LiveEvents['cluster'] };
    default:
      return st;
  }
}
