/**
 * Why an agent operation was refused. The CTI gateway maps each reason to a numeric error code
 * (`src/api/cti/cti-error-codes.ts`, docs/cti-protocol.md).
 */
export type AgentErrorReason =
  | 'bad-credentials'
  | 'unknown-dn'
  | 'dn-not-allowed'
  | 'dn-in-use'
  | 'already-logged-in'
  | 'agent-phone-invalid'
  | 'agent-phone-internal-dn'
  | 'agent-phone-bound'
  | 'agent-phone-no-softswitch'
  | 'not-logged-in'
  | 'invalid-work-mode'
  | 'invalid-transition';

/** A refused agent operation; `reason` is machine-readable, `message` is for people. */
export class AgentError extends Error {
  constructor(
    readonly reason: AgentErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}
