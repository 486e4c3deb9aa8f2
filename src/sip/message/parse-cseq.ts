/** CSeq header value (RFC 3261 §20.16). */
import { SipParseError, type CSeq } from './types.js';
import { isToken } from './sip-syntax.js';

/** `CSeq: 1*DIGIT LWS Method` (RFC 3261 §20.16); the number must fit 32 bits unsigned (§8.1.1.5). */
export function parseCSeq(v: string): CSeq {
  let i = 0;
  let seq = 0;
  while (i < v.length) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    seq = seq * 10 + d;
    i++;
  }
  if (i === 0) throw new SipParseError(400, 'bad CSeq');
  if (i > 10 || seq > 0xffffffff) throw new SipParseError(400, 'CSeq number too large (RFC 3261 §8.1.1.5)');
  const ws = i;
  while (i < v.length && (v.charCodeAt(i) === 0x20 || v.charCodeAt(i) === 0x09)) i++;
  if (i === ws || i === v.length) throw new SipParseError(400, 'bad CSeq');
  const method = v.slice(i);
  if (!isToken(method)) throw new SipParseError(400, 'bad CSeq method');
  return { seq, method };
}
