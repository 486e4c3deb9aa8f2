import type { AgentPhoneReachability } from './agent-phone-reachability.js';
import type { ContactCenterEventBus } from '../events.js';

/**
 * Publishes reachability's service changes as DN domain events (behaviour §12.3:
 * transitions emit EventDNOutOfService / EventDNBackInService), which the CTI gateway fans out
 * to the connections registered on the DN.
 * @returns the function that stops the bridge
 */
export function bridgeDnServiceEvents(
  reachability: Pick<AgentPhoneReachability, 'onServiceChange'>,
  bus: ContactCenterEventBus,
): () => void {
  const off = reachability.onServiceChange?.((dn, inService) =>
    bus.publish({ kind: 'dn', name: inService ? 'EventDNBackInService' : 'EventDNOutOfService', thisDN: dn }),
  );
  return off ?? (() => {});
}
