/**
 * How the domain's errors (agent service, call control) map to the CTI error codes of
 * docs/cti-protocol.md.
 */
import { AgentError, type AgentErrorReason } from '../../contact-center/agents/agent-error.js';
import { CallControlError } from '../../contact-center/call-control.js';
import { CtiError, type CtiErrorName } from './cti-error-codes.js';

const AGENT_REASON_TO_CTI: Record<AgentErrorReason, CtiErrorName> = {
  'bad-credentials': 'BAD_CREDENTIALS',
  'unknown-dn': 'UNKNOWN_DN',
  'dn-not-allowed': 'DN_NOT_ALLOWED',
  'dn-in-use': 'DN_IN_USE',
  'already-logged-in': 'AGENT_ALREADY_LOGGED_IN',
  'agent-phone-invalid': 'AGENT_PHONE_INVALID',
  'agent-phone-internal-dn': 'AGENT_PHONE_INTERNAL_DN',
  'agent-phone-bound': 'AGENT_PHONE_BOUND',
  'agent-phone-no-softswitch': 'AGENT_PHONE_NO_SOFTSWITCH',
  'not-logged-in': 'AGENT_NOT_LOGGED_IN',
  'invalid-work-mode': 'INVALID_WORK_MODE',
  'invalid-transition': 'INVALID_STATE_TRANSITION',
};

const CALL_REASON_TO_CTI: Record<CallControlError['reason'], CtiErrorName> = {
  'not-supported': 'NOT_SUPPORTED',
  'unknown-conn-id': 'UNKNOWN_CONN_ID',
  'invalid-state': 'INVALID_STATE_TRANSITION',
  failed: 'CALL_FAILED',
};

/** The CTI error for a domain error; undefined for anything unexpected (the caller logs it as INTERNAL). */
export function ctiErrorOf(err: unknown): CtiError | undefined {
  if (err instanceof CtiError) return err;
  if (err instanceof AgentError) return new CtiError(AGENT_REASON_TO_CTI[err.reason], err.message);
  if (err instanceof CallControlError) return new CtiError(CALL_REASON_TO_CTI[err.reason], err.message);
  return undefined;
}
