/**
 * The apply engine against a real configuration store behind an in-process admin client:
 * the 409 path (unrelated change fine, planned object changed = stale), agents on a call
 * deferred to the end of the run, and office DNs with digest passwords removed and restored
 * exactly by rollback (half of the office DNs have one).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdminClient, ChangeSetResult, ServerStatus } from '../../../../src/cli/admin-client.js';
import { Applier, MigrateStop } from '../../../../src/cli/migrate/apply.js';
import { parseMigrationCsv } from '../../../../src/cli/migrate/csv.js';
import { JournalWriter, readJournal } from '../../../../src/cli/migrate/journal.js';
import { buildPlan } from '../../../../src/cli/migrate/plan.js';
import { Progress } from '../../../../src/cli/migrate/progress.js';
import type { ChangeRequest } from '../../../../src/config/change-set.js';
import { loadConfigText } from '../../../../src/config/config-file.js';
import { openStore, type ConfigStore } from '../../../../src/config/config-store.js';
import { ChangeSetError } from '../../../../src/config/change-set.js';
import { redactChange, redactModel } from '../../../../src/config/secrets.js';
import type { CommittedChangeSet } from '../../../../src/config/change-set.js';
import type { ConfigInput } from '../../../../src/config/config-model.js';
import { writePlan } from '../../../../src/cli/migrate/plan-file.js';
import { runRollback } from '../../../../src/cli/migrate/rollback.js';

/** The changes of a change-set as the change feed route sends them. */
const redactedChanges = (cs: CommittedChangeSet) =>
  cs.changes.map(redactChange) as { kind: string; key: string; new: unknown }[];

const CONFIG = `
dns:
  - { number: SBC, type: voip-service, options: { contact: "203.0.113.9:5060", service-type: softswitch, prefix: "+1" } }
${Array.from({ length: 8 }, (_, i) => `  - { number: "${7000 + i}", type: extension${i % 2 ? '' : `, options: { contact: "*", password: "pw-${7000 + i}" }`} }`).join('\n')}
agents:
${Array.from({ length: 8 }, (_, i) => `  - { id: a${i}, name: A${i}, password: p, dn: "${7000 + i}" }`).join('\n')}
`;

/**
 * An admin client over a store; `busy` agents are reported Busy while in the set, `onCall` agents
 * NotReady with `onCall` (a direct call on their DN); `beforePost` runs before each change-set.
 */
class StoreClient {
  readonly base = 'http://store';
  busy = new Set<string>();
  onCall = new Set<string>();
  beforePost: (n: number) => void = () => undefined;
  posts = 0;
  constructor(private readonly store: ConfigStore) {}
  async config() {
    return { version: this.store.version, model: redactModel(this.store.exportModel()) };
  }
  async changeSet(changes: ChangeRequest[], ifVersion?: number): Promise<ChangeSetResult> {
    this.beforePost(++this.posts);
    if (ifVersion !== undefined && ifVersion !== this.store.version)
      return { ok: false, conflict: true, version: this.store.version };
    try {
      return { ok: true, version: this.store.apply(changes).version };
    } catch (e) {
      if (e instanceof ChangeSetError) return { ok: false, conflict: false, errors: e.errors };
      throw e;
    }
  }
  async status(): Promise<ServerStatus> {
    const agents = this.store.exportModel().agents.map((a) => ({
      id: a.id,
      dn: a.dn,
      state: this.busy.has(a.id) ? 'BusyReady' : this.onCall.has(a.id) ? 'NotReady' : 'LoggedOut',
      ...(this.onCall.has(a.id) ? { onCall: true } : {}),
    }));
    return { agents, devices: [], load: { cpuPercent: 1, eventLoopLagMs: 1 } };
  }
  /** What `GET /api/config/changes` tells AdminClient.dnRemovals (the feed's `new: null` DN changes). */
  async dnRemovals(numbers: Iterable<string>, since: number): Promise<Map<string, number>> {
    const want = new Set(numbers);
    const out = new Map<string, number>();
    for (const cs of this.store.changesSince(since))
      for (const c of redactedChanges(cs))
        if (c.kind === 'dn' && c.new === null && want.has(c.key)) out.set(c.key, cs.version);
    return out;
  }
  async dnStatuses(numbers: string[]) {
    const dns = new Set(this.store.exportModel().dns.map((d) => d.number));
    return new Map(numbers.map((n) => [n, dns.has(n) ? { mode: 'softswitch', inService: true } : null]));
  }
}

