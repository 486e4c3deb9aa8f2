import { Gauge, type Registry } from 'prom-client';
import type { AgentService } from '../../contact-center/agents/agent-service.js';
import { AgentState } from '../../contact-center/agents/agent-state.js';
import type { CtiGateway } from './cti-gateway.js';

/**
 * Registers `/metrics` gauges of the contact centre: `sipserver_cti_connections` (open CTI
 * WebSockets) and `sipserver_agents{state}` (logged-in agents per state). Values are read at
 * scrape time. Returns the function that removes them.
 */
export function registerContactCenterMetrics(
  registry: Registry,
  agents: AgentService,
  gateway?: () => CtiGateway | undefined,
): () => void {
  new Gauge({
    name: 'sipserver_cti_connections',
    help: 'Open CTI WebSocket connections',
    registers: [registry],
    collect() {
      this.set(gateway?.()?.connectionCount ?? 0);
    },
  });
  new Gauge({
    name: 'sipserver_agents',
    help: 'Logged-in agents by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>();
      for (const s of Object.values(AgentState)) if (s !== AgentState.LoggedOut) counts.set(s, 0);
      for (const s of agents.sessions()) counts.set(s.status.state, (counts.get(s.status.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  return () => {
    registry.removeSingleMetric('sipserver_cti_connections');
    registry.removeSingleMetric('sipserver_agents');
  };
}
