/**
 * The admin console's live feed (docs/admin-api.md, "Live stream"): follows the contact-centre
 * bus, the agents, the change feed, the registrar and the OOS prober through {@link LiveSources},
 * coalesces what changed and hands it to the stream clients at most every `flushMs`.
 */
import type { ContactCenterEvent } from '../../contact-center/events.js';
import type { CommittedChangeSet } from '../../config/change-set.js';
import type { DeviceState } from '../../reachability/oos-prober.js';
import { LiveCalls } from './live-calls.js';
import type { ClusterView } from '../../cluster/cluster-types.js';
import type {
  ActiveCall,
  AgentStatusEntry,
  ChangeSetSummary,
  ClusterDelta,
  ConfigQueueStatus,
  DeviceStatus,
  DeviceTransition,
  LiveEvents,
  LiveSnapshot,
  LoadDelta,
  RegistrationStatus,
  ServerStatus,
} from './live-types.js';

/** Where the live state comes from (the composition root binds the layers). */
export interface LiveSources {
  /** Every section of `GET /api/status` but `config`. */
  status(): Omit<ServerStatus, 'config'>;
  /** The status line of one agent. */
  agent(id: string): AgentStatusEntry | undefined;
  /** Every registration row. */
  registrations(): RegistrationStatus[];
  /** Every probed device. */
  devices(): DeviceStatus[];
  /** Live and waiting call counts. */
  callCounts(): { active: number; waiting: number };
  /** The `load` section. */
  load(): ServerStatus['load'];
  onContactCenterEvent(l: (e: ContactCenterEvent) => void): () => void;
  /** An agent's session changed (login, state, logout). */
  onAgentChange(l: (agentId: string) => void): () => void;
  onChangeSet(l: (cs: CommittedChangeSet) => void): () => void;
  /** A DN's bindings changed (added, refreshed, removed). */
  onBindingsChange(l: (dn: string) => void): () => void;
  onDevice(l: { probed(dn: string): void; stateChanged(dn: string, to: DeviceState): void }): () => void;
  /** The cluster view (`GET /api/cluster`), read with each `load` tick while a stream is open. */
  cluster?(): Promise<ClusterView>;
}

/** A receiver of the hub's events (one stream). */
export type LiveReceiver = <K extends keyof LiveEvents>(event: K, data: LiveEvents[K]) => void;

/** Options of {@link LiveHub}. */
export interface LiveHubOptions {
  sources: LiveSources;
  /** The `config` section (the change-set queue); also set later by {@link LiveHub.bindConfigStatus}. */
  configStatus?: () => ConfigQueueStatus;
  /** Coalescing window (default 100 ms). */
  flushMs?: number;
  /** Period of `load` events (default 1000 ms). */
  loadMs?: number;
  /** Change-sets kept for the snapshot (default 20). */
  keepChangeSets?: number;
  /** Transitions kept per device (default 50). */
  keepTransitions?: number;
}

const FIRST_KEYS = 5;

