import type { AgentService } from './agent-service.js';
import type { AgentSession } from './agent-session.js';
import { isBusy } from './agent-state.js';

/** One agent line of `GET /api/status` (interfaces §5). */
export interface AgentStatusEntry {
  readonly id: string;
  readonly dn: string;
  /** `Ready`, `NotReady`, `AfterCallWork`, `BusyReady`, `BusyNotReady`, `BusyAfterCallWork`. */
  readonly state: string;
  readonly workMode: string;
  readonly agentPhone?: string;
  /** The Not Ready reason code the agent gave (`RequestAgentNotReady.reasonCode`), while Not Ready. */
  readonly reasonCode?: string;
  /**
   * True while the agent's DN has a live call of any kind (a routed one, a direct inbound one, one
   * the agent made, a consultation); absent otherwise. A Busy state covers routed calls only.
   */
  readonly onCall?: true;
}

/** Whether a DN has a live call now (`CallControl.callsOnDn`); absent: not known. */
export type DnCallProbe = (dn: string) => boolean;

/**
 * Which agents `GET /api/status?agentState=` lists: `logged-in` (every state but `LoggedOut`) or
 * `busy` (the three Busy states: on a routed call, behaviour §7). Absent: every configured agent.
 */
export type AgentStateFilter = 'logged-in' | 'busy';

/**
 * Returns the provider that fills `agents` in `GET /api/status` (interfaces §5): the logged-in
 * agents first (login order), then, when the directory can list them, every configured agent
 * not logged in, with state `LoggedOut`, work mode `Unknown` and its default DN. With a filter
 * only sessions are visited, so the answer costs what the logged-in agents cost, not the directory.
 */
export function createAgentStatusProvider(
  agents: AgentService,
  onCall?: () => DnCallProbe | undefined,
): (filter?: AgentStateFilter) => AgentStatusEntry[] {
  return (filter) => {
    const out: AgentStatusEntry[] = [];
    const probe = onCall?.();
    for (const s of agents.sessions()) {
      if (filter === 'busy' && !isBusy(s.status.state)) continue;
      out.push(sessionEntry(s, probe));
    }
    if (filter !== undefined) return out;
    for (const a of agents.directory.listAgents?.() ?? []) {
      if (!agents.sessionByAgent(a.id)) out.push({ id: a.id, dn: a.dn, state: 'LoggedOut', workMode: 'Unknown' });
    }
    return out;
  };
}

/** The status line of a logged-in agent. */
function sessionEntry(s: AgentSession, onCall?: DnCallProbe): AgentStatusEntry {
  return {
    id: s.agentId,
    dn: s.dn,
    state: s.status.state,
    workMode: s.status.workMode,
    ...(s.agentPhone !== undefined ? { agentPhone: s.agentPhone } : {}),
    ...(s.status.reasonCode !== undefined ? { reasonCode: s.status.reasonCode } : {}),
    ...(onCall?.(s.dn) ? { onCall: true as const } : {}),
  };
}

/**
 * The status line of one agent (as in `GET /api/status`), logged in or not; undefined for an
 * agent that is neither logged in nor configured. For live views that follow one agent's changes.
 */
export function agentStatusEntry(
  agents: AgentService,
  agentId: string,
  onCall?: DnCallProbe,
): AgentStatusEntry | undefined {
  const s = agents.sessionByAgent(agentId);
  if (s) return sessionEntry(s, onCall);
  const a = agents.directory.getAgent(agentId);
  return a ? { id: a.id, dn: a.dn, state: 'LoggedOut', workMode: 'Unknown' } : undefined;
}
