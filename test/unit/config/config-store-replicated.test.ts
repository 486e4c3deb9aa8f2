/**
 * The two entry points the PostgreSQL store of record uses (docs/cluster.md): `beforeCommit`
 * of applyAsync (the log's append; its failure leaves nothing applied) and applyCommitted (a
 * change-set committed elsewhere, with its own version, time and origin).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import type { ChangeRequest, CommittedChangeSet } from '../../../src/config/change-set.js';

let dirs: string[];
let stores: ConfigStore[];

function store(): ConfigStore {
  const d = mkdtempSync(join(tmpdir(), 'sipserver-store-repl-'));
  dirs.push(d);
  const s = openStore(d);
  stores.push(s);
  return s;
}

beforeEach(() => {
  dirs = [];
  stores = [];
});
afterEach(() => {
  for (const s of stores) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const dn = (key: string, options: Record<string, string> = {}): ChangeRequest => ({
  op: 'put',
  kind: 'dn',
  key,
  value: { type: 'extension', options },
});

describe('ConfigStore for a store of record elsewhere', () => {
  it('beforeCommit gets the change-set and its JSON before the commit; when it rejects nothing is applied', async () => {
    const s = store();
    await s.applyAsync([dn('1000')]);
    const seen: CommittedChangeSet[] = [];
    s.subscribe((cs) => seen.push(cs));
    const got: { cs: CommittedChangeSet; json: string }[] = [];
    const r = await s.applyAsync([dn('1001', { 'oos-check': '5' })], {
      origin: 'api',
      beforeCommit: async (cs, json) => {
        got.push({ cs: structuredClone(cs), json });
        expect(s.version).toBe(1); // not committed yet
      },
    });
    expect(r.version).toBe(2);
    expect(got).toHaveLength(1);
    expect(got[0]!.cs).toEqual(s.changesSince(1)[0]);
    expect(JSON.parse(got[0]!.json)).toEqual(got[0]!.cs.changes);

    const refused = s.applyAsync([dn('1002')], {
      beforeCommit: () => Promise.reject(new Error('the log is unreachable')),
    });
    await expect(refused).rejects.toThrow('the log is unreachable');
    expect(s.version).toBe(2);
    expect(s.getDn('1002')).toBeUndefined();
    expect(s.changesSince(2)).toEqual([]);
    expect(seen.map((cs) => cs.version)).toEqual([2]);
    // The next write takes the version the refused one did not.
    expect((await s.applyAsync([dn('1002')])).version).toBe(3);
  });

  it('applyCommitted replays another store’s change-sets with their versions, times and origins', async () => {
    const a = store();
    a.apply([dn('1000'), dn('1001')], { origin: 'reconcile' });
    a.apply([{ op: 'patch', kind: 'dn', key: '1000', value: { options: { 'oos-check': '5' } } }], { origin: 'api' });
    a.apply([
      { op: 'delete', kind: 'dn', key: '1001' },
      { op: 'put', kind: 'agent', key: 'jo', value: { password: 'pw', dn: '1000' } },
    ]);
    const b = store();
    const seen: number[] = [];
    b.subscribe((cs) => seen.push(cs.version));
    const log = JSON.parse(JSON.stringify(a.changesSince(0))) as CommittedChangeSet[];
    expect(() => b.applyCommitted(log[1]!)).toThrow(/change-set 2 does not follow the store's version 0/);
    for (const cs of log) b.applyCommitted(cs);
    expect(seen).toEqual([1, 2, 3]);
    expect(b.version).toBe(3);
    expect(b.changesSince(0)).toEqual(a.changesSince(0));
    expect(b.exportModel()).toEqual(a.exportModel());
    expect(b.getAgent('jo')?.password).toBe('pw');
    expect(b.agentsOfDn('1000').map((x) => x.id)).toEqual(['jo']);
    // Reopened from its SQLite file: the same.
    const dir = b.dataDir;
    b.close();
    const reopened = openStore(dir);
    stores.push(reopened);
    expect(reopened.version).toBe(3);
    expect(reopened.exportModel()).toEqual(a.exportModel());
  });
});
