/** Via header values (RFC 3261 §20.42, §18.2.1; RFC 3581 rport; RFC 5118 §4.5 IPv6 received). */
import { SipParseError, type Via } from './types.js';
import { formatParams, getParam, isTokenChar, parseParamsAt, skipWs } from './sip-syntax.js';

function readToken(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

function expectSlash(s: string, i: number): number {
  i = skipWs(s, i);
  if (s.charCodeAt(i) !== 0x2f) throw new SipParseError(400, 'bad Via sent-protocol');
  return skipWs(s, i + 1);
}

/**
 * Parse one via-parm: `SIP / 2.0 / UDP host[:port] *(;param)` with LWS allowed around `/`
 * (RFC 3261 §25.1 SLASH) and IPv6 references in brackets. Throws `SipParseError(400)`.
 */
export function parseVia(text: string): Via {
  const s = text;
  let i = skipWs(s, 0);
  let e = readToken(s, i);
  if (e === i) throw new SipParseError(400, 'bad Via protocol name');
  const name = s.slice(i, e);
  i = expectSlash(s, e);
  e = readToken(s, i);
  if (e === i) throw new SipParseError(400, 'bad Via protocol version');
  const version = s.slice(i, e);
  i = expectSlash(s, e);
  e = readToken(s, i);
  if (e === i) throw new SipParseError(400, 'bad Via transport');
  const transportRaw = s.slice(i, e);
  const transport =
    transportRaw === 'UDP' || transportRaw === 'TCP' || transportRaw === 'TLS'
      ? transportRaw
      : transportRaw.toUpperCase();
  i = skipWs(s, e);
  if (i === e && i < s.length) throw new SipParseError(400, 'bad Via sent-by');
  let host: string;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close < 0) throw new SipParseError(400, 'bad Via IPv6 reference');
    host = s.slice(i, close + 1);
    i = close + 1;
  } else {
    const hs = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (
        (c >= 0x30 && c <= 0x39) ||
        (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x61 && c <= 0x7a) ||
        c === 0x2d ||
        c === 0x2e ||
        c === 0x5f
      )
        i++;
      else break;
    }
    host = s.slice(hs, i);
  }
  if (host.length === 0 || host === '[]') throw new SipParseError(400, 'empty Via host');
  let port: number | undefined;
  i = skipWs(s, i);
  if (s.charCodeAt(i) === 0x3a) {
    i = skipWs(s, i + 1);
    const ps = i;
    while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    if (i === ps || i - ps > 5) throw new SipParseError(400, 'bad Via port');
    port = Number(s.slice(ps, i));
    if (port > 65535) throw new SipParseError(400, 'bad Via port');
  }
  const { params, end } = parseParamsAt(s, i, 'Via');
  if (end < s.length) throw new SipParseError(400, `junk in Via: ${s.slice(end, end + 20)}`);
  const branch = getParam(params, 'branch');
  const protocol = name === 'SIP' && version === '2.0' ? 'SIP/2.0' : `${name}/${version}`;
  return { protocol, transport, host, port, params, branch: branch || undefined };
}

/** Write a Via value (RFC 3261 §20.42): `SIP/2.0/UDP host:port;params`. */
export function formatVia(via: Via): string {
  let out = `${via.protocol}/${via.transport} ${via.host}`;
  if (via.port !== undefined) out += ':' + via.port;
  const params = via.params.slice();
  if (via.branch !== undefined && getParam(params, 'branch') === undefined) params.push(['branch', via.branch]);
  return out + formatParams(params);
}
