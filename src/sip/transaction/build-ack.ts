/**
 * The ACK an INVITE client transaction sends for a non-2xx final response (RFC 3261 §17.1.1.3).
 */
import { parseMessage } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/types.js';

/**
 * Build the hop-by-hop ACK of RFC 3261 §17.1.1.3: same Request-URI, Call-ID, From and CSeq
 * number as the INVITE, To from the response (with its tag), one Via equal to the INVITE's top
 * Via, the INVITE's Route headers, no body.
 */
export function buildNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const lines: string[] = [`ACK ${invite.uri} SIP/2.0`];
  const topVia = invite.getHeaders('Via')[0];
  if (topVia !== undefined) lines.push(`Via: ${topVia}`);
  for (const r of invite.getHeaders('Route')) lines.push(`Route: ${r}`);
  lines.push(`Max-Forwards: 70`);
  lines.push(`From: ${invite.getHeader('From') ?? ''}`);
  lines.push(`To: ${response.getHeader('To') ?? invite.getHeader('To') ?? ''}`);
  lines.push(`Call-ID: ${invite.callId}`);
  lines.push(`CSeq: ${invite.cseq.seq} ACK`);
  lines.push('Content-Length: 0', '', '');
  const msg = parseMessage(Buffer.from(lines.join('\r\n'), 'utf8'));
  if (msg.kind !== 'request') throw new Error('ACK did not parse as a request');
  return msg;
}