/** Summarises a committed change-set for the console. */
export function summarizeChangeSet(cs: CommittedChangeSet): ChangeSetSummary {
  const counts: ChangeSetSummary['counts'] = {};
  for (const c of cs.changes) {
    const k = `${c.kind} ${c.op}` as const;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return {
    version: cs.version,
    time: cs.time,
    ...(cs.origin !== undefined ? { origin: cs.origin } : {}),
    size: cs.changes.length,
    counts,
    firstKeys: cs.changes.slice(0, FIRST_KEYS).map((c) => c.key),
  };
}

const NO_QUEUE: ConfigQueueStatus = {
  version: 0,
  queueDepth: 0,
  applying: false,
  lastApplyMs: 0,
  lastApplyLongestTurnMs: 0,
  appliedChangeSets: 0,
};

/**
 * Coalesces live changes for the console streams. It subscribes to its sources at construction:
 * build it with the layers (before the first probe or login), so the device history is complete.
 */
export class LiveHub {
  private readonly receivers = new Set<LiveReceiver>();
  private readonly calls = new LiveCalls();
  private readonly changeSets: ChangeSetSummary[] = [];
  private readonly history = new Map<string, DeviceTransition[]>();
  private readonly unsubscribe: Array<() => void>;
  private readonly dirty = {
    agents: new Set<string>(),
    devices: new Set<string>(),
    transitions: new Map<string, DeviceTransition[]>(),
    registrations: new Set<string>(),
    calls: new Map<string, ActiveCall | null>(),
    callCounts: false,
    changeSets: [] as ChangeSetSummary[],
  };
  private flushTimer: NodeJS.Timeout | undefined;
  private loadTimer: NodeJS.Timeout | undefined;
  private cluster: ClusterDelta | undefined;
  /** The cluster as last sent, without the lease times that change at every read. */
  private clusterKey = '';
  private readingCluster = false;
  private readonly flushMs: number;
  private configStatus: () => ConfigQueueStatus;

  constructor(private readonly opts: LiveHubOptions) {
    this.flushMs = opts.flushMs ?? 100;
    this.configStatus = opts.configStatus ?? (() => NO_QUEUE);
    const s = opts.sources;
    this.unsubscribe = [
      s.onContactCenterEvent((e) => {
        if (e.kind !== 'call') return;
        const c = this.calls.apply(e);
        if (!c || this.receivers.size === 0) return;
        if ('changed' in c) this.dirty.calls.set(c.changed.connId, c.changed);
        else this.dirty.calls.set(c.ended, null);
        this.dirty.callCounts = true;
        this.schedule();
      }),
      s.onAgentChange((id) => this.mark(this.dirty.agents, id)),
      s.onChangeSet((cs) => {
        const sum = summarizeChangeSet(cs);
        this.changeSets.push(sum);
        if (this.changeSets.length > (opts.keepChangeSets ?? 20)) this.changeSets.shift();
        if (this.receivers.size > 0) this.dirty.changeSets.push(sum);
        this.schedule();
      }),
      s.onBindingsChange((dn) => this.mark(this.dirty.registrations, dn)),
      s.onDevice({
        probed: (dn) => this.mark(this.dirty.devices, dn),
        stateChanged: (dn, to) => this.transition(dn, to),
      }),
    ];
  }

  /** Where the `config` section comes from (the HTTP server's change-set queue). */
  bindConfigStatus(fn: () => ConfigQueueStatus): void {
    this.configStatus = fn;
  }

  /** Adds a stream: it gets the snapshot at once, then the deltas; returns its removal. */
  attach(receiver: LiveReceiver): () => void {
    receiver('snapshot', this.snapshot());
    this.receivers.add(receiver);
    this.loadTimer ??= setInterval(() => {
      this.emit('load', this.loadDelta());
      void this.readCluster();
    }, this.opts.loadMs ?? 1000).unref();
    if (!this.cluster) void this.readCluster();
    return () => {
      this.receivers.delete(receiver);
      if (this.receivers.size === 0) {
        clearInterval(this.loadTimer);
        this.loadTimer = undefined;
      }
    };
  }

  /** The live calls (`GET /api/calls`). */
  activeCalls(): ActiveCall[] {
    return this.calls.list();
  }

  /** The first event of a stream. */
  snapshot(): LiveSnapshot {
    return {
      status: { ...this.opts.sources.status(), config: this.configStatus() },
      calls: this.calls.list(),
      changeSets: [...this.changeSets],
      deviceHistory: Object.fromEntries([...this.history].map(([dn, h]) => [dn, [...h]])),
      ...(this.cluster ? { cluster: this.cluster } : {}),
    };
  }

  /** Reads the cluster view; sends it when its nodes changed (not for lease times alone). */
  private async readCluster(): Promise<void> {
    const read = this.opts.sources.cluster;
    if (!read || this.readingCluster) return;
    this.readingCluster = true;
    try {
      const v = await read();
      const delta: ClusterDelta = { mode: v.mode, self: v.self, nodes: [...v.nodes] };
      const key = JSON.stringify(delta.nodes.map((n) => ({ ...n, leaseMs: 0 })));
      this.cluster = delta;
      if (key !== this.clusterKey) {
        this.clusterKey = key;
        this.emit('cluster', delta);
      }
    } catch {
      // Redis away: the console keeps the last view; the next tick tries again.
    } finally {
      this.readingCluster = false;
    }
  }

  /** Stops following the sources and the timers (the streams are ended by their owner). */
  close(): void {
    for (const u of this.unsubscribe) u();
    clearTimeout(this.flushTimer);
    clearInterval(this.loadTimer);
    this.receivers.clear();
  }

  private loadDelta(): LoadDelta {
    return { load: this.opts.sources.load(), config: this.configStatus() };
  }

  private transition(dn: string, to: DeviceState): void {
    const reason = to === 'out-of-service' ? this.opts.sources.devices().find((d) => d.dn === dn)?.reason : undefined;
    const t: DeviceTransition = { time: new Date().toISOString(), state: to, ...(reason ? { reason } : {}) };
    const h = this.history.get(dn) ?? [];
    h.push(t);
    if (h.length > (this.opts.keepTransitions ?? 50)) h.shift();
    this.history.set(dn, h);
    if (this.receivers.size > 0) {
      const d = this.dirty.transitions.get(dn) ?? [];
      d.push(t);
      this.dirty.transitions.set(dn, d);
    }
    this.mark(this.dirty.devices, dn);
    // A device going in or out of service is news an administrator waits for (and rare: one
    // per probe period at most): sent at once, with whatever else is pending, not coalesced.
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.flush();
    }
  }

  private mark(set: Set<string>, key: string): void {
    if (this.receivers.size === 0) return;
    set.add(key);
    this.schedule();
  }

  private schedule(): void {
    if (this.receivers.size === 0 || this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, this.flushMs);
    this.flushTimer.unref();
  }

  private flush(): void {
    const d = this.dirty;
    const s = this.opts.sources;
    if (d.agents.size > 0) {
      const rows = [...d.agents].map((id) => s.agent(id)).filter((a): a is AgentStatusEntry => a !== undefined);
      d.agents.clear();
      if (rows.length > 0) this.emit('agents', rows);
    }
    if (d.devices.size > 0) {
      const devices = s.devices().filter((x) => d.devices.has(x.dn));
      this.emit('devices', { devices, transitions: Object.fromEntries(d.transitions) });
      d.devices.clear();
      d.transitions.clear();
    }
    if (d.registrations.size > 0) {
      const by = new Map<string, RegistrationStatus[]>([...d.registrations].map((dn) => [dn, []]));
      for (const r of s.registrations()) by.get(r.dn)?.push(r);
      d.registrations.clear();
      this.emit(
        'registrations',
        [...by].map(([dn, bindings]) => ({ dn, bindings })),
      );
    }
    if (d.callCounts) {
      const changed: ActiveCall[] = [];
      const ended: string[] = [];
      for (const [connId, c] of d.calls) {
        if (c) changed.push(c);
        else ended.push(connId);
      }
      d.calls.clear();
      d.callCounts = false;
      const counts = s.callCounts();
      // A call whose last release never reached the bus must not stay listed for ever: when the
      // server has no call left, none is live.
      if (counts.active === 0 && this.calls.size > 0) {
        const gone = new Set(this.calls.clear());
        ended.push(...gone);
        changed.splice(0, changed.length, ...changed.filter((c) => !gone.has(c.connId)));
      }
      this.emit('calls', { ...counts, changed, ended });
    }
    if (d.changeSets.length > 0) this.emit('change-sets', d.changeSets.splice(0));
  }

  private emit<K extends keyof LiveEvents>(event: K, data: LiveEvents[K]): void {
    for (const r of [...this.receivers]) r(event, data);
  }
}
