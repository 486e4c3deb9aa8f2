/**
 * `GET /api/status` (interfaces §5, docs/admin-api.md): the live state of the server — the
 * registrar's bindings, the devices' service state, the agents, the calls (active, and waiting
 * on routing points), the calls lost in the last restart, and the load of the process.
 */
import { cpus } from 'node:os';
import type { AgentStatusEntry } from '../contact-center/agents/agent-status-provider.js';
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

/** Where the sections of {@link ServerStatus} come from (the layers the composition root built). */
export interface StatusSources {
  /** `registrations` and `devices` (registrar and reachability). */
  registrationsAndDevices(): Pick<ServerStatus, 'registrations' | 'devices'>;
  agents(): AgentStatusEntry[];
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

  /** The status body; the load figures cover about the last second, whoever read it before. */
  status(): ServerStatus {
    return {
      ...this.sources.registrationsAndDevices(),
      agents: this.sources.agents(),
      calls: { active: this.sources.activeCalls(), waiting: this.sources.waitingCalls() },
      lostCalls: this.sources.lostCalls,
      load: {
        cpuPercent: this.load.cpuPercent(),
        cpuCount: cpus().length,
        eventLoopLagMs: this.load.eventLoopLagMs(),
        eventLoopLagMaxMs: this.load.eventLoopLagMaxMs(),
      },
    };
  }
}
