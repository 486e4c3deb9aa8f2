import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import type { DnConfig } from '../../../src/config/config-model.js';
import { ChangeSetError, type CommittedChangeSet } from '../../../src/config/change-set.js';
import { loadConfigText } from '../../../src/config/config-file.js';
import { renderOptionsDoc } from '../../../src/config/options-doc.js';
import { examplesDir, repoRoot } from '../../helpers/paths.js';

let dir: string;
let store: ConfigStore;
const model = (f: string) => loadConfigText(readFileSync(join(examplesDir, f), 'utf8'), f).model!;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sipserver-store-'));
  store = openStore(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ConfigStore', () => {
  it('reconciles to a file as one change-set, and a second reconcile changes nothing', () => {
    const seen: CommittedChangeSet[] = [];
    store.subscribe((cs) => seen.push(cs));
    const r = store.reconcile(model('office.yaml'));
    expect(r.version).toBe(1);
    expect(r.changes).toHaveLength(8); // server + 4 DNs + 2 agents + 1 group
    expect(store.reconcile(model('office.yaml')).changes).toEqual([]);
    expect(store.version).toBe(1);
    expect(seen.map((c) => [c.version, c.origin, c.changes.length])).toEqual([[1, 'reconcile', 8]]);
    expect(store.exportModel()).toEqual(model('office.yaml'));
  });

  it('reconciling office → home applies the difference and export equals the new file', () => {
    store.reconcile(model('office.yaml'));
    const r = store.reconcile(model('home.yaml'));
    expect(r.version).toBe(2);
    const kinds = r.changes.map((c) => `${c.op} ${c.kind} ${c.key}`).sort();
    expect(kinds).toEqual(
      [
        'delete dn 7777',
        'delete dn 8888',
        'put agent jay',
        'put agent joe',
        'put dn +15551231111',
        'put dn +15551232222',
        'put dn Softswitch',
      ].sort(),
    );
    const exported = store.exportModel();
    const expected = model('home.yaml');
    expect(new Set(exported.dns.map((d) => JSON.stringify(d)))).toEqual(
      new Set(expected.dns.map((d) => JSON.stringify(d))),
    );
    expect(exported.agents).toEqual(expected.agents);
  });

  it('survives a reopen: objects, version, change feed', () => {
    store.reconcile(model('home.yaml'));
    store.apply([{ op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { 'oos-check': '5' } } }]);
    store.close();
    store = openStore(dir);
    expect(store.version).toBe(2);
    expect(store.getDn('Softswitch')!.options['oos-check']).toBe('5');
    expect(store.effectiveOption('+1 555 123 1111', 'dual-dialog-enabled')).toBe('false');
    const feed = store.changesSince(1);
    expect(feed).toHaveLength(1);
    expect(feed[0].changes[0]).toMatchObject({
      op: 'patch',
      kind: 'dn',
      key: 'Softswitch',
      old: { options: { 'oos-check': '10' } },
      new: { options: { 'oos-check': '5' } },
    });
    expect(store.changesSince(0).map((c) => c.version)).toEqual([1, 2]);
    expect(store.changesSince(2)).toEqual([]);
  });

  it('delivers every change-set to each subscriber once, in order, also when a subscriber applies a change', () => {
    store.reconcile(model('home.yaml'));
    const a: number[] = [];
    const b: number[] = [];
    let nested = false;
    store.subscribe((cs) => {
      a.push(cs.version);
      if (!nested) {
        nested = true;
        store.apply([{ op: 'patch', kind: 'dn', key: '5000', value: { options: { 'router-timeout': '20' } } }]);
        // the nested change-set is committed but delivered after this one
        expect(store.version).toBe(3);
      }
    });
    const unsub = store.subscribe((cs) => b.push(cs.version));
    store.apply([{ op: 'patch', kind: 'dn', key: '5000', value: { options: { 'router-timeout': '15' } } }]);
    expect(a).toEqual([2, 3]);
    expect(b).toEqual([2, 3]);
    unsub();
    store.apply([{ op: 'patch', kind: 'dn', key: '5000', value: { options: { 'router-timeout': '25' } } }]);
    expect(b).toEqual([2, 3]);
    expect(a).toEqual([2, 3, 4]);
  });

  it('a refused change-set applies nothing and notifies nobody', () => {
    store.reconcile(model('home.yaml'));
    let calls = 0;
    store.subscribe(() => calls++);
    expect(() =>
      store.apply([
        { op: 'put', kind: 'dn', key: '+15551233333', value: { type: 'extension' } },
        { op: 'delete', kind: 'dn', key: '+15551231111' },
      ]),
    ).toThrowError(ChangeSetError);
    try {
      store.apply([{ op: 'delete', kind: 'dn', key: '+15551231111' }]);
    } catch (e) {
      expect((e as ChangeSetError).errors).toEqual([
        { index: 0, message: 'DN +15551231111 is the DN of agent joe; change or delete the agent too' },
      ]);
    }
    expect(calls).toBe(0);
    expect(store.version).toBe(1);
    expect(store.getDn('+15551233333')).toBeUndefined();
    store.close();
    store = openStore(dir);
    expect(store.getDn('+15551233333')).toBeUndefined();
    expect(store.version).toBe(1);
  });

  it('a subscriber that throws does not stop the others', () => {
    const got: number[] = [];
    store.subscribe(() => {
      throw new Error('boom');
    });
    store.subscribe((cs) => got.push(cs.version));
    store.reconcile(model('office.yaml'));
    expect(got).toEqual([1]);
  });

  it('softswitch candidates and effective options follow changes at once', () => {
    store.reconcile(model('office.yaml'));
    expect(store.softswitchCandidates('7777').map((c) => c.dn)).toEqual(['Softswitch']);
    expect(store.resolveOption('7777', 'make-call-rfc3725-flow')).toEqual({
      value: '1',
      source: 'softswitch',
      via: 'Softswitch',
    });
    store.apply([{ op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { prefix: '88' } } }]);
    expect(store.softswitchCandidates('7777')).toEqual([]);
    expect(store.resolveOption('7777', 'make-call-rfc3725-flow')).toEqual({ value: '2', source: 'default' });
  });

  it('lists a page at a time', () => {
    store.reconcile(model('office.yaml'));
    expect(store.listDns(1, 2)).toEqual({ items: [store.getDn('7777'), store.getDn('Softswitch')], total: 4 });
    expect(store.listAgents(0, 10).items.map((a) => a.id)).toEqual(['joe', 'jay']);
  });
});

