import { parseNameAddr } from '../sip/message/index.js';
import type { NameAddr, SipRequest, TransportAddress } from '../sip/message/types.js';
import type { RegisterInput } from './register-processor.js';

/**
 * Extract what the registrar needs from a REGISTER (RFC 3261 §10.3): `source` is where the phone
 * sent it from, `proxy` the trusted proxy that relayed it, if any. Returns a status to answer
 * instead (400) when the To or a Contact cannot be parsed.
 */
export function registerInputFromRequest(
  req: SipRequest,
  source: TransportAddress,
  proxy?: TransportAddress,
): { ok: true; input: RegisterInput } | { ok: false; status: number; reason: string } {
  try {
    // The UAS checks parsed the Contacts already (cached on the request); `*` alone is the
    // wildcard, `*` mixed with others a 400 (RFC 3261 §10.2.2).
    let contactStar = req.contactWildcard;
    let contacts: readonly NameAddr[];
    try {
      contacts = req.contacts;
    } catch {
      // `*` mixed with other contacts: the processor answers the 400 (§10.3 step 6).
      const list: NameAddr[] = [];
      for (const v of req.getHeaders('Contact')) {
        if (v.trim() === '*') contactStar = true;
        else list.push(parseNameAddr(v));
      }
      contacts = list;
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
        ...(proxy ? { proxy } : {}),
        userAgent: req.getHeader('User-Agent'),
      },
    };
  } catch (err) {
    return {
      ok: false,
      status: 400,
      reason: `Bad Request (${err instanceof Error ? err.message : 'unparseable REGISTER'})`.slice(0, 120),
    };
  }
}
