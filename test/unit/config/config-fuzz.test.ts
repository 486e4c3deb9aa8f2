import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigState } from '../../../src/config/config-state.js';
import { loadConfigText } from '../../../src/config/config-file.js';
import type { ChangeRequest } from '../../../src/config/change-set.js';

const key = fc.oneof(
  fc.constantFrom(
    'dns',
    'agents',
    'agent-groups',
    'server',
    'number',
    'type',
    'options',
    'id',
    'name',
    'password',
    'dn',
    'agents',
    'contact',
    'prefix',
    'service-type',
    'op',
    'kind',
    'key',
    'value',
  ),
  fc.string({ maxLength: 6 }),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    'extension',
    'voip-service',
    'routing-point',
    'softswitch',
    'put',
    'patch',
    'delete',
    'dn',
    'agent',
    'agent-group',
    'server',
    '*',
    '+1',
  ),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 5 }),
  ),
})).v;

describe('robustness: a user mistake never throws', () => {
  it('the planner answers problems for any change-set body', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(value, fc.record({ op: scalar, kind: scalar, key: scalar, value }, { requiredKeys: [] })), {
          maxLength: 6,
        }),
        (changes) => {
          const p = new ConfigState().plan(changes as ChangeRequest[]);
          expect(Array.isArray(p.errors)).toBe(true);
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });

  it('the file loader answers problems for any YAML document and any text', () => {
    fc.assert(
      fc.property(value, (doc) => {
        const r = loadConfigText(stringify(doc), 'f.yaml');
        expect(r.model !== undefined || r.errors.length > 0).toBe(true);
        for (const e of r.errors) expect(e.line).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000) },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const r = loadConfigText(text, 'f.yaml');
        expect(r.model !== undefined || r.errors.length > 0).toBe(true);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000) },
    );
  });
});
