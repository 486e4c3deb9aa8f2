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
  });
  it('hands out unsigned 32-bit values across refills, mixed with hex', () => {
    const pool = new RandomPool(64);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const v = pool.uint32();
      expect(Number.isInteger(v) && v >= 0 && v <= 0xffffffff).toBe(true);
      seen.add(v);
      if (i % 7 === 0) expect(pool.hex(3)).toMatch(/^[0-9a-f]{6}$/);
    }
    expect(seen.size).toBeGreaterThan(195);
  });
});
