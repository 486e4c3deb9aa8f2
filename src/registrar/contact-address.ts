import { isIP } from 'node:net';
import type { SipUri, TransportAddress, TransportProtocol } from '../sip/message/types.js';

/**
 * Comparison key of a contact URI, after RFC 3261 §19.1.4 (simplified: scheme, user,
 * case-insensitive host, port and `transport` only). FIXME(RFC 3261 §19.1.4): other URI
 * parameters (`maddr`, `ttl`, `user`, `method`) are not compared.
 */
export function contactKey(uri: SipUri): string {
  let transport = '';
  for (const [k, v] of uri.params) if (k.toLowerCase() === 'transport') transport = (v ?? '').toLowerCase();
  return `${uri.scheme}:${uri.user ?? ''}@${uri.host.toLowerCase()}:${uri.port ?? ''};${transport}`;
}

/** Host without IPv6 brackets, lower case. */
export function bareHost(host: string): string {
  return (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
}

const TRANSPORTS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss']);

/** `transport` URI parameter as a TransportProtocol, or undefined (RFC 3261 §19.1.1). */
export function uriTransport(uri: SipUri): TransportProtocol | undefined {
  for (const [k, v] of uri.params) {
    if (k.toLowerCase() === 'transport' && v && TRANSPORTS.has(v.toLowerCase())) return v.toLowerCase() as TransportProtocol;
  }
  return undefined;
}

/**
 * Where requests for a registered contact go (behaviour §3.5 "use the source address when the
 * Contact is private — NAT"; RFC 3581 `rport`, RFC 5626 §5.3 flow reuse):
 * - stream transports (TCP, TLS, WS): always the connection the REGISTER came on;
 * - UDP: the Contact's own address when it is an IP literal equal to the source IP, else the
 *   source address (a Contact behind NAT, private, or a host name we would have to resolve).
 */
export function bindingDestination(contact: SipUri, source: TransportAddress): { dest: TransportAddress; nat: boolean } {
  const host = bareHost(contact.host);
  // The source is the socket's peer address, an IP literal: a contact host equal to it is one
  // too (compared first: the IP syntax check is a regular expression).
  const sameIp = host === bareHost(source.host) && isIP(host) !== 0;
  if (source.transport !== 'udp') {
    return { dest: { ...source }, nat: !(sameIp && (contact.port ?? 5060) === source.port) };
  }
  if (sameIp) {
    const transport = uriTransport(contact) ?? 'udp';
    const port = contact.port ?? (contact.scheme === 'sips' || transport === 'tls' ? 5061 : 5060);
    return { dest: { transport, host, port }, nat: false };
  }
  return { dest: { ...source }, nat: true };
}
