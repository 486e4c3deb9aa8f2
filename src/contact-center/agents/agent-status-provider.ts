import type { AgentService } from './agent-service.js';

/** One agent line of `GET /api/status` (interfaces §5). */
export interface AgentStatusEntry {
  readonly id: string;
  readonly dn: string;
  /** `Ready`, `NotReady`, `AfterCallWork`, `BusyReady`, `BusyNotReady`, `BusyAfterCallWork`. */
  readonly state: string;
  readonly workMode: string;
  readonly agentPhone?: string;
}

/**
 * Returns the provider the HTTP server calls to fill `agents` in `GET /api/status`: the logged-in
 * agents (a logged-out agent has no line; its state would be `LoggedOut`).
 */
export function createAgentStatusProvider(agents: AgentService): () => AgentStatusEntry[] {
  return () =>
    agents.sessions().map((s) => ({
      id: s.agentId,
      dn: s.dn,
      state: s.status.state,
      workMode: s.status.workMode,
      ...(s.agentPhone !== undefined ? { agentPhone: s.agentPhone } : {}),
    }));
}