let dir: string;
let store: ConfigStore;
let client: StoreClient;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apply-'));
  store = openStore(dir);
  store.reconcile(loadConfigText(CONFIG).model!);
  client = new StoreClient(store);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function applier(o: { waitLogoutS?: number } = {}) {
  const csv = ['agent_id,home_number,mode', ...Array.from({ length: 8 }, (_, i) => `a${i},+1555000000${i},extension`)];
  const plan = buildPlan(store.exportModel(), parseMigrationCsv(csv.join('\n')).rows, {
    softswitch: 'SBC',
    source: { server: client.base },
    baseVersion: store.version,
  }).plan!;
  const out: string[] = [];
  const journalFile = join(dir, 'p.journal');
  const planFile = join(dir, 'p.plan');
  writePlan(planFile, plan);
  const a = new Applier(
    plan,
    client as unknown as AdminClient,
    {
      planFile,
      journalFile,
      limits: { initial: 2, max: 2, maxCpu: 70, maxLag: 50 },
      waitLogoutS: o.waitLogoutS ?? 5,
      interrupted: () => false,
      sleep: async () => undefined,
    },
    new Progress({ isTTY: false, write: (s: string) => out.push(s) }),
  );
  return { a, out, journalFile, plan };
}

/** The whole configuration, secrets included, its lists in key order (a rollback writes objects anew). */
function everything(): ConfigInput {
  const m = store.exportModel();
  const by =
    <T>(k: (x: T) => string) =>
    (a: T, b: T) =>
      k(a) < k(b) ? -1 : 1;
  return {
    ...m,
    dns: [...m.dns].sort(by((d) => d.number)),
    agents: [...m.agents].sort(by((a) => a.id)),
  };
}

/** `migrate rollback` of the whole journal against the store. */
async function rollback(journalFile: string): Promise<string[]> {
  const said: string[] = [];
  expect(
    await runRollback(client as unknown as AdminClient, { journalFile, fromBatch: 1, say: (s) => said.push(s) }),
  ).toBe(0);
  return said;
}

