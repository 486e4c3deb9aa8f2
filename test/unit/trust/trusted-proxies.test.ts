import { describe, expect, it } from 'vitest';
import { TrustedProxies } from '../../../src/trust/trusted-proxies.js';

describe('sip-trusted-proxies', () => {
  it('matches the listed addresses and blocks, follows a changed option, and ignores a bad list', () => {
    const options: Record<string, string> = {};
    const store = { server: { options } } as unknown as ConstructorParameters<typeof TrustedProxies>[0];
    const proxies = new TrustedProxies(store);
    expect(proxies.has('127.0.0.1')).toBe(false);
    options['sip-trusted-proxies'] = '127.0.0.1, 192.0.2.0/24';
    expect(proxies.has('127.0.0.1')).toBe(true);
    expect(proxies.has('192.0.2.77')).toBe(true);
    expect(proxies.has('::ffff:192.0.2.8')).toBe(true);
    expect(proxies.has('127.0.0.2')).toBe(false);
    options['sip-trusted-proxies'] = '127.0.0.1, not-an-address';
    expect(proxies.has('127.0.0.1')).toBe(false);
  });
});
