/**
 * The CANCEL of a client INVITE (RFC 3261 §9.1).
 */
import { createRequest } from '../message/index.js';
import type { HeaderField, SipRequest } from '../message/types.js';

/**
 * RFC 3261 §9.1: same Request-URI, Call-ID, From, To and CSeq number as the INVITE, method
 * CANCEL; one Via equal to the INVITE's top Via (so the same branch: it is matched to the INVITE
 * server transaction downstream); the INVITE's Route headers; no body.
 */
export function buildCancel(invite: SipRequest): SipRequest {
  const headers: HeaderField[] = [];
  const via = invite.getHeaders('Via')[0];
  if (via !== undefined) headers.push({ name: 'Via', value: via });
  for (const r of invite.getHeaders('Route')) headers.push({ name: 'Route', value: r });
  headers.push({ name: 'Max-Forwards', value: '70' });
  headers.push({ name: 'From', value: invite.getHeader('From') ?? '' });
  headers.push({ name: 'To', value: invite.getHeader('To') ?? '' });
  headers.push({ name: 'Call-ID', value: invite.callId });
  headers.push({ name: 'CSeq', value: `${invite.cseq.seq} CANCEL` });
  return createRequest({ method: 'CANCEL', uri: invite.uri, headers });
}
