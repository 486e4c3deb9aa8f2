import { describe, expect, it } from 'vitest';
import { normaliseIp, parseAddressList } from '../../../src/util/address-list.js';

function list(v: string) {
  const r = parseAddressList(v);
  if (!r.ok) throw new Error(`bad ${r.bad}`);
  return r.list;
}

describe('address lists (trusted-sources)', () => {
  it('IPv4 addresses and CIDR blocks', () => {
    const l = list('192.0.2.10, 198.51.100.0/24,127.0.0.4/32');
    expect(l.has('192.0.2.10')).toBe(true);
    expect(l.has('192.0.2.11')).toBe(false);
    expect(l.has('198.51.100.77')).toBe(true);
    expect(l.has('198.51.101.1')).toBe(false);
    expect(l.has('127.0.0.4')).toBe(true);
    expect(l.has('127.0.0.5')).toBe(false);
    expect(list('0.0.0.0/0').has('203.0.113.9')).toBe(true);
  });

  it('IPv6 addresses and CIDR blocks, brackets and case ignored; IPv4-mapped sources match IPv4 entries', () => {
    const l = list('2001:DB8::/32, [::1], fe80::1');
    expect(l.has('2001:db8:1::5')).toBe(true);
    expect(l.has('[2001:db8::abcd]')).toBe(true);
    expect(l.has('2001:db9::1')).toBe(false);
    expect(l.has('::1')).toBe(true);
    expect(l.has('FE80::1')).toBe(true);
    expect(l.has('fe80::2')).toBe(false);
    expect(list('203.0.113.0/24').has('::ffff:203.0.113.3')).toBe(true);
    expect(l.has('203.0.113.3')).toBe(false);
    expect(l.has('not-an-ip')).toBe(false);
  });

  it('refuses what is not an address or a CIDR block', () => {
    for (const bad of [
      '203.0.113.0/33',
      '2001:db8::/129',
      'sbc.example.com',
      '203.0.113',
      '203.0.113.1/',
      '203.0.113.1/x',
      '::1/-1',
      '300.1.1.1',
    ]) {
      expect(parseAddressList(`127.0.0.1, ${bad}`)).toEqual({ ok: false, bad });
    }
  });

  it('normaliseIp', () => {
    expect(normaliseIp('[::FFFF:127.0.0.1]')).toBe('127.0.0.1');
    expect(normaliseIp(' 2001:DB8::1 ')).toBe('2001:db8::1');
    expect(normaliseIp('example.com')).toBeUndefined();
  });
});
