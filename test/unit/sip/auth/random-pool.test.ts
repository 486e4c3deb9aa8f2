import { describe, expect, it } from 'vitest';
import { RandomPool } from '../../../../src/sip/auth/random-pool.js';

describe('RandomPool', () => {
  it('hands out lower-case hex of the asked length, refilling across the pool end, never the same twice', () => {
    const pool = new RandomPool(64);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const h = pool.hex(6);
      expect(h).toMatch(/^[0-9a-f]{12}$/);
      seen.add(h);
    }
    expect(seen.size).toBe(200);
    const target = Buffer.alloc(8);
    pool.fill(target, 2, 6);
    expect(target.subarray(0, 2)).toEqual(Buffer.alloc(2));
  });
});
