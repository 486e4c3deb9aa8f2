import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import { ChangeSetError, type ChangeRequest, type CommittedChangeSet } from '../../../src/config/change-set.js';
import { nextTurn, stringifySteps, TurnSlicer } from '../../../src/config/turn-slicer.js';
import { waitFor } from '../../helpers/wait.js';

let dir: string;
let store: ConfigStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sipserver-store-async-'));
  store = openStore(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** n extensions and an agent on each. */
const office = (n: number, from = 0): ChangeRequest[] => {
  const out: ChangeRequest[] = [];
  for (let i = from; i < from + n; i++) {
    out.push({
      op: 'put',
      kind: 'dn',
      key: String(10000 + i),
      value: { type: 'extension', options: { contact: '*' } },
    });
    out.push({ op: 'put', kind: 'agent', key: `a${i}`, value: { password: 'pw', dn: String(10000 + i) } });
  }
  return out;
};

describe('ConfigStore.applyAsync (behaviour §13)', () => {
  it('gives what apply gives, in turns: the store, the feed and a reopened store agree', async () => {
    const seen: CommittedChangeSet[] = [];
    store.subscribe((cs) => seen.push(cs));
    const r = await store.applyAsync(office(2000), { origin: 'api', sliceMs: 1 });
    expect(r.version).toBe(1);
    expect(r.changes).toHaveLength(4000);
    expect(r.busyMs).toBeGreaterThan(0);
    expect(r.longestTurnMs).toBeLessThanOrEqual(r.busyMs);
    expect(seen.map((c) => [c.version, c.origin, c.changes.length])).toEqual([[1, 'api', 4000]]);
    const other = mkdtempSync(join(tmpdir(), 'sipserver-store-sync-'));
    const sync = openStore(other);
    try {
      sync.apply(office(2000), { origin: 'api' });
      expect(store.exportModel()).toEqual(sync.exportModel());
      expect(store.changesSince(0)[0].changes).toEqual(sync.changesSince(0)[0].changes);
    } finally {
      sync.close();
      rmSync(other, { recursive: true, force: true });
    }
    store.close();
    store = openStore(dir);
    expect(store.version).toBe(1);
    expect(store.listAgents().total).toBe(2000);
  });

  it('nothing is visible before the last turn: the old configuration and version until it commits', async () => {
    store.apply(office(10));
    const p = store.applyAsync(office(3000, 10), { sliceMs: 0.5 });
    let turns = 0;
    let settled = false;
    void p.then(() => (settled = true));
    while (!settled) {
      await nextTurn();
      if (settled) break;
      turns++;
      expect(store.version).toBe(1);
      expect(store.getAgent('a10')).toBeUndefined();
      expect(store.changesSince(1)).toEqual([]);
    }
    expect(turns).toBeGreaterThan(2);
    expect((await p).version).toBe(2);
    expect(store.getAgent('a3009')?.dn).toBe('13009');
  });

  it('refuses a change-set with a problem as a whole, listing every problem, and applies nothing', async () => {
    const changes = [...office(500), { op: 'put', kind: 'agent', key: 'x', value: { password: 'p', dn: '999' } }];
    changes.push({ op: 'delete', kind: 'dn', key: '424242' });
    const err = await store.applyAsync(changes as ChangeRequest[], { sliceMs: 0.5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChangeSetError);
    expect((err as ChangeSetError).errors.map((p) => p.index)).toEqual([1000, 1001]);
    expect(store.version).toBe(0);
    expect(store.listDns().total).toBe(0);
    expect((await store.applyAsync(office(1))).version).toBe(1);
  });

  it('one at a time: apply and a second applyAsync throw while one is under way', async () => {
    const p = store.applyAsync(office(2000), { sliceMs: 0.5 });
    expect(() => store.apply(office(1, 5000))).toThrow(/one at a time/);
    await expect(store.applyAsync(office(1, 5000))).rejects.toThrow(/one at a time/);
    await p;
    expect(store.apply(office(1, 5000)).version).toBe(2);
  });

  it('a store closed half-way rolls back: a reopened store has the old version', async () => {
    store.apply(office(10));
    const p = store.applyAsync(office(3000, 10), { sliceMs: 0.5 });
    for (let i = 0; i < 5; i++) await nextTurn();
    store.close();
    await expect(p).rejects.toThrow();
    store = openStore(dir);
    expect(store.version).toBe(1);
    expect(store.listAgents().total).toBe(10);
  });
});

describe('stringifySteps', () => {
  it('gives JSON.stringify of the array, whatever the step', async () => {
    const items = [...Array(300).keys()].map((i) => (i % 7 === 0 ? { i, s: 'x"y' } : i % 5 === 0 ? null : [i]));
    for (const every of [1, 7, 64, 1000])
      expect(await new TurnSlicer(1).run(stringifySteps(items, every))).toBe(JSON.stringify(items));
    expect(await new TurnSlicer(1).run(stringifySteps([]))).toBe('[]');
  });
});

describe('ConfigStore.checkpointInWorker', () => {
  it('the commits no longer checkpoint; the worker copies the WAL into the database file', async () => {
    const file = join(dir, 'config.sqlite');
    store.checkpointInWorker();
    const before = statSync(file).size;
    store.apply(office(12000));
    // More than 1,000 WAL pages: without the worker this commit would have checkpointed.
    expect(statSync(file).size).toBe(before);
    await waitFor(() => statSync(file).size > before, { what: 'the worker checkpointed', timeoutMs: 5000 });
    expect((await store.applyAsync(office(10, 13000))).version).toBe(2);
    store.close();
    store = openStore(dir);
    expect(store.version).toBe(2);
    expect(store.listAgents().total).toBe(12010);
  });
});