describe('Applier', () => {
  it('a 409 from an unrelated change re-reads the configuration and goes on', async () => {
    client.beforePost = (n) => {
      if (n === 2) store.apply([{ op: 'put', kind: 'dn', key: '9999', value: { type: 'extension', options: {} } }]);
    };
    const { a, journalFile } = applier();
    expect(await a.run()).toBe(0);
    expect(client.posts).toBe(5); // 4 batches + the one refused with 409
    expect(readJournal(journalFile).filter((e) => e.t === 'batch')).toHaveLength(4);
    expect(store.exportModel().agents.every((x) => x.dn?.startsWith('+1555'))).toBe(true);
  });

  it('a 409 from a change to a planned agent stops the run as stale', async () => {
    client.beforePost = (n) => {
      if (n === 2) store.apply([{ op: 'patch', kind: 'agent', key: 'a5', value: { name: 'Changed' } }]);
    };
    const { a, journalFile } = applier();
    await expect(a.run()).rejects.toThrow(
      new MigrateStop(
        'stale plan: agent a5 changed since the plan was made (agent a5 changed); run migrate plan again',
        1,
      ),
    );
    expect(readJournal(journalFile).filter((e) => e.t === 'batch')).toHaveLength(1);
  });

  it.each([
    ['a routed call (Busy)', 'busy'],
    ['a direct call on its DN (onCall, NotReady)', 'onCall'],
  ] as const)('an agent on %s is skipped and moved at the end, once the call is over', async (_what, set) => {
    client[set].add('a1');
    let polls = 0;
    const origStatus = client.status.bind(client);
    client.status = async () => {
      if (++polls === 8) client[set].delete('a1');
      return origStatus();
    };
    const { a, journalFile, out } = applier();
    expect(await a.run()).toBe(0);
    const batches = readJournal(journalFile).flatMap((e) => (e.t === 'batch' ? [e.agents] : []));
    expect(batches[0]).toEqual(['a0']);
    expect(batches.at(-1)).toEqual(['a1']);
    expect(store.exportModel().agents.find((x) => x.id === 'a1')!.dn).toBe('+15550000001');
    expect(out.some((l) => l.includes('deferred 1'))).toBe(true);
  });

  it("refuses another plan's journal", async () => {
    const { a, journalFile } = applier();
    new JournalWriter(journalFile).append({ t: 'start', time: 't', plan: '/elsewhere.plan', server: 'x', agents: 1 });
    await expect(a.run()).rejects.toThrow(
      /is the journal of \/elsewhere.plan, not of .*p.plan: give this plan its own --journal/,
    );
    expect(client.posts).toBe(0);
  });

  it('an agent still on a call past --wait-logout is journaled deferred, exit via stop 1', async () => {
    client.busy.add('a3');
    const { a, journalFile } = applier({ waitLogoutS: 0 });
    await expect(a.run()).rejects.toThrow(
      /1 agent\(s\) stayed on a call past --wait-logout \(a3\): run the same command again/,
    );
    expect(readJournal(journalFile).at(-1)).toEqual({ t: 'deferred', agentId: 'a3', why: 'on a call' });
    // a3's office DN stays: it is still a3's default DN.
    expect(store.exportModel().dns.some((d) => d.number === '7003')).toBe(true);
  });

  it('office DNs with a digest password are removed with their last agent and restored by rollback, passwords included', async () => {
    const original = everything();
    const { a, journalFile } = applier();
    expect(await a.run()).toBe(0);
    const batches = readJournal(journalFile).flatMap((e) => (e.t === 'batch' ? [e] : []));
    // Each batch deletes the office DNs of its two agents in its own change-set (version).
    expect(batches.map((b) => [b.agents, b.removedDns, b.version])).toEqual([
      [['a0', 'a1'], ['7000', '7001'], 2],
      [['a2', 'a3'], ['7002', '7003'], 3],
      [['a4', 'a5'], ['7004', '7005'], 4],
      [['a6', 'a7'], ['7006', '7007'], 5],
    ]);
    expect(store.exportModel().dns.filter((d) => d.number.startsWith('70'))).toEqual([]);

    expect(await rollback(journalFile)).toHaveLength(5);
    expect(everything()).toEqual(original);
    expect(store.getDn('7004')!.options).toEqual({ contact: '*', password: 'pw-7004' });
    // Each office DN came back by restoreFrom of the batch that deleted it.
    const restores = store
      .changesSince(5)
      .flatMap((cs) => cs.changes.filter((c) => c.kind === 'dn' && c.old === null && c.key.startsWith('70')));
    expect(restores.map((c) => c.key).sort()).toEqual(['7000', '7001', '7002', '7003', '7004', '7005', '7006', '7007']);
  });

  it('a batch applied by a run that died before journaling it: its deleted office DNs are found in the change feed and restored by rollback', async () => {
    const original = everything();
    const { a, journalFile, plan } = applier();
    // The dead run's first batch: applied, never journaled.
    const crashed = store.apply([
      ...plan.agents.slice(0, 2).flatMap((p) => p.changes),
      { op: 'delete', kind: 'dn', key: '7000' },
      { op: 'delete', kind: 'dn', key: '7001' },
    ]).version;
    // Someone else's change meanwhile.
    store.apply([{ op: 'put', kind: 'dn', key: '9999', value: { type: 'extension', options: {} } }]);
    expect(await a.run()).toBe(0);
    const journal = readJournal(journalFile);
    expect(journal.filter((e) => e.t === 'office-dn-removed')).toEqual([
      { t: 'office-dn-removed', number: '7000', version: crashed },
      { t: 'office-dn-removed', number: '7001', version: crashed },
    ]);
    expect(journal.find((e) => e.t === 'batch')).toMatchObject({ agents: ['a0', 'a1'], recovered: true });

    await rollback(journalFile);
    store.apply([{ op: 'delete', kind: 'dn', key: '9999' }]);
    expect(everything()).toEqual(original);
    expect(store.getDn('7000')!.options.password).toBe('pw-7000');
  });

  it('rollback finds an office DN the journal has no version for in the change feed', async () => {
    const original = everything();
    const { a, journalFile } = applier();
    expect(await a.run()).toBe(0);
    // As if the run had died between the change-set and the journal line that names its deletions.
    const lines = readFileSync(journalFile, 'utf8').split('\n');
    writeFileSync(journalFile, lines.map((l) => l.replace(/,"removedDns":\[[^\]]*\]/, '')).join('\n'));
    expect(readJournal(journalFile).some((e) => e.t === 'batch' && e.removedDns)).toBe(false);
    await rollback(journalFile);
    expect(everything()).toEqual(original);
  });
});
