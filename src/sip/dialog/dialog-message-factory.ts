/**
 * Turns a {@link DialogRequestSpec} into a `SipRequest` of the message layer.
 */
import { SipRequestMessage } from '../message/sip-request-message.js';
import type { SipRequest } from '../message/types.js';
import type { DialogRequestSpec } from './dialog-request.js';

/** A `SipRequest` with the spec's start line, headers and body; the transaction layer adds the Via (RFC 3261 §8.1.1.7). */
export function toSipRequest(spec: DialogRequestSpec): SipRequest {
  return new SipRequestMessage(
    spec.method,
    spec.uri,
    spec.headers.map((h) => ({ ...h })),
    spec.body,
  );
}
