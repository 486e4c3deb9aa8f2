/**
 * Where a request relayed by a trusted proxy (the cluster's Kamailio) came from: the address the
 * proxy recorded in the Via of the previous hop, which it received the request from (RFC 3261
 * §18.2.1: `received` when the source IP differs from the sent-by host; RFC 3581 §4: `rport`, the
 * source port). A proxy that always sets them (Kamailio `force_rport()`) makes both exact; the
 * sent-by host and port stand in for a missing one.
 */
import type { SipRequest, TransportAddress, TransportProtocol } from './types.js';

const TRANSPORTS = new Set<string>(['udp', 'tcp', 'tls', 'ws', 'wss']);

/**
 * The request's origin: `source` itself, unless `source` is a trusted proxy (`isProxy` of its
 * host) and the request carries the previous hop's Via below the proxy's own.
 */
export function viaOrigin(
  req: SipRequest,
  source: TransportAddress,
  isProxy: ((host: string) => boolean) | undefined,
): TransportAddress {
  if (!isProxy || req.vias.length < 2 || !isProxy(source.host)) return source;
  const hop = req.vias[1];
  let received: string | undefined;
  let rport: string | null | undefined;
  for (const [name, value] of hop.params) {
    const n = name.toLowerCase();
    if (n === 'received' && value) received = value;
    else if (n === 'rport') rport = value;
  }
  const host = (received ?? hop.host).replace(/^\[(.*)\]$/, '$1');
  const port = rport && /^\d{1,5}$/.test(rport) ? Number(rport) : (hop.port ?? 5060);
  const t = hop.transport.toLowerCase();
  const transport = (TRANSPORTS.has(t) ? t : source.transport) as TransportProtocol;
  return { transport, host, port };
}
