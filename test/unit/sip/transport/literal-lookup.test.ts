import { describe, expect, it } from 'vitest';
import { literalLookup } from '../../../../src/sip/transport/transport-udp.js';

/** Calls `literalLookup` and says whether it answered before returning, with what. */
function look(host: string): Promise<{ sync: boolean; err: Error | null; address: string; family: number }> {
  return new Promise((resolve) => {
    let returned = false;
    literalLookup(host, {}, (err, address, family) =>
      resolve({ sync: !returned, err, address: String(address), family: Number(family) }),
    );
    returned = true;
  });
}

describe('literalLookup (dgram lookup of the UDP transport)', () => {
  it('answers IP literals synchronously with their family', async () => {
    expect(await look('127.0.0.1')).toEqual({ sync: true, err: null, address: '127.0.0.1', family: 4 });
    expect(await look('127.0.0.1')).toEqual({ sync: true, err: null, address: '127.0.0.1', family: 4 });
    expect(await look('::1')).toEqual({ sync: true, err: null, address: '::1', family: 6 });
    expect(await look('::1')).toEqual({ sync: true, err: null, address: '::1', family: 6 });
    expect(await look('127.0.0.2')).toEqual({ sync: true, err: null, address: '127.0.0.2', family: 4 });
  });
  it('leaves names to dns.lookup (asynchronous; localhost, from the hosts file), after a literal too', async () => {
    await look('127.0.0.1');
    const r = await look('localhost');
    expect(r.sync).toBe(false);
    expect(r.err).toBeNull();
    expect([4, 6]).toContain(r.family);
  });
});
