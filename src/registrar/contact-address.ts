import { isIP } from 'node:net';
import { URI_MUST_MATCH_PARAMS } from '../sip/message/index.js';
import type { SipUri, TransportAddress, TransportProtocol } from '../sip/message/types.js';

/**
 * Comparison key of a contact URI after RFC 3261 §19.1.4: two contacts are the same binding when
 * their keys are equal. Compared: scheme; user part (case-sensitive); host (case-insensitive);
 * port (an absent port differs from an explicit 5060); and the `transport`, `user`, `ttl`,
 * `method` and `maddr` parameters, which must be absent from both or equal (case-insensitive).
 * Other parameters are ignored. FIXME(RFC 3261 §19.1.4): a parameter other than those five
 * present in both URIs with different values should make them differ (not expressible as one
 * key: that relation is not transitive), and `%HH` escapes of unreserved characters in the user
 * part are not decoded before comparing.
 */
export function contactKey(uri: SipUri): string {
  // The last value of each compared parameter, lower case, by its place in URI_MUST_MATCH_PARAMS.
  const values: Array<string | undefined> = [];
  for (const [k, v] of uri.params) {
    const at = URI_MUST_MATCH_PARAMS.indexOf(k.toLowerCase());
    if (at >= 0) values[at] = (v ?? '').toLowerCase();
  }
  const transportAt = URI_MUST_MATCH_PARAMS.indexOf('transport');
  let key = `${uri.scheme}:${uri.user ?? ''}@${uri.host.toLowerCase()}:${uri.port ?? ''};${values[transportAt] ?? ''}`;
  // The others each appended only when present, in a fixed order: keys of contacts without them
  // (stored bindings included) stay as they were.
  for (let i = 0; i < URI_MUST_MATCH_PARAMS.length; i++) {
    if (i !== transportAt && values[i] !== undefined) key += `;${URI_MUST_MATCH_PARAMS[i]}=${values[i]}`;
  }
  return key;
}

/** Host without IPv6 brackets, lower case. */
export function bareHost(host: string): string {
  return (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
}

const TRANSPORTS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss']);

/** `transport` URI parameter as a TransportProtocol, or undefined (RFC 3261 §19.1.1). */
export function uriTransport(uri: SipUri): TransportProtocol | undefined {
  for (const [k, v] of uri.params) {
    if (k.toLowerCase() === 'transport' && v && TRANSPORTS.has(v.toLowerCase()))
      return v.toLowerCase() as TransportProtocol;
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
export function bindingDestination(
  contact: SipUri,
  source: TransportAddress,
): { dest: TransportAddress; nat: boolean } {
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
