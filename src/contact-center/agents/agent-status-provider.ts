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
 * Returns the provider that fills `agents` in `GET /api/status` (interfaces §5): the logged-in
 * agents first (login order), then, when the directory can list them, every configured agent
 * not logged in, with state `LoggedOut`, work mode `Unknown` and its default DN.
 */
export function createAgentStatusProvider(agents: AgentService): () => AgentStatusEntry[] {
  return () => {
    const out: AgentStatusEntry[] = agents.sessions().map((s) => ({
      id: s.agentId,
      dn: s.dn,
      state: s.status.state,
      workMode: s.status.workMode,
      ...(s.agentPhone !== undefined ? { agentPhone: s.agentPhone } : {}),
    }));
    for (const a of agents.directory.listAgents?.() ?? []) {
      if (!agents.sessionByAgent(a.id)) out.push({ id: a.id, dn: a.dn, state: 'LoggedOut', workMode: 'Unknown' });
    }
    return out;
  };
}
