/**
 * Where to send a request for a URI (a cut-down RFC 3263 §4: numeric hosts only).
 */
import { parseUri } from '../message/index.js';
import type { TransportAddress, TransportProtocol } from '../message/types.js';

const TRANSPORTS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss']);

/**
 * Transport address of a SIP URI's host (RFC 3263 §4.1: `transport` parameter, else UDP for
 * `sip`, TLS for `sips`; §4.2: port from the URI, else 5060/5061). `maddr` wins over the host
 * (RFC 3261 §19.1.1).
 * FIXME(RFC 3263 §4.2): no NAPTR/SRV/A look-ups; host names are passed on as they are.
 */
export function uriDestination(uri: string, fallback: TransportProtocol = 'udp'): TransportAddress {
  const u = parseUri(uri);
  let transport: TransportProtocol = u.scheme === 'sips' ? 'tls' : fallback;
  let host = u.host;
  for (const [name, value] of u.params) {
    const n = name.toLowerCase();
    if (n === 'transport' && value && TRANSPORTS.has(value.toLowerCase()))
      transport = value.toLowerCase() as TransportProtocol;
    if (n === 'maddr' && value) host = value;
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = u.port ?? (transport === 'tls' || transport === 'wss' ? 5061 : 5060);
  return { transport, host, port };
}
