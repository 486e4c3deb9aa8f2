/**
 * To tags for stateless responses (RFC 3261 §8.2.7): the same request, retransmitted, must get
 * the same tag, so the tag is a keyed hash of what identifies the request.
 */
import { randomBytes } from 'node:crypto';
import type { SipRequest } from '../message/types.js';
import { hex32 } from '../../util/hex.js';

const secret = randomBytes(8).toString('hex');

/**
 * A 64-bit tag from what identifies the request and its retransmissions: the top Via branch
 * (or, for an RFC 2543 request without one, the whole top Via and the From), the Call-ID and
 * the CSeq as written, keyed with a per-process secret: two FNV-1a hashes with different bases in one
 * pass. Not cryptographic; the branch and Call-ID it hashes carry the sender's randomness
 * (RFC 3261 §19.3 asks 32 random bits of the tag).
 */
export function statelessToTag(req: SipRequest): string {
  // The hash of `${secret}${branch}|${call-id}|${cseq}`, fed piece by piece (no joined string).
  const st: [number, number] = [0x811c9dc5, 0x01234567];
  feed(st, secret);
  let branch: string | undefined;
  try {
    branch = req.via.branch;
  } catch {
    branch = undefined;
  }
  if (branch !== undefined && branch.length > 7) feed(st, branch);
  else {
    // RFC 2543 (no branch): the whole top Via and the From identify the request.
    feed(st, req.getHeader('Via') ?? '');
    feed(st, '|');
    feed(st, req.getHeader('From') ?? '');
  }
  feed(st, '|');
  feed(st, req.getHeader('Call-ID') ?? '');
  feed(st, '|');
  feed(st, req.getHeader('CSeq') ?? '');
  return hex32(st[0]) + hex32(st[1]);
}

/** Two FNV-1a rounds over the UTF-16 code units of `s`. */
function feed(st: [number, number], s: string): void {
  let h1 = st[0];
  let h2 = st[1];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193);
  }
  st[0] = h1;
  st[1] = h2;
}