describe('docs/options.md', () => {
  it('is the text generated from the option table (regenerate: npx tsx src/cli/main.ts config options-doc > docs/options.md)', () => {
    expect(readFileSync(join(repoRoot, 'docs/options.md'), 'utf8')).toBe(renderOptionsDoc());
  });
});

describe('openConfiguration (start --config)', () => {
  it('reconciles to the file once, then runs from the store; an invalid file throws every problem', async () => {
    const { openConfiguration, ConfigFileError } = await import('../../../src/config/config-bootstrap.js');
    const d = mkdtempSync(join(tmpdir(), 'sipserver-boot-'));
    try {
      const a = openConfiguration(d, join(examplesDir, 'office.yaml'));
      expect([a.version, a.applied]).toEqual([1, 8]);
      a.store.close();
      const b = openConfiguration(d, join(examplesDir, 'office.yaml'));
      expect([b.version, b.applied]).toEqual([1, 0]);
      b.store.close();
      const c = openConfiguration(d);
      expect([c.version, c.store.dnCount]).toEqual([1, 4]);
      c.store.close();
      const bad = join(d, 'bad.yaml');
      writeFileSync(bad, 'dns:\n  - number: "1"\n    type: nope\nagents:\n  - { id: a, password: p, dn: "2" }\n');
      let err: unknown;
      try {
        openConfiguration(d, bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigFileError);
      expect((err as InstanceType<typeof ConfigFileError>).problems).toEqual([
        `${bad}:3: type "nope" is not one of extension, acd-position, voip-service, trunk, routing-point, acd-queue`,
        `${bad}:5: agent a: DN 2 does not exist`,
      ]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('DN indexes fed by the change feed', () => {
  it('an outside prefix table and number index follow the store change by change', async () => {
    const followDnChanges = (
      s: ConfigStore,
      index: { applyDnChange(old: DnConfig | null, neu: DnConfig | null): void },
    ): void => {
      for (const d of s.listDns(0, Number.MAX_SAFE_INTEGER).items) index.applyDnChange(null, d);
      s.subscribe((cs) => {
        for (const c of cs.changes) if (c.kind === 'dn') index.applyDnChange(c.old, c.new);
      });
    };
    const { SoftswitchPrefixTable } = await import('../../../src/config/softswitch-prefix-table.js');
    const { DnNumberIndex } = await import('../../../src/config/dn-number-index.js');
    store.reconcile(model('office.yaml'));
    const table = new SoftswitchPrefixTable();
    const numbers = new DnNumberIndex();
    followDnChanges(store, table);
    followDnChanges(store, numbers);
    expect(table.select('7777')).toBe('Softswitch');
    store.apply([
      {
        op: 'put',
        kind: 'dn',
        key: 'SBC',
        value: {
          type: 'voip-service',
          options: { contact: '127.0.0.1:5071', 'service-type': 'softswitch', prefix: '+1,777' },
        },
      },
      { op: 'put', kind: 'dn', key: '+1 555 123 1111', value: { type: 'extension' } },
    ]);
    expect(table.select('7777')).toBe('SBC');
    expect(table.select('+15551231111')).toBe('SBC');
    expect(numbers.get('+1-555-123-1111')?.number).toBe('+15551231111');
    store.apply([
      { op: 'delete', kind: 'dn', key: 'SBC' },
      { op: 'delete', kind: 'dn', key: '+15551231111' },
    ]);
    expect(table.select('7777')).toBe('Softswitch');
    expect(table.select('+15551231111')).toBeUndefined();
    expect(numbers.has('+15551231111')).toBe(false);
    expect(numbers.size).toBe(store.dnCount);
  });
});

describe('one writer', () => {
  it('a store that another process (here: connection) changed refuses to write from a stale state', () => {
    const d = mkdtempSync(join(tmpdir(), 'sipserver-2w-'));
    const a = openStore(d);
    const b = openStore(d);
    try {
      a.reconcile(model('office.yaml'));
      expect(() => b.apply([{ op: 'put', kind: 'dn', key: '1', value: { type: 'extension' } }])).toThrow(
        /changed by another process \(version 1, expected 0\)/,
      );
      expect(a.version).toBe(1);
      const c = openStore(d);
      expect(c.getDn('1')).toBeUndefined();
      c.close();
    } finally {
      a.close();
      b.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
