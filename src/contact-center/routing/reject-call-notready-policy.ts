import type { AgentService } from '../agents/agent-service.js';
import { AgentState } from '../agents/agent-state.js';
import { optionBoolean } from '../../config/option-table.js';
import { OPTION_REJECT_CALL_NOTREADY } from './routing-options.js';

/**
 * `reject-call-notready` (behaviour §9, [C:S2, S3] + [I]): when the effective option is true on
 * `dn` and no agent is logged in there, or the agent is not Ready (NotReady, AfterCallWork, or a
 * Busy variant other than BusyReady), a call routed or transferred to `dn` must not ring it.
 * Call control asks this before ringing a DN for a direct/transferred call (answer 480);
 * calls the agent originates and consultations it set up are never checked.
 *
 * @returns true when the call must be rejected
 */
export function rejectsCallWhenNotReady(agents: AgentService, dn: string): boolean {
  if (!optionBoolean(OPTION_REJECT_CALL_NOTREADY, agents.directory.effectiveOption(dn, OPTION_REJECT_CALL_NOTREADY)))
    return false;
  const session = agents.sessionByDn(dn);
  if (!session) return true;
  return session.status.state !== AgentState.Ready && session.status.state !== AgentState.BusyReady;
}
