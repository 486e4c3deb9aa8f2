/**
 * `GET /api/status` (interfaces §5, docs/admin-api.md): the live state of the server — the
 * registrar's bindings, the devices' service state, the agents, the calls (active, and waiting
 * on routing points), the calls lost in the last restart, and the load of the process.
 */
import { cpus } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { AgentStatusEntry } from '../contact-center/agents/agent-status-provider.js';
import type { LostCall } from '../contact-center/calls/call-journal.js';
import type { DeviceStatus } from '../reachability/oos-prober.js';
import type { RegistrationStatus } from '../registrar/registrar-module.js';

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
    /** CPU use of the process since the previous status read, percent of one core. */
    cpuPercent: number;
    cpuCount: number;
    /** Mean event-loop delay beyond the 10 ms sampling interval since the previous read. */
    eventLoopLagMs: number;
  };
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

/** CPU use of this process between two `/api/status` reads. */
class CpuMeter {
  private last = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  percent(): number {
    const now = process.hrtime.bigint();
    const usage = process.cpuUsage(this.last);
    const elapsedUs = Number(now - this.lastAt) / 1000;
    this.last = process.cpuUsage();
    this.lastAt = now;
    if (elapsedUs <= 0) return 0;
    return Math.round(((usage.user + usage.system) / elapsedUs) * 1000) / 10;
  }
}

/** Answers `GET /api/status`; measures the event-loop lag between {@link start} and {@link stop}. */
export class StatusReporter {
  private readonly lag: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly cpu = new CpuMeter();

  constructor(private readonly sources: StatusSources) {}

  /** Starts sampling the event-loop delay. */
  start(): void {
    this.lag.enable();
  }

  /** Stops sampling. */
  stop(): void {
    this.lag.disable();
  }

  /** The status body; the load figures cover the time since the previous call. */
  status(): ServerStatus {
    // The histogram's samples include its own 10 ms sampling interval: report the excess only.
    const lagMs = Math.max(0, this.lag.mean / 1e6 - 10);
    this.lag.reset();
    return {
      ...this.sources.registrationsAndDevices(),
      agents: this.sources.agents(),
      calls: { active: this.sources.activeCalls(), waiting: this.sources.waitingCalls() },
      lostCalls: this.sources.lostCalls,
      load: {
        cpuPercent: this.cpu.percent(),
        cpuCount: cpus().length,
        eventLoopLagMs: Number.isFinite(lagMs) ? Math.round(lagMs * 100) / 100 : 0,
      },
    };
  }
}
