/**
 * Effective options of a DN while its agent works on an `agent-phone` (behaviour §2.2, §7).
 */
import type { CallDirectory, CallReachability } from './call-ports.js';

/**
 * A {@link CallDirectory} whose `effectiveOption` treats a DN bound to an `agent-phone` as the
 * device it now rings: the DN's own value first; else the value for the agent-phone number,
 * i.e. the softswitch that number sits behind, then the application, then the default
 * (behaviour §2.2 step 2 — the remote-agent recipes put `dual-dialog-enabled`,
 * `make-call-rfc3725-flow`, `reject-call-notready`… on the softswitch and nothing on the DN,
 * which may even keep `contact = *`, behaviour §7). Without a binding it is the plain directory.
 */
export class AgentPhoneOptionDirectory implements CallDirectory {
  constructor(
    private readonly directory: CallDirectory,
    private readonly reachability: Pick<CallReachability, 'agentPhoneOf'>,
  ) {}

  getDn(number: string): ReturnType<CallDirectory['getDn']> {
    return this.directory.getDn(number);
  }

  normaliseNumber(raw: string): string {
    return this.directory.normaliseNumber(raw);
  }

  effectiveOption(dn: string, name: string): string | undefined {
    const phone = this.reachability.agentPhoneOf?.(dn);
    if (phone === undefined) return this.directory.effectiveOption(dn, name);
    const own = this.directory.getDn(dn)?.options[name];
    if (own !== undefined && own !== '') return own;
    return this.directory.effectiveOption(phone, name);
  }
}
