import type { ConfigStore } from '../../config/config-store.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { ContactCenterEventBus } from '../events.js';
import { AgentService } from './agent-service.js';
import { AgentSessionRepository } from './agent-session-repository.js';
import {
  type AgentStateFilter,
  type AgentStatusEntry,
  createAgentStatusProvider,
  type DnCallProbe,
} from './agent-status-provider.js';
import { ConfigDirectoryAdapter } from './config-directory-adapter.js';
import { bridgeDnServiceEvents } from './dn-service-event-bridge.js';
import { type AgentReachabilitySource, ReachabilityAgentPhoneAdapter } from './reachability-agent-phone-adapter.js';

/** Dependencies of {@link createAgentsModule}. */
export interface AgentsModuleDeps {
  readonly store: ConfigStore;
  /** The wired reachability layer (`createReachability`). */
  readonly reachability: AgentReachabilitySource;
  /** Data directory: logins persist in `agent-sessions.sqlite` there. */
  readonly dataDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The bus shared with call control and the CTI gateway (default: a new one). */
  readonly bus?: ContactCenterEventBus;
}

/** The wired agent layer. */
export interface AgentsModule {
  readonly bus: ContactCenterEventBus;
  readonly agents: AgentService;
  /** Reachability as agents and the router see it (pass to `RoutingPointRouter`). */
  readonly reachability: ReachabilityAgentPhoneAdapter;
  /** `agents` of `GET /api/status`. */
  readonly statusProvider: (filter?: AgentStateFilter) => AgentStatusEntry[];
  /** Tells the status lines which DNs are on a call (call control is wired after the agents). */
  useCallProbe(probe: DnCallProbe): void;
  /** Stops listening, closes the session database (does not log anyone out). */
  close(): void;
}

/**
 * Wires agents over the configuration store and the reachability layer: restores persisted
 * logins (re-binding their agent-phones), and publishes DN service changes as
 * EventDNOutOfService / EventDNBackInService on the bus.
 */
export function createAgentsModule(deps: AgentsModuleDeps): AgentsModule {
  const logger = deps.logger.child({ layer: 'agents' });
  const bus =
    deps.bus ?? new ContactCenterEventBus((err) => logger.error({ err }, 'contact-center event listener failed'));
  const reachability = new ReachabilityAgentPhoneAdapter(deps.reachability);
  const repository = AgentSessionRepository.inDataDir(deps.dataDir);
  const agents = new AgentService({
    directory: new ConfigDirectoryAdapter(deps.store),
    reachability,
    bus,
    clock: deps.clock,
    logger,
    repository,
  });
  const restored = agents.restore();
  if (restored > 0) logger.info({ restored }, 'agent logins restored');
  const stopBridge = bridgeDnServiceEvents(reachability, bus);
  let callProbe: DnCallProbe | undefined;
  return {
    bus,
    agents,
    reachability,
    statusProvider: createAgentStatusProvider(agents, () => callProbe),
    useCallProbe(probe) {
      callProbe = probe;
    },
    close() {
      stopBridge();
      agents.close();
      repository.close();
    },
  };
}
