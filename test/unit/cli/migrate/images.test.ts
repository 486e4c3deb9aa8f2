import { describe, expect, it } from 'vitest';
import { same } from '../../../../src/cli/migrate/images.js';
import { canonicalJson } from '../../../../src/config/config-diff.js';

describe('same', () => {
  const cases: [unknown, unknown][] = [
    [
      { id: 'a', options: { x: '1', y: '2' } },
      { options: { y: '2', x: '1' }, id: 'a' },
    ],
    [{ id: 'a', dn: undefined }, { id: 'a' }],
    [{ id: 'a', dn: '7000' }, { id: 'a' }],
    [{ options: { x: '1' } }, { options: { x: '2' } }],
    [
      ['1', '2'],
      ['2', '1'],
    ],
    [{ a: [] }, { a: {} }],
    [null, {}],
    [null, null],
    ['1', 1],
  ];
  it('says what comparing canonical JSON forms says', () => {
    for (const [a, b] of cases) expect(same(a, b), JSON.stringify([a, b])).toBe(canonicalJson(a) === canonicalJson(b));
    expect(cases.filter(([a, b]) => same(a, b))).toHaveLength(3);
  });
});
