/**
 * Lists of IP addresses and CIDR blocks (`192.0.2.10`, `198.51.100.0/24`, `2001:db8::/32`, `::1`),
 * as written in the `trusted-sources` option: parsed once, matched per request with Node's
 * `net.BlockList`. IPv4-mapped IPv6 sources (`::ffff:192.0.2.10`, what a dual-stack socket
 * reports) match their IPv4 entries.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';

/** A parsed address list. */
export interface AddressList {
  /** Whether `ip` (an IP literal, brackets allowed) is in the list. */
  has(ip: string): boolean;
  /** The items as written (trimmed). */
  readonly items: readonly string[];
}

/** What {@link parseAddressList} returns: the list, or the first item that is not an address or CIDR. */
export type AddressListResult = { ok: true; list: AddressList } | { ok: false; bad: string };

/**
 * An IP literal in canonical matching form: brackets removed, lower case, an IPv4-mapped IPv6
 * address (`::ffff:a.b.c.d`) as its IPv4 address. `undefined` when `host` is not an IP literal.
 */
export function normaliseIp(host: string): string | undefined {
  let h = host.trim();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  h = h.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(h);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  return isIP(h) === 0 ? undefined : h;
}

/** One item: `ip` or `ip/prefix-length`; undefined when malformed. */
function parseItem(item: string): { ip: string; family: 'ipv4' | 'ipv6'; prefix?: number } | undefined {
  const slash = item.indexOf('/');
  const ipText = slash < 0 ? item : item.slice(0, slash);
  const ip = normaliseIp(ipText);
  if (ip === undefined) return undefined;
  const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
  if (slash < 0) return { ip, family };
  const p = item.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > (family === 'ipv4' ? 32 : 128)) return undefined;
  return { ip, family, prefix };
}

/** Parse a comma-separated list of IP addresses and CIDR blocks (IPv4 and IPv6). */
export function parseAddressList(value: string): AddressListResult {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const block = new BlockList();
  for (const item of items) {
    const p = parseItem(item);
    if (!p) return { ok: false, bad: item };
    if (p.prefix === undefined) block.addAddress(p.ip, p.family);
    else block.addSubnet(p.ip, p.prefix, p.family);
  }
  return {
    ok: true,
    list: {
      items,
      has(ip: string): boolean {
        const n = normaliseIp(ip);
        if (n === undefined) return false;
        return block.check(n, isIPv4(n) ? 'ipv4' : 'ipv6');
      },
    },
  };
}
