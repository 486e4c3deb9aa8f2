/**
 * {@link CallAgentPolicy} over the agent service: `reject-call-notready` (behaviour §9).
 */
import { optionBoolean } from '../../config/option-table.js';
import type { AgentService } from '../agents/agent-service.js';
import { AgentState } from '../agents/agent-state.js';
import { rejectsCallWhenNotReady } from '../routing/reject-call-notready-policy.js';
import { OPTION_REJECT_CALL_NOTREADY } from '../routing/routing-options.js';
import type { CallAgentPolicy, CallDirectory } from './call-ports.js';

/**
 * Agent-state checks call control makes before ringing a DN for a routed/transferred/direct call.
 * With `directory` (call control's {@link AgentPhoneOptionDirectory}), the option is read as for
 * the device the DN rings now: a DN worked on an `agent-phone` takes the value of the
 * agent-phone's softswitch (behaviour §2.2, §7), as the remote-agent recipes configure it.
 */
export class AgentCallPolicy implements CallAgentPolicy {
  constructor(
    private readonly agents: AgentService,
    private readonly directory?: Pick<CallDirectory, 'effectiveOption'>,
  ) {}

  rejectsCall(dn: string): boolean {
    if (!this.directory) return rejectsCallWhenNotReady(this.agents, dn);
    if (!optionBoolean(OPTION_REJECT_CALL_NOTREADY, this.directory.effectiveOption(dn, OPTION_REJECT_CALL_NOTREADY)))
      return false;
    const session = this.agents.sessionByDn(dn);
    if (!session) return true;
    return session.status.state !== AgentState.Ready && session.status.state !== AgentState.BusyReady;
  }
}
