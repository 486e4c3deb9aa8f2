import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JournalWriter, readJournal, summariseJournal } from '../../../../src/cli/migrate/journal.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('migration journal', () => {
  it('appends JSON lines and folds them into a summary', () => {
    dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const f = join(dir, 'p.journal');
    const w = new JournalWriter(f);
    w.append({ t: 'start', time: 't0', plan: '/p', server: 'http://x', agents: 4 });
    w.append({ t: 'batch', n: 1, agents: ['a', 'b'], version: 5, size: 2, cpu: 1, lag: 2, softswitchCreated: true });
    w.append({ t: 'batch', n: 2, agents: ['c'], version: 6, size: 1, cpu: 1, lag: 2, removedDns: ['7001'] });
    w.append({ t: 'deferred', agentId: 'd', why: 'on a call' });
    w.append({ t: 'office-dn-removed', number: '7000', version: 7 });
    expect(readFileSync(f, 'utf8').split('\n')).toHaveLength(6);
    let s = summariseJournal(readJournal(f));
    expect([...s.moved]).toEqual(['a', 'b', 'c']);
    expect([...s.deferred]).toEqual(['d']);
    expect(s.batches.map((b) => b.n)).toEqual([1, 2]);
    expect(s.lastVersion).toBe(7);
    expect(s.done).toBe(false);
    // The change-set that deleted each office DN: what rollback restores it from.
    expect([...s.removedBy]).toEqual([
      ['7001', 6],
      ['7000', 7],
    ]);

    w.append({ t: 'rolled-back', n: 2, agents: ['c'], version: 8, why: 'rollback', restoredDns: ['7001'] });
    w.append({ t: 'done', time: 't1', version: 8 });
    s = summariseJournal(readJournal(f));
    expect([...s.moved]).toEqual(['a', 'b']);
    expect(s.batches.map((b) => b.n)).toEqual([1]);
    expect(s.lastBatch).toBe(2);
    expect(s.done).toBe(true);
    expect([...s.removedBy]).toEqual([['7000', 7]]);
    expect(s.start?.plan).toBe('/p');
  });

  it('ignores a torn last line, refuses a broken line in the middle', () => {
    dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const f = join(dir, 'p.journal');
    new JournalWriter(f).append({ t: 'start', time: 't0', plan: '/p', server: 'http://x', agents: 1 });
    appendFileSync(f, '{"t":"batch","n":1,"ag');
    expect(readJournal(f)).toHaveLength(1);
    appendFileSync(f, '\n{"t":"done","time":"t","version":1}\n');
    expect(() => readJournal(f)).toThrow(/p.journal:2/);
    expect(readJournal(join(dir, 'missing'))).toEqual([]);
  });
});
