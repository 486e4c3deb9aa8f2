import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CTI_ERROR } from '../../../../src/api/cti/cti-error-codes.js';
import { repoRoot } from '../../../helpers/paths.js';

describe('CTI error-code table', () => {
  const doc = readFileSync(join(repoRoot, 'docs/cti-protocol.md'), 'utf8');
  const rows = new Map<number, string>();
  for (const m of doc.matchAll(/^\| (\d{4}) \| ([A-Z_]+) \|/gm)) rows.set(Number(m[1]), m[2]);

  it('codes are unique', () => {
    const codes = Object.values(CTI_ERROR).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('docs/cti-protocol.md lists exactly the codes of CTI_ERROR, with the same names', () => {
    const fromCode = new Map(Object.entries(CTI_ERROR).map(([name, e]) => [e.code, name]));
    expect([...rows.entries()].sort()).toEqual([...fromCode.entries()].sort());
  });
});
