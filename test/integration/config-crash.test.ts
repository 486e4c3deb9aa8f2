/**
 * Atomicity of change-sets (behaviour §13): a process killed with SIGKILL while it applies a
 * 100,000-change change-set leaves the store at the old or the new version, never between.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/config/config-store.js';
import { loadConfigText } from '../../src/config/config-file.js';
import { examplesDir, repoRoot } from '../helpers/paths.js';

const COUNT = 100_000;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sipserver-crash-'));
  const s = openStore(dir);
  s.reconcile(loadConfigText(readFileSync(join(examplesDir, 'home.yaml'), 'utf8')).model!);
  s.close();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child; kills it with SIGKILL when a stdout line matches `killAt` (or lets it finish). */
function runChild(
  killAt: RegExp | null,
): Promise<{ lines: string[]; signal: NodeJS.Signals | null; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/integration/config-crash-child.ts'), dir, String(COUNT)],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const lines: string[] = [];
    let buf = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child timed out; stdout: ${lines.join('|')}; stderr: ${stderr}`));
    }, 50_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (killAt && killAt.test(line)) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ lines, signal, code });
    });
  });
}

/** Reads the store again and checks that it is wholly at one version. */
function inspect(): { version: number; dns: number; softswitchOosCheck: string | undefined } {
  const db = new Database(join(dir, 'config.sqlite'));
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  db.close();
  const s = openStore(dir);
  try {
    const r = { version: s.version, dns: s.dnCount, softswitchOosCheck: s.getDn('Softswitch')?.options['oos-check'] };
    const feed = s.changesSince(0);
    expect(feed.map((c) => c.version)).toEqual(r.version === 1 ? [1] : [1, 2]);
    return r;
  } finally {
    s.close();
  }
}

describe('SIGKILL during a large change-set', () => {
  it.each([5_000, 50_000, 90_000])(
    'killed after %i of 100,000 rows: the store stays at the old version',
    async (at) => {
      const r = await runChild(new RegExp(`^progress ${at}$`));
      expect(r.signal).toBe('SIGKILL');
      expect(r.lines).not.toContain('committed 2');
      expect(inspect()).toEqual({ version: 1, dns: 4, softswitchOosCheck: '10' });
    },
  );

  it('killed while validating (before the transaction): old version', async () => {
    const r = await runChild(/^validating$/);
    expect(r.signal).toBe('SIGKILL');
    expect(inspect()).toEqual({ version: 1, dns: 4, softswitchOosCheck: '10' });
  });

  it('not killed: the new version with every change, then killed right after commit: still the new version', async () => {
    const r = await runChild(/^committed/);
    expect(r.lines).toContain('committed 2');
    expect(inspect()).toEqual({ version: 2, dns: 4 + COUNT, softswitchOosCheck: '7' });
  });
});
