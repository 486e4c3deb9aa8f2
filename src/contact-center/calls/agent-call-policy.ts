/**
 * {@link CallAgentPolicy} over the agent service: `reject-call-notready` (behaviour §9).
 */
import type { AgentService } from '../agents/agent-service.js';
import { rejectsCallWhenNotReady } from '../routing/reject-call-notready-policy.js';
import type { CallAgentPolicy } from './call-ports.js';

/** Agent-state checks call control makes before ringing a DN for a routed/transferred/direct call. */
export class AgentCallPolicy implements CallAgentPolicy {
  constructor(private readonly agents: AgentService) {}

  rejectsCall(dn: string): boolean {
    return rejectsCallWhenNotReady(this.agents, dn);
  }
}
