import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SoftswitchPrefixTable } from '../../../src/config/softswitch-prefix-table.js';
import type { DnConfig } from '../../../src/config/config-model.js';

const ss = (number: string, prefix: string, priority?: string): DnConfig => ({
  number,
  type: 'voip-service',
  options: { contact: '127.0.0.1:5081', 'service-type': 'softswitch', prefix, ...(priority ? { priority } : {}) },
});

describe('SoftswitchPrefixTable (behaviour §3.3)', () => {
  it('orders candidates by prefix length, then priority, then name', () => {
    const t = new SoftswitchPrefixTable();
    t.applyDnChange(null, ss('Wide', '+1'));
    t.applyDnChange(null, ss('Narrow', '+1555'));
    t.applyDnChange(null, ss('Backup', '+1555', '5'));
    t.applyDnChange(null, ss('Main', '+1555', '1'));
    expect(t.candidates('+1 555 123 1111').map((c) => c.dn)).toEqual(['Main', 'Backup', 'Narrow', 'Wide']);
    expect(t.select('+15551231111')).toBe('Main');
    expect(t.select('+16')).toBe('Wide');
    expect(t.select('7777')).toBeUndefined();
  });

  it('normalises prefixes and ignores DNs that are not softswitches', () => {
    const t = new SoftswitchPrefixTable();
    t.applyDnChange(null, ss('SS', '+1 555, 77'));
    t.applyDnChange(null, { number: 'T', type: 'trunk', options: { prefix: '7' } });
    t.applyDnChange(null, { number: 'V', type: 'voip-service', options: { 'service-type': 'msml', prefix: '7' } });
    expect(t.candidates('7777').map((c) => [c.dn, c.prefix])).toEqual([['SS', '77']]);
    expect(t.select('+15550000')).toBe('SS');
    expect(t.size).toBe(1);
  });

  it('updates per change: prefix edited, softswitch removed, longest length shrinks', () => {
    const t = new SoftswitchPrefixTable();
    const a = ss('A', '+15551');
    t.applyDnChange(null, a);
    t.applyDnChange(null, ss('B', '+1'));
    expect(t.select('+155512')).toBe('A');
    const a2 = ss('A', '+44');
    t.applyDnChange(a, a2);
    expect(t.select('+155512')).toBe('B');
    expect(t.select('+4420')).toBe('A');
    t.applyDnChange(a2, null);
    expect(t.select('+4420')).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('agrees with a brute-force search after any sequence of changes (property)', () => {
    const name = fc.constantFrom('S1', 'S2', 'S3', 'S4');
    const prefix = fc
      .array(fc.constantFrom('1', '12', '123', '+1', '+15', '2', '77'), { minLength: 1, maxLength: 3 })
      .map((a) => a.join(','));
    const op = fc.record({
      name,
      prefix,
      priority: fc.option(fc.constantFrom('1', '2'), { nil: undefined }),
      del: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 30 }),
        fc.array(fc.constantFrom('1234', '+1555', '777', '2', '12', '9'), { minLength: 1 }),
        (ops, numbers) => {
          const t = new SoftswitchPrefixTable();
          const cur = new Map<string, DnConfig>();
          for (const o of ops) {
            const old = cur.get(o.name) ?? null;
            const neu = o.del ? null : ss(o.name, o.prefix, o.priority);
            t.applyDnChange(old, neu);
            if (neu) cur.set(o.name, neu);
            else cur.delete(o.name);
          }
          for (const n of numbers) {
            let best: { dn: string; len: number; pr: number } | undefined;
            for (const d of cur.values()) {
              const pr = d.options.priority ? Number(d.options.priority) : Infinity;
              for (const p of d.options.prefix.split(',')) {
                if (!n.startsWith(p)) continue;
                const better =
                  !best ||
                  p.length > best.len ||
                  (p.length === best.len && (pr < best.pr || (pr === best.pr && d.number < best.dn)));
                if (better) best = { dn: d.number, len: p.length, pr };
              }
            }
            expect(t.select(n)).toBe(best?.dn);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
