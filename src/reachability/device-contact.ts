import type { TransportAddress, TransportProtocol } from '../sip/message/types.js';

/** A parsed static `contact` option: `host[:port]` or `sip:[user@]host[:port][;params]` (behaviour §3.1). */
export interface DeviceContact {
  scheme: 'sip' | 'sips';
  /** User part given in the URI, if any (then it replaces the DN number, behaviour §3.1). */
  user?: string;
  /** Host as written (IPv6 in brackets). */
  host: string;
  port?: number;
  /** URI parameters as written, with their leading `;` (e.g. `;transport=tcp`), or ''. */
  params: string;
  transport: TransportProtocol;
}

const TRANSPORTS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss']);

/**
 * Parse a static `contact` option value. Returns `undefined` for `*`, empty, or an unusable
 * value (the config layer validates; this is the second line of defence).
 */
export function parseDeviceContact(value: string | undefined): DeviceContact | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '' || v === '*') return undefined;
  let scheme: 'sip' | 'sips' = 'sip';
  let rest = v;
  const sm = /^(sips?):/i.exec(v);
  if (sm) {
    scheme = sm[1].toLowerCase() as 'sip' | 'sips';
    rest = v.slice(sm[0].length);
  }
  let user: string | undefined;
  const at = rest.indexOf('@');
  if (sm && at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?((?:;[^;?\s]*)*)$/.exec(rest);
  if (!m) return undefined;
  const port = m[2] ? Number(m[2]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const params = sm ? (m[3] ?? '') : '';
  let transport: TransportProtocol = scheme === 'sips' ? 'tls' : 'udp';
  const tm = /;transport=([A-Za-z]+)/i.exec(params);
  if (tm && TRANSPORTS.has(tm[1].toLowerCase())) transport = tm[1].toLowerCase() as TransportProtocol;
  return { scheme, user: user || undefined, host: m[1], port, params, transport };
}

/** `host[:port]` part of a device contact. */
export function contactHostPort(c: DeviceContact): string {
  return c.port === undefined ? c.host : `${c.host}:${c.port}`;
}

/**
 * Request-URI for a call to `number` through this contact (behaviour §3.2: the full number,
 * prefix kept; a user part in the contact URI wins for static DN contacts).
 */
export function contactTarget(c: DeviceContact, number: string, useContactUser: boolean): string {
  const user = useContactUser && c.user !== undefined ? c.user : number;
  return `${c.scheme}:${user}@${contactHostPort(c)}${c.params}`;
}

/** Request-URI of an OPTIONS probe to the device itself (behaviour §5.1: no user part). */
export function contactProbeUri(c: DeviceContact): string {
  return `${c.scheme}:${contactHostPort(c)}${c.params}`;
}

/**
 * Transport address of the contact. FIXME(RFC 3263): host names are not resolved (only
 * `localhost` is mapped to 127.0.0.1); use IP literals in `contact`.
 */
export function contactDest(c: DeviceContact): TransportAddress {
  let host = c.host.startsWith('[') ? c.host.slice(1, -1) : c.host;
  if (host.toLowerCase() === 'localhost') host = '127.0.0.1';
  const port = c.port ?? (c.transport === 'tls' || c.transport === 'wss' ? 5061 : 5060);
  return { transport: c.transport, host, port };
}
