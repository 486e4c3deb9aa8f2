/**
 * The server's Node.js flags (src/cli/node-flags.ts) are the same in the places that start
 * it, and `--use-largepages` does what src/cli/node-flags.ts says where the kernel allows it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../../src/cli/node-flags.js';
import { repoRoot } from '../../helpers/paths.js';

describe('server Node flags', () => {
  it('are on the launcher line of the sipserver command', () => {
    const first = readFileSync(join(repoRoot, 'src/cli/main.ts'), 'utf8').split('\n')[0];
    expect(first).toBe(`#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
  });

  it("are in the quickstart's command", () => {
    const quickstart = readFileSync(join(repoRoot, 'docs/quickstart.md'), 'utf8');
    expect(quickstart).toContain(`node ${SERVER_NODE_FLAGS.join(' ')} dist/cli/main.js start`);
  });

  it('are in npm start', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start.startsWith(`node ${SERVER_NODE_FLAGS.join(' ')} dist/cli/main.js start `)).toBe(true);
  });

  it('start Node without a word on stderr, its code on huge pages when THP is not off, a 16 MB young generation', () => {
    // Reports whether an executable mapping of the process holds anonymous huge pages, and the new space's size.
    const probe = `const s=require('fs').readFileSync('/proc/self/smaps','utf8');let x=false,huge=false;
for(const l of s.split('\\n')){if(/^[0-9a-f]+-[0-9a-f]+ /.test(l))x=l.split(' ')[1].includes('x');else if(x&&/^AnonHugePages:\\s+[1-9]/.test(l))huge=true}
const ns=require('v8').getHeapSpaceStatistics().find((sp)=>sp.space_name==='new_space');
console.log((huge?'huge':'small')+' '+ns.space_size/1048576)`;
    const run = (flags: readonly string[]) =>
      spawnSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8' });
    const withFlags = run(SERVER_NODE_FLAGS);
    expect(withFlags.status).toBe(0);
    expect(withFlags.stderr).toBe('');
    const [code, newSpaceMb] = withFlags.stdout.trim().split(' ');
    expect(run([]).stdout.trim().split(' ')[0]).toBe('small');
    const thp = '/sys/kernel/mm/transparent_hugepage/enabled';
    const thpOff = process.platform !== 'linux' || !existsSync(thp) || readFileSync(thp, 'utf8').includes('[never]');
    expect(code).toBe(thpOff ? 'small' : 'huge');
    expect(Number(newSpaceMb)).toBe(16);
  });
});
