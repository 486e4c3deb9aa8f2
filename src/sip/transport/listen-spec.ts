/**
 * Listen specifications `transport:host:port` (interfaces §2: `server.sip.listen`).
 */
import { isIP } from 'node:net';
import type { TransportProtocol } from '../message/types.js';

/** One parsed listen entry. */
export interface ListenSpec {
  transport: TransportProtocol;
  /** IP address without brackets (IPv6 `::1`), or `0.0.0.0` / `::` for all interfaces. */
  host: string;
  /** 0 = an ephemeral port chosen by the OS. */
  port: number;
}

const PROTOCOLS: readonly TransportProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/** Default port per transport (RFC 3261 §19.1.2: 5060, 5061 for TLS; RFC 7118 leaves ws to the deployment). */
export function defaultPort(transport: TransportProtocol): number {
  return transport === 'tls' || transport === 'wss' ? 5061 : 5060;
}

/**
 * Parse `udp:127.0.0.1:5060`, `tcp:[::1]:0`, `tls:0.0.0.0` (default port). Throws a
 * `RangeError` naming the problem.
 */
export function parseListenSpec(text: string): ListenSpec {
  const s = text.trim();
  const colon = s.indexOf(':');
  if (colon < 0) throw new RangeError(`listen "${text}": expected transport:host:port`);
  const transport = s.slice(0, colon).toLowerCase() as TransportProtocol;
  if (!PROTOCOLS.includes(transport))
    throw new RangeError(`listen "${text}": unknown transport "${s.slice(0, colon)}"`);
  const rest = s.slice(colon + 1);
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new RangeError(`listen "${text}": unterminated IPv6 reference`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw new RangeError(`listen "${text}": junk after IPv6 reference`);
    portText = after === '' ? undefined : after.slice(1);
    if (isIP(host) !== 6) throw new RangeError(`listen "${text}": "${host}" is not an IPv6 address`);
  } else {
    const c = rest.lastIndexOf(':');
    host = c < 0 ? rest : rest.slice(0, c);
    portText = c < 0 ? undefined : rest.slice(c + 1);
    if (isIP(host) !== 4)
      throw new RangeError(`listen "${text}": "${host}" is not an IPv4 address (IPv6 goes in brackets)`);
  }
  let port = defaultPort(transport);
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)
      throw new RangeError(`listen "${text}": bad port "${portText}"`);
    port = Number(portText);
  }
  return { transport, host, port };
}

/** Format an address as `transport:host:port` with IPv6 in brackets. */
export function formatAddress(a: { transport: string; host: string; port: number }): string {
  return `${a.transport}:${hostForUri(a.host)}:${a.port}`;
}

/** Host as it appears in a URI or Via: IPv6 in brackets (RFC 5118 §4.1). */
export function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Strip IPv6 brackets. */
export function hostWithoutBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
