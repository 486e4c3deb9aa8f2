/**
 * Transaction matching keys (RFC 3261 §17.1.3, §17.2.3).
 */
import type { SipMessage, SipRequest } from '../message/types.js';

/** The magic cookie that marks an RFC 3261 branch (RFC 3261 §8.1.1.7). */
export const MAGIC_COOKIE = 'z9hG4bK';

/** First value of a parameter list, case-insensitive name. */
function param(params: Array<[string, string | null]>, name: string): string | undefined {
  for (const [n, v] of params) if (n.toLowerCase() === name) return v ?? '';
  return undefined;
}

/**
 * Client transaction key: top Via branch + CSeq method (RFC 3261 §17.1.3). Works for the
 * request we send and for the responses that come back.
 */
export function clientTransactionKey(msg: SipMessage): string {
  return flat(`${msg.via.branch ?? ''}|${msg.cseq.method}`);
}

/**
 * The key as one flat string. A key is built from slices of the message text (the branch); as
 * a concatenation it would keep the whole message text alive for as long as the transaction
 * lives (32 s in Completed). Reading a character makes V8 flatten it in place.
 */
function flat(key: string): string {
  if (key.length > 0) key.charCodeAt(0);
  return key;
}

/**
 * A copy of `s` that shares no memory with the message it was cut from (a parsed header value
 * is a slice of the whole message text; kept for 32 s it would keep that text alive).
 */
export function detachedString(s: string): string {
  if (s.length === 0) return s;
  return flat(' ' + s).slice(1);
}

/** True when the top Via branch starts with the RFC 3261 magic cookie (and has more after it). */
export function hasRfc3261Branch(req: SipRequest): boolean {
  const b = req.via.branch;
  return b !== undefined && b.startsWith(MAGIC_COOKIE) && b.length > MAGIC_COOKIE.length;
}

/**
 * Server transaction key (RFC 3261 §17.2.3). With an RFC 3261 branch: branch + sent-by +
 * method, where ACK is looked up as INVITE. Without one (RFC 2543 peers, and `z9hG4bK` alone,
 * RFC 4475 §3.2.1): Request-URI, From tag, Call-ID, CSeq number, top Via and method; the To tag
 * is compared separately because an ACK carries the tag of our response.
 * `methodOverride` finds the INVITE a CANCEL refers to (RFC 3261 §9.2).
 */
export function serverTransactionKey(req: SipRequest, methodOverride?: string): string {
  const method = methodOverride ?? (req.method === 'ACK' ? 'INVITE' : req.method);
  const via = req.via;
  if (hasRfc3261Branch(req)) {
    return flat(`${via.branch}|${via.host.toLowerCase()}:${via.port ?? ''}|${method}`);
  }
  const fromTag = param(req.from.params, 'tag') ?? '';
  const topVia = req.getHeaders('Via')[0] ?? '';
  return flat(`2543|${req.uri}|${fromTag}|${req.callId}|${req.cseq.seq}|${topVia}|${method}`);
}

/** The To tag of a message, or '' (used for the RFC 2543 ACK check, RFC 3261 §17.2.3). */
export function toTag(msg: SipMessage): string {
  return param(msg.to.params, 'tag') ?? '';
}
