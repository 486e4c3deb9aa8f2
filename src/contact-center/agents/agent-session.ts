import type { AgentStatus } from './agent-state.js';

/** One logged-in agent: who, where, in which state, and since when idle. */
export interface AgentSession {
  readonly agentId: string;
  /** The DN the agent is logged in on (normalised). */
  readonly dn: string;
  readonly status: AgentStatus;
  /** Normalised `agent-phone` bound for this login session (behaviour §7), if any. */
  readonly agentPhone?: string;
  /** Clock time of the login. */
  readonly loggedInAt: number;
  /**
   * Clock time the agent last became Ready or finished a routed call; the router offers a call
   * to the Ready agent with the smallest value (longest idle).
   */
  readonly idleSince: number;
  /**
   * Who made the login: the agent itself (its own desktop) or an application acting for it (an
   * integration, a supervisor tool). Kept across restarts, so that the API layer can treat a
   * restored desktop login like one whose desktop has not come back yet. Absent: not known.
   */
  readonly loggedInBy?: 'agent' | 'application';
}
