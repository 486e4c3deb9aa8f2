import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CTI_REQUEST_SCHEMAS, parseCtiRequest } from '../../../../src/api/cti/cti-request-schemas.js';

const names = Object.keys(CTI_REQUEST_SCHEMAS);

describe('parseCtiRequest fuzz', () => {
  it('never throws on arbitrary text or JSON, and accepted requests always have a known name and a referenceId', () => {
    const frame = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      fc
        .record(
          {
            request: fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 20 })),
            referenceId: fc.oneof(fc.integer(), fc.string({ maxLength: 70 }), fc.constant(null)),
            thisDN: fc.oneof(fc.string({ maxLength: 70 }), fc.integer()),
            agentId: fc.string({ maxLength: 10 }),
            password: fc.string({ maxLength: 10 }),
            connId: fc.oneof(fc.stringMatching(/^[0-9a-f]{0,40}$/), fc.string({ maxLength: 5 })),
            workMode: fc.oneof(fc.constantFrom('AutoIn', 'ManualIn', 'AuxWork', 'Bogus'), fc.integer()),
            userData: fc.dictionary(
              fc.string({ maxLength: 5 }),
              fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean()),
            ),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(frame, (text) => {
        const r = parseCtiRequest(text);
        if (r.ok) {
          expect(names).toContain(r.request.request);
          expect(r.request.referenceId).toBeDefined();
        } else {
          expect(['BAD_JSON', 'UNKNOWN_REQUEST', 'INVALID_ATTRIBUTES']).toContain(r.error);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
