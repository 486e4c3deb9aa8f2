/**
 * URI parsing, formatting and comparison: SIP/SIPS URIs (RFC 3261 §19.1, §25.1), tel URIs
 * (RFC 3966, minimal) and other absolute URIs (RFC 3986 §3, opaque).
 */
import { SipParseError, type ParamList, type SipUri } from './types.js';
import { formatParams, getParam, percentDecode } from './sip-syntax.js';

function bad(why: string, text: string): SipParseError {
  return new SipParseError(400, `bad URI (${why}): ${text.length > 80 ? text.slice(0, 80) + '…' : text}`);
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Characters never allowed anywhere in a URI as written in a SIP message. */
function isForbidden(c: number): boolean {
  return c <= 0x20 || c === 0x7f || c === 0x22 || c === 0x3c || c === 0x3e;
}

/**
 * Parse a URI. sip/sips: `user[:password]@host[:port];params?headers` (RFC 3261 §19.1.1);
 * tel: number and parameters (RFC 3966 §3); any other scheme is kept opaque.
 * Throws `SipParseError(400)` when malformed (RFC 3261 §25.1 grammar; RFC 5118 §4.2: an IPv6
 * host must be in brackets).
 */
export function parseUri(text: string): SipUri {
  const n = text.length;
  if (n === 0) throw bad('empty', text);
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )   (RFC 3261 §25.1)
  if (!isAlpha(text.charCodeAt(0))) throw bad('scheme', text);
  let i = 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isAlpha(c) || isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e) i++;
    else break;
  }
  if (i >= n || text.charCodeAt(i) !== 0x3a) throw bad('no scheme', text);
  for (let k = i + 1; k < n; k++) if (isForbidden(text.charCodeAt(k))) throw bad('illegal character', text);
  // `sip:` and `sips:` in any case without a slice (RFC 3261 §19.1.1: the scheme is case-insensitive).
  if (
    (i === 3 || i === 4) &&
    (text.charCodeAt(0) | 0x20) === 0x73 &&
    (text.charCodeAt(1) | 0x20) === 0x69 &&
    (text.charCodeAt(2) | 0x20) === 0x70
  ) {
    if (i === 3) return parseSipUri('sip', text, i + 1);
    if ((text.charCodeAt(3) | 0x20) === 0x73) return parseSipUri('sips', text, i + 1);
  }
  const scheme = text.slice(0, i).toLowerCase();
  const rest = text.slice(i + 1);
  if (rest.length === 0) throw bad('empty', text);
  if (scheme === 'tel') {
    const semi = rest.indexOf(';');
    const number = semi < 0 ? rest : rest.slice(0, semi);
    if (number.length === 0) throw bad('tel number', text);
    return {
      scheme,
      user: number,
      host: '',
      params: semi < 0 ? [] : splitUriParams(rest.slice(semi + 1), text),
      headers: [],
      opaque: rest,
      raw: text,
    };
  }
  return { scheme, host: '', params: [], headers: [], opaque: rest, raw: text };
}

function splitUriParams(s: string, text: string): ParamList {
  const out: ParamList = [];
  let start = 0;
  for (;;) {
    let e = s.indexOf(';', start);
    if (e < 0) e = s.length;
    const p = s.slice(start, e);
    if (p.length === 0) throw bad('empty parameter', text);
    const eq = p.indexOf('=');
    if (eq === 0) throw bad('empty parameter name', text);
    out.push(eq < 0 ? [p, null] : [p.slice(0, eq), p.slice(eq + 1)]);
    if (e >= s.length) return out;
    start = e + 1;
  }
}

/** The part of a SIP/SIPS URI after `scheme:` (from `start` in `text`). */
function parseSipUri(scheme: string, text: string, start: number): SipUri {
  // All fields set up front: one object shape for every SIP URI (faster property access).
  const uri: SipUri = {
    scheme,
    user: undefined,
    password: undefined,
    host: '',
    port: undefined,
    params: [],
    headers: [],
    opaque: undefined,
    raw: text,
  };
  const n = text.length;
  if (start >= n) throw bad('empty', text);
  let hostStart = start;
  // The user part may hold ';', '?', ':' ... but never an unescaped '@' (RFC 3261 §25.1 userinfo).
  const at = text.indexOf('@', start);
  if (at >= 0) {
    let colon = -1;
    for (let k = start; k < at; k++) {
      if (text.charCodeAt(k) === 0x3a) {
        colon = k;
        break;
      }
    }
    if ((colon < 0 ? at : colon) === start) throw bad('empty user', text);
    uri.user = text.slice(start, colon < 0 ? at : colon);
    if (colon >= 0) uri.password = text.slice(colon + 1, at);
    hostStart = at + 1;
  }
  let i = hostStart;
  if (i < n && text.charCodeAt(i) === 0x5b) {
    // IPv6reference = "[" IPv6address "]"   (RFC 3261 §25.1, RFC 5118)
    const close = text.indexOf(']', i);
    if (close < 0) throw bad('unterminated IPv6 reference', text);
    for (let k = i + 1; k < close; k++) {
      const c = text.charCodeAt(k);
      if (!(isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c === 0x3a || c === 0x2e))
        throw bad('IPv6 reference', text);
    }
    if (close === i + 1) throw bad('empty IPv6 reference', text);
    i = close + 1;
  } else {
    while (i < n) {
      const c = text.charCodeAt(i);
      // hostname chars; '_' tolerated (seen in the wild, RFC 3261 §25.1 is stricter)
      if (isAlpha(c) || isDigit(c) || c === 0x2d || c === 0x2e || c === 0x5f) i++;
      else break;
    }
  }
  if (i === hostStart) throw bad('empty host', text);
  uri.host = text.slice(hostStart, i);
  if (i < n && text.charCodeAt(i) === 0x3a) {
    const ps = ++i;
    let port = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (!isDigit(c)) break;
      port = port * 10 + (c - 0x30);
      i++;
    }
    if (i === ps || i - ps > 5 || port > 65535) throw bad('port', text);
    uri.port = port;
  }
  if (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 0x3b && c !== 0x3f) throw bad('host', text);
  }
  const q = i < n ? text.indexOf('?', i) : -1;
  if (i < n && text.charCodeAt(i) === 0x3b) {
    uri.params = splitUriParams(text.slice(i + 1, q < 0 ? n : q), text);
  }
  if (q >= 0) {
    const hs = text.slice(q + 1);
    if (hs.length === 0) throw bad('empty headers', text);
    for (const h of hs.split('&')) {
      const eq = h.indexOf('=');
      if (eq <= 0) throw bad('header', text);
      uri.headers.push([h.slice(0, eq), h.slice(eq + 1)]);
    }
  }
  return uri;
}

