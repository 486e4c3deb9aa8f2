import type { Reachability } from '../../reachability/reachability-module.js';
import type { AgentPhoneError } from '../../reachability/reachability-types.js';
import { AgentError, type AgentErrorReason } from './agent-error.js';
import type { AgentPhoneReachability } from './agent-phone-reachability.js';

const REASON: Record<AgentPhoneError, AgentErrorReason> = {
  empty: 'agent-phone-invalid',
  'internal-dn': 'agent-phone-internal-dn',
  'in-use': 'agent-phone-bound',
  'no-softswitch': 'agent-phone-no-softswitch',
};

/** The part of the reachability layer this adapter uses. */
export type AgentReachabilitySource = Pick<
  Reachability,
  'resolve' | 'bindAgentPhone' | 'unbindAgentPhone' | 'addListener'
> & {
  readonly resolver: Pick<Reachability['resolver'], 'resolveExternal'>;
};

/**
 * {@link AgentPhoneReachability} over the real reachability layer (`src/reachability`):
 * session bindings go to its resolver (which re-validates them, behaviour §7), availability is
 * its `resolve` (reachable and in service, behaviour §12.3), and service changes come from its
 * OOS prober.
 */
export class ReachabilityAgentPhoneAdapter implements AgentPhoneReachability {
  constructor(private readonly reach: AgentReachabilitySource) {}

  hasSoftswitchFor(phone: string): boolean {
    return this.reach.resolver.resolveExternal(phone).mode !== 'unreachable';
  }

  bindAgentPhone(dn: string, phone: string): void {
    const r = this.reach.bindAgentPhone(dn, phone);
    if (!r.ok) throw new AgentError(REASON[r.error], r.message);
  }

  unbindAgentPhone(dn: string): void {
    this.reach.unbindAgentPhone(dn);
  }

  isAvailable(dn: string): boolean {
    const r = this.reach.resolve(dn);
    return r.mode !== 'unreachable' && r.inService;
  }

  onServiceChange(listener: (dn: string, inService: boolean) => void): () => void {
    return this.reach.addListener({
      outOfService: (dn) => listener(dn, false),
      backInService: (dn) => listener(dn, true),
    });
  }
}
