import { AgentError } from './agent-error.js';
import type { AgentPhoneReachability } from './agent-phone-reachability.js';
import type { ContactCenterDirectory } from './contact-center-directory.js';

/** Who already holds which agent-phone: `phone → agentId`. */
export type AgentPhoneOwnerLookup = (phone: string) => string | undefined;

/**
 * Validates and normalises the `agent-phone` of a login (behaviour §7, [C:S4] + [I]):
 * the normalised number must be non-empty and dialable (digits with an optional leading `+`),
 * must not be the number of any internal DN on the switch, must not be bound to another
 * logged-in agent, and some softswitch's prefix must match it.
 *
 * @returns the normalised number
 * @throws AgentError `agent-phone-invalid`, `agent-phone-internal-dn`, `agent-phone-bound`,
 *   `agent-phone-no-softswitch`
 */
export function validateAgentPhone(
  raw: string,
  agentId: string,
  directory: ContactCenterDirectory,
  reachability: AgentPhoneReachability,
  ownerOf: AgentPhoneOwnerLookup,
): string {
  const phone = directory.normaliseNumber(raw);
  if (phone === '' || !/^\+?[0-9*#]{1,32}$/.test(phone)) {
    throw new AgentError('agent-phone-invalid', `agent-phone "${raw}" is not a dialable number`);
  }
  if (directory.getDn(phone)) {
    throw new AgentError('agent-phone-internal-dn', `agent-phone ${phone} is an internal DN of the switch`);
  }
  const owner = ownerOf(phone);
  if (owner !== undefined && owner !== agentId) {
    throw new AgentError('agent-phone-bound', `agent-phone ${phone} is already bound to another logged-in agent`);
  }
  if (!reachability.hasSoftswitchFor(phone)) {
    throw new AgentError('agent-phone-no-softswitch', `no softswitch prefix matches agent-phone ${phone}`);
  }
  return phone;
}