/** Non-throwing {@link parseUri}. */
export function tryParseUri(text: string): SipUri | undefined {
  try {
    return parseUri(text);
  } catch {
    return undefined;
  }
}

/** Write a URI from its fields (RFC 3261 §19.1.1). `raw` is not used, so edits to the fields show. */
export function formatUri(uri: SipUri): string {
  if (uri.scheme !== 'sip' && uri.scheme !== 'sips') {
    if (uri.scheme === 'tel' && uri.user !== undefined) return `tel:${uri.user}${formatParams(uri.params)}`;
    return `${uri.scheme}:${uri.opaque ?? ''}`;
  }
  let out = uri.scheme + ':';
  if (uri.user !== undefined) {
    out += uri.user;
    if (uri.password !== undefined) out += ':' + uri.password;
    out += '@';
  }
  out += uri.host;
  if (uri.port !== undefined) out += ':' + uri.port;
  out += formatParams(uri.params);
  if (uri.headers.length > 0) out += '?' + uri.headers.map(([k, v]) => `${k}=${v}`).join('&');
  return out;
}

/** Parameters that, present in one URI, must be present and equal in the other (RFC 3261 §19.1.4). */
export const URI_MUST_MATCH_PARAMS: readonly string[] = ['user', 'ttl', 'method', 'maddr', 'transport'];

/**
 * URI equivalence (RFC 3261 §19.1.4): scheme, user and password case-sensitive after %-decoding,
 * host case-insensitive, ports must both be present and equal or both absent, `user`, `ttl`,
 * `method`, `maddr`, `transport` parameters must match when present in either, other parameters
 * only when present in both, headers always. tel URIs (RFC 3966 §4): number without visual
 * separators, parameters as sets. Other schemes: case-insensitive scheme, decoded opaque part.
 */
export function uriEquals(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.scheme === 'tel') {
    const na = (a.user ?? '').replace(/[-.()]/g, '');
    const nb = (b.user ?? '').replace(/[-.()]/g, '');
    if (na.toLowerCase() !== nb.toLowerCase()) return false;
    return paramsEqual(a.params, b.params, true);
  }
  if (a.scheme !== 'sip' && a.scheme !== 'sips') return percentDecode(a.opaque ?? '') === percentDecode(b.opaque ?? '');
  if ((a.user === undefined) !== (b.user === undefined)) return false;
  if (a.user !== undefined && percentDecode(a.user) !== percentDecode(b.user ?? '')) return false;
  if ((a.password === undefined) !== (b.password === undefined)) return false;
  if (a.password !== undefined && percentDecode(a.password) !== percentDecode(b.password ?? '')) return false;
  if (percentDecode(a.host).toLowerCase() !== percentDecode(b.host).toLowerCase()) return false;
  if (a.port !== b.port) return false;
  if (!paramsEqual(a.params, b.params, false)) return false;
  if (a.headers.length !== b.headers.length) return false;
  for (const [k, v] of a.headers) {
    const other = b.headers.find(([k2]) => k2.toLowerCase() === k.toLowerCase());
    if (!other || percentDecode(other[1]) !== percentDecode(v)) return false;
  }
  return true;
}

function paramsEqual(pa: ParamList, pb: ParamList, all: boolean): boolean {
  for (const name of URI_MUST_MATCH_PARAMS) {
    if (all) break;
    const va = getParam(pa, name);
    const vb = getParam(pb, name);
    if (va === undefined && vb === undefined) continue;
    if (va === undefined || vb === undefined) return false;
    if (percentDecode(va ?? '').toLowerCase() !== percentDecode(vb ?? '').toLowerCase()) return false;
  }
  for (const [name, va] of pa) {
    const vb = getParam(pb, name);
    if (vb === undefined) {
      if (all) return false;
      continue;
    }
    if (percentDecode(va ?? '').toLowerCase() !== percentDecode(vb ?? '').toLowerCase()) return false;
  }
  if (all) {
    for (const [name] of pb) if (getParam(pa, name) === undefined) return false;
  }
  return true;
}

/** True if the `user` part of two URIs is equal after %-decoding (RFC 3261 §19.1.4). */
export function uriUserEquals(a: SipUri, b: SipUri): boolean {
  return percentDecode(a.user ?? '') === percentDecode(b.user ?? '');
}
