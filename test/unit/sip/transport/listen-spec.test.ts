import { describe, expect, it } from 'vitest';
import { formatAddress, parseListenSpec } from '../../../../src/sip/transport/listen-spec.js';

describe('listen specs (transport:host:port)', () => {
  it('parses IPv4, IPv6 in brackets, default ports', () => {
    expect(parseListenSpec('udp:127.0.0.1:5060')).toEqual({ transport: 'udp', host: '127.0.0.1', port: 5060 });
    expect(parseListenSpec('TCP:0.0.0.0:0')).toEqual({ transport: 'tcp', host: '0.0.0.0', port: 0 });
    expect(parseListenSpec('tcp:[::1]:5070')).toEqual({ transport: 'tcp', host: '::1', port: 5070 });
    expect(parseListenSpec('tls:127.0.0.1')).toEqual({ transport: 'tls', host: '127.0.0.1', port: 5061 });
    expect(parseListenSpec('udp:[::]')).toEqual({ transport: 'udp', host: '::', port: 5060 });
    expect(parseListenSpec(' ws:127.0.0.1:8088 ')).toEqual({ transport: 'ws', host: '127.0.0.1', port: 8088 });
  });

  it('refuses what it cannot bind', () => {
    expect(() => parseListenSpec('127.0.0.1:5060')).toThrow(/unknown transport/);
    expect(() => parseListenSpec('sctp:127.0.0.1:5060')).toThrow(/unknown transport/);
    expect(() => parseListenSpec('udp:localhost:5060')).toThrow(/not an IPv4 address/);
    expect(() => parseListenSpec('udp:::1:5060')).toThrow(/IPv6 goes in brackets/);
    expect(() => parseListenSpec('udp:[::1:5060')).toThrow(/unterminated/);
    expect(() => parseListenSpec('udp:[127.0.0.1]:5060')).toThrow(/not an IPv6/);
    expect(() => parseListenSpec('udp:127.0.0.1:65536')).toThrow(/bad port/);
    expect(() => parseListenSpec('udp:127.0.0.1:x')).toThrow(/bad port/);
    expect(() => parseListenSpec('udp')).toThrow(/expected transport:host:port/);
  });

  it('formats addresses back, IPv6 in brackets', () => {
    expect(formatAddress({ transport: 'udp', host: '::1', port: 5060 })).toBe('udp:[::1]:5060');
    expect(formatAddress({ transport: 'tcp', host: '127.0.0.1', port: 1 })).toBe('tcp:127.0.0.1:1');
  });
});
