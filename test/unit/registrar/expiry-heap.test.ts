import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpiryHeap, type ExpiryEntry } from '../../../src/registrar/expiry-heap.js';

function drain(h: ExpiryHeap): number[] {
  const out: number[] = [];
  for (let e = h.pop(); e !== undefined; e = h.pop()) out.push(e.at);
  return out;
}

describe('ExpiryHeap', () => {
  it('pops in expiry order; compact keeps exactly the accepted entries, still in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 50 }),
        fc.integer({ min: 2, max: 5 }),
        (times, later, mod) => {
          const h = new ExpiryHeap();
          times.forEach((at, i) => h.push({ at, dn: 'd', key: String(i) }));
          const keep = (e: ExpiryEntry): boolean => Number(e.key) % mod !== 0;
          h.compact(keep);
          const kept = times.filter((_, i) => i % mod !== 0);
          expect(h.size).toBe(kept.length);
          // The heap stays usable after compaction.
          later.forEach((at, i) => h.push({ at, dn: 'd', key: `later${i}` }));
          expect(drain(h)).toEqual([...kept, ...later].sort((a, b) => a - b));
        },
      ),
    );
  });

  it('compact to nothing leaves an empty heap', () => {
    const h = new ExpiryHeap();
    for (let i = 0; i < 10; i++) h.push({ at: 10 - i, dn: 'd', key: String(i) });
    h.compact(() => false);
    expect(h.size).toBe(0);
    expect(h.peek()).toBeUndefined();
  });
});
