/**
 * The layering of docs/architecture.md, enforced: every relative import in src/ goes to the same
 * layer or to a layer below. In particular nothing in src/sip knows about config, agents or calls.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';

/**
 * Lower rank = lower layer; the first matching prefix wins. Inside contact-center the root files
 * (the CallControl port, domain events) sit below agents, agents below routing, routing below
 * calls: the router never reaches into calls, agents never into the router.
 */
const RANK: Array<[prefix: string, rank: number]> = [
  ['util/', 0],
  ['sip/auth/', 1],
  ['sip/message/', 1],
  ['sip/transport/', 2],
  ['sip/transaction/', 3],
  ['sip/stack/', 4],
  ['sip/dialog/', 5],
  ['media/', 6],
  ['config/', 7],
  ['registrar/', 8],
  ['reachability/', 9],
  ['trust/', 10],
  ['contact-center/agents/', 12],
  ['contact-center/routing/', 13],
  ['contact-center/calls/', 14],
  ['contact-center/', 11],
  ['cluster/', 15],
  ['api/', 16],
  ['app.ts', 17],
  ['cli/', 18],
];

function rankOf(srcRelative: string): number {
  for (const [prefix, rank] of RANK) if (srcRelative.startsWith(prefix)) return rank;
  throw new Error(`${srcRelative} is in no layer of docs/architecture.md`);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

describe('architecture layers', () => {
  const src = resolve(repoRoot, 'src');
  const files = tsFiles(src);

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(100);
  });

  it('every relative import goes to the same layer or below', () => {
    const violations: string[] = [];
    const importRe = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g;
    for (const file of files) {
      const from = relative(src, file);
      const fromRank = rankOf(from);
      for (const m of readFileSync(file, 'utf8').matchAll(importRe)) {
        const target = relative(src, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts');
        if (target.startsWith('..')) {
          violations.push(`${from} imports ${m[1]} outside src/`);
          continue;
        }
        if (rankOf(target) > fromRank) violations.push(`${from} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the web UI (web/src) takes only types from the server, never its code', () => {
    const web = resolve(repoRoot, 'web/src');
    const webFiles = tsFiles(web).concat(
      readdirSync(web, { recursive: true, encoding: 'utf8' })
        .filter((n) => n.endsWith('.tsx'))
        .map((n) => join(web, n)),
    );
    expect(webFiles.length).toBeGreaterThan(2);
    const violations: string[] = [];
    const importRe = /(?:^|\n)\s*(import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'/g;
    for (const file of webFiles) {
      for (const m of readFileSync(file, 'utf8').matchAll(importRe)) {
        const target = resolve(dirname(file), m[3]!);
        if (!target.startsWith(web) && !m[2])
          violations.push(`${relative(repoRoot, file)} imports ${m[3]} (not \`import type\`)`);
      }
    }
    expect(violations).toEqual([]);
  });
});
