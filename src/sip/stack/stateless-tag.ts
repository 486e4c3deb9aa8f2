/**
 * To tags for stateless responses (RFC 3261 §8.2.7): the same request, retransmitted, must get
 * the same tag, so the tag is a keyed hash of what identifies the request.
 */
import { randomBytes } from 'node:crypto';
import type { SipRequest } from '../message/types.js';

const secret = randomBytes(8).toString('hex');

/**
 * A 64-bit tag from the top Via (branch, sent-by, received/rport), From, Call-ID and CSeq as
 * written, keyed with a per-process secret: two FNV-1a hashes with different bases in one pass.
 * Not cryptographic; the branch and Call-ID it hashes carry the sender's randomness
 * (RFC 3261 §19.3 asks 32 random bits of the tag).
 */
export function statelessToTag(req: SipRequest): string {
  const key = `${secret}${req.getHeader('Via') ?? ''}|${req.getHeader('From') ?? ''}|${req.getHeader('Call-ID') ?? ''}|${req.getHeader('CSeq') ?? ''}`;
  let h1 = 0x811c9dc5;
  let h2 = 0x01234567;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}
