/**
 * name-addr / addr-spec values of From, To, Contact, Route, Record-Route, Reply-To, …
 * (RFC 3261 §20.10, §25.1).
 */
import { SipParseError, type NameAddr } from './types.js';
import { formatUri, parseUri } from './parse-uri.js';
import {
  formatParams,
  isTokenChar,
  isWs,
  parseParamsAt,
  quote,
  quotedStringEnd,
  skipWs,
  unquote,
} from './sip-syntax.js';

/**
 * Parse one `( name-addr / addr-spec ) *( SEMI param )` value (RFC 3261 §20.10):
 * - `"Quoted \" name" <uri>;p` or `token token <uri>;p` or `<uri>;p`: URI params stay in the URI.
 * - `uri;p` (no angle brackets): every `;param` belongs to the header, and a URI holding `,` `;`
 *   or `?` is not allowed (RFC 3261 §20.10), so `?` there is rejected.
 * Throws `SipParseError(400)`.
 */
export function parseNameAddr(text: string): NameAddr {
  const s = text;
  const n = s.length;
  let i = skipWs(s, 0);
  if (i >= n) throw new SipParseError(400, 'empty address');
  let displayName: string | undefined;
  const c0 = s.charCodeAt(i);
  if (c0 === 0x22) {
    const e = quotedStringEnd(s, i);
    if (e < 0) throw new SipParseError(400, 'unterminated quoted display name');
    displayName = unquote(s.slice(i, e));
    i = skipWs(s, e);
    if (i >= n || s.charCodeAt(i) !== 0x3c) throw new SipParseError(400, 'quoted display name without <URI>');
  } else if (c0 !== 0x3c) {
    const lt = s.indexOf('<', i);
    if (lt >= 0) {
      // display-name = *(token LWS)   (RFC 3261 §25.1)
      const dn = s.slice(i, lt).trim();
      for (let k = 0; k < dn.length; k++) {
        const c = dn.charCodeAt(k);
        if (!isTokenChar(c) && !isWs(c)) throw new SipParseError(400, `bad display name: ${dn}`);
      }
      if (dn.length > 0) displayName = dn;
      i = lt;
    }
  }
  if (i < n && s.charCodeAt(i) === 0x3c) {
    const gt = s.indexOf('>', i);
    if (gt < 0) throw new SipParseError(400, 'missing >');
    const uri = parseUri(s.slice(i + 1, gt));
    const { params, end } = parseParamsAt(s, gt + 1, 'address');
    if (end < n) throw new SipParseError(400, `junk after address: ${s.slice(end, end + 20)}`);
    return { displayName, uri, params };
  }
  // addr-spec: the URI ends at the first ';' (or whitespace); params belong to the header.
  let e = i;
  while (e < n) {
    const c = s.charCodeAt(e);
    if (c === 0x3b || isWs(c)) break;
    e++;
  }
  const uriText = s.slice(i, e);
  if (uriText.indexOf('?') >= 0 || uriText.indexOf(',') >= 0) {
    throw new SipParseError(400, 'URI with ? or , must be enclosed in <> (RFC 3261 §20.10)');
  }
  const uri = parseUri(uriText);
  const { params, end } = parseParamsAt(s, e, 'address');
  if (end < n) throw new SipParseError(400, `junk after address: ${s.slice(end, end + 20)}`);
  return { displayName: undefined, uri, params };
}

/** Non-throwing {@link parseNameAddr}. */
export function tryParseNameAddr(text: string): NameAddr | undefined {
  try {
    return parseNameAddr(text);
  } catch {
    return undefined;
  }
}

/**
 * Write a name-addr: always in `<>` form (safe for every URI, RFC 3261 §20.10), display name
 * quoted unless it is a plain token sequence.
 */
export function formatNameAddr(na: NameAddr): string {
  let out = '';
  if (na.displayName !== undefined && na.displayName.length > 0) {
    out += isPlainDisplayName(na.displayName) ? na.displayName : quote(na.displayName);
    out += ' ';
  }
  out += '<' + formatUri(na.uri) + '>';
  return out + formatParams(na.params);
}

function isPlainDisplayName(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isTokenChar(c) && c !== 0x20) return false;
  }
  return s.charCodeAt(0) !== 0x20 && s.charCodeAt(s.length - 1) !== 0x20;
}
