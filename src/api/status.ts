/**
 * `GET /api/status` (interfaces §5, docs/admin-api.md): the live state of the server — the
 * registrar's bindings, the devices' service state, the agents, the calls (active, and waiting
 * on routing points), the calls lost in the last restart, and the load of the process.
 */
import { cpus } from 'node:os';
import type { AgentStateFilter, AgentStatusEntry } from '../contact-center/agents/agent-status-provider.js';
import type { LostCall } from '../contact-center/calls/call-journal.js';
import type { DeviceStatus } from '../reachability/oos-prober.js';
import type { RegistrationStatus } from '../registrar/registrar-module.js';
import type { ConfigQueueStatus } from './admin/change-set-queue.js';
import type { LoadMeter } from './load-meter.js';

/** The body of `GET /api/status`. */
export interface ServerStatus {
  /** Registered contacts. */
  registrations: RegistrationStatus[];
  /** Devices with a contact and their in/out-of-service state (OOS detection). */
  devices: DeviceStatus[];
  /** Every configured agent, logged in or not. */
  agents: AgentStatusEntry[];
  /** Live calls, and calls waiting on a routing point for an agent. */
  calls: { active: number; waiting: number };
  /** Calls that were active when the previous process stopped. */
  lostCalls: readonly LostCall[];
  load: {
    /** CPU use of the process over about the last second, percent of one core. */
    cpuPercent: number;
    cpuCount: number;
    /** Mean event-loop delay beyond the 10 ms sampling interval over about the last second. */
    eventLoopLagMs: number;
    /** Largest event-loop delay beyond the sampling interval over about the last second. */
    eventLoopLagMaxMs: number;
  };
  /** The configuration change-set queue (behaviour §13); added by the admin API, which owns the queue. */
  config?: ConfigQueueStatus;
}

/** The sections `GET /api/status?sections=` may name (interfaces §5); `calls` carries `lostCalls` too. */
export const STATUS_SECTIONS = ['load', 'config', 'agents', 'devices', 'registrations', 'calls'] as const;
/** One name of {@link STATUS_SECTIONS}. */
export type StatusSection = (typeof STATUS_SECTIONS)[number];

/** What a `GET /api/status` reader asked for: some sections only, and agents in some states only. */
export interface StatusQuery {
  /** Absent: every section (the whole {@link ServerStatus}). */
  sections?: ReadonlySet<StatusSection>;
  agentState?: AgentStateFilter;
}

/** Where the sections of {@link ServerStatus} come from (the layers the composition root built). */
export interface StatusSources {
  /** `registrations` (the registrar's bindings). */
  registrations(): ServerStatus['registrations'];
  /** `devices` (reachability: the probed devices), computed apart: a migration reads it per batch. */
  devices(): ServerStatus['devices'];
  agents(filter?: AgentStateFilter): AgentStatusEntry[];
  activeCalls(): number;
  waitingCalls(): number;
  lostCalls: readonly LostCall[];
}

/** Answers `GET /api/status`; the load figures come from `load` (sampled between its start and stop). */
export class StatusReporter {
  constructor(
    private readonly sources: StatusSources,
    private readonly load: LoadMeter,
  ) {}

  /**
   * The status body, or only the sections `query` asks for (only those are computed: a poller
   * of `load` does not pay for thousands of agents and registrations); the load figures cover
   * about the last second, whoever read it before. `config` is added by the admin API.
   */
  status(query: StatusQuery = {}): Partial<ServerStatus> {
    const want = (s: StatusSection): boolean => !query.sections || query.sections.has(s);
    const out: Partial<ServerStatus> = {};
    if (want('registrations')) out.registrations = this.sources.registrations();
    if (want('devices')) out.devices = this.sources.devices();
    if (want('agents')) out.agents = this.sources.agents(query.agentState);
    if (want('calls')) {
      out.calls = { active: this.sources.activeCalls(), waiting: this.sources.waitingCalls() };
      out.lostCalls = this.sources.lostCalls;
    }
    if (want('load'))
      out.load = {
        cpuPercent: this.load.cpuPercent(),
        cpuCount: cpus().length,
        eventLoopLagMs: this.load.eventLoopLagMs(),
        eventLoopLagMaxMs: this.load.eventLoopLagMaxMs(),
      };
    return out;
  }
}
