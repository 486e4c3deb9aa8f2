import { parseNameAddr } from '../sip/message/index.js';
import type { NameAddr, SipRequest, TransportAddress } from '../sip/message/types.js';
import type { RegisterInput } from './register-processor.js';

/**
 * Extract what the registrar needs from a REGISTER (RFC 3261 §10.3). Returns a status to
 * answer instead (400) when the To or a Contact cannot be parsed.
 */
export function registerInputFromRequest(
  req: SipRequest,
  source: TransportAddress,
): { ok: true; input: RegisterInput } | { ok: false; status: number; reason: string } {
  try {
    const raw = req.getHeaders('Contact');
    let contactStar = false;
    const contacts: NameAddr[] = [];
    for (const v of raw) {
      if (v.trim() === '*') contactStar = true;
      else contacts.push(parseNameAddr(v));
    }
    return {
      ok: true,
      input: {
        toUri: req.to.uri,
        callId: req.callId,
        cseq: req.cseq.seq,
        contactStar,
        contacts,
        expires: req.getHeader('Expires'),
        credentials: req.getHeaders('Authorization'),
        source,
        userAgent: req.getHeader('User-Agent'),
      },
    };
  } catch (err) {
    return { ok: false, status: 400, reason: `Bad Request (${err instanceof Error ? err.message : 'unparseable REGISTER'})`.slice(0, 120) };
  }
}
