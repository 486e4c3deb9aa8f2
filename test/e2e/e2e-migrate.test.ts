/**
 * Issue 19 "What it must show" (behaviour §13): a generated office of 2,000 agents
 * (test/helpers/office-gen.ts: phones registered with digest passwords and agents behind the
 * office PBX, the home SBC configured) migrated to home with a mix of the three modes by
 * `sipserver migrate plan` + `apply` while SIPp calls the routing point at 50 calls/s (100 agents
 * behind the PBX logged in Ready on their office DNs, answered by the PBX SIPp):
 *
 * - no failed call; every agent at home afterwards (export) and every home DN delivered through
 *   the in-service HomeSBC (`GET /api/dns/{n}/status`); the batches start at 50 and grow; the
 *   journal is complete (every agent in exactly one batch, batches numbered in order, the office
 *   DNs removed once their desks logged out, `done` last);
 * - `rollback` returns the exact original configuration (`sipserver config diff` of the export
 *   made before: empty), the phones' office DNs with their digest passwords (every phone
 *   REGISTERs again through the 401 challenge);
 * - re-planned and applied again, SIGKILLed half-way (by the journal) and resumed with the same
 *   command: the identical configuration as the first run (`config diff` of its export: empty),
 *   no failed call.
 *
 * The server and the command run from the source (tsx).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallLoad } from '../helpers/call-load.js';
import { HOME_SBC } from '../helpers/office-gen.js';
import { journalMoved, OfficeRun, readJournal, type CliResult, type JournalLine } from '../helpers/office-world.js';
import { waitFor } from '../helpers/wait.js';

const AGENTS = 2000;
const DESKS = 100;
const RATE = 50;

/** Agent ids in the journal's batch lines (each batch's list, in order). */
const batchAgents = (j: JournalLine[]): string[] => j.filter((l) => l.t === 'batch').flatMap((l) => l.agents ?? []);

/**
 * Apply `plan` under the call load: once every agent is in a journal batch, stop the calls and log
 * the desks out, so the command removes their office DNs and finishes. Returns the calls' counts.
 */
async function applyUnderLoad(
  run: OfficeRun,
  plan: string,
  journal: string,
  killHalfWay: boolean,
): Promise<{ ok: number; failed: number }> {
  const load: CallLoad = await run.startCalls(RATE);
  await waitFor(() => load.counts().ok >= RATE, { what: 'the first second of calls', timeoutMs: 10_000 });
  const args = ['--wait-logout', '60'];
  if (killHalfWay) {
    const killed = await run.apply(plan, journal, args, {
      killWhen: () => batchAgents(readJournal(journal)).length >= AGENTS / 2,
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(batchAgents(readJournal(journal)).length).toBeLessThan(AGENTS);
  }
  let done: CliResult | undefined;
  const applying = run.apply(plan, journal, args).then((r) => (done = r));
  try {
    await waitFor(() => done ?? journalMoved(journal).size === AGENTS, {
      what: 'every agent in a journal batch',
      timeoutMs: 60_000,
      intervalMs: 100,
      detail: () => JSON.stringify(done ?? readJournal(journal).slice(-3)),
    });
    const calls = await load.stop();
    await run.logoutAgents();
    const r = await applying;
    expect(r.code, r.stderr).toBe(0);
    return calls;
  } finally {
    await run.stopCli();
  }
}

/** The office DNs a plan removes (`removeOfficeDn`; the phones' DNs with digest passwords too, docs/migration.md). */
function plannedRemovals(plan: string): string[] {
  const p = JSON.parse(readFileSync(plan, 'utf8')) as { agents: Array<{ removeOfficeDn: string | null }> };
  return p.agents.flatMap((a) => (a.removeOfficeDn ? [a.removeOfficeDn] : []));
}

/** The journal of a complete run: batches 1..K, every agent once, office DNs removed, `done` last. */
function expectCompleteJournal(journal: JournalLine[], removedDns: string[]): void {
  expect(journal[0]?.t).toBe('start');
  expect(journal.at(-1)?.t).toBe('done');
  const batches = journal.filter((l) => l.t === 'batch');
  expect(batches.map((b) => b.n)).toEqual(batches.map((_, i) => i + 1));
  expect(journal.filter((l) => l.t === 'rolled-back' || l.t === 'deferred' || l.t === 'office-dn-kept')).toEqual([]);
  const moved = batchAgents(journal);
  expect(moved.length).toBe(AGENTS);
  expect(new Set(moved).size).toBe(AGENTS);
  const removed = journal
    .filter((l) => l.t === 'office-dn-removed' || l.t === 'batch')
    .flatMap((l) => (l.t === 'batch' ? ((l.removedDns as string[] | undefined) ?? []) : [l.number!]));
  expect(removed.sort()).toEqual([...removedDns].sort());
}

describe('sipserver migrate: 2,000 office agents to home under 50 calls/s', () => {
  let run: OfficeRun;
  /** `sipserver config export` files: before the migration, after the first run. */
  let original: string;
  let migrated: string | undefined;

  /** `sipserver config export` of the running server to `file`. */
  const exportTo = async (file: string): Promise<string> => {
    const r = await run.runCli(['config', 'export', '--server', run.url, '--token', run.token, '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    return file;
  };
  /** `sipserver config diff FILE --server`: exit 0, "no changes", when the server holds exactly `file`. */
  const expectSameAs = async (file: string): Promise<void> => {
    const r = await run.runCli(['config', 'diff', file, '--server', run.url, '--token', run.token]);
    expect({ code: r.code, diff: r.stdout.split('\n').slice(0, 20) }).toEqual({
      code: 0,
      diff: [expect.stringMatching(/^no changes: /), ''],
    });
  };

  beforeAll(async () => {
    run = await OfficeRun.start({ agents: AGENTS });
    await run.registerPhones();
    await run.waitSoftswitches();
    await run.loginAgents(DESKS);
    original = await exportTo(join(run.dir, 'original.yaml'));
  }, 90_000);

  afterAll(async () => {
    await run?.stop();
  });

  it('moves every agent in growing batches, validated and journaled, with no failed call', async () => {
    const plan = join(run.dir, 'plan.json');
    const planned = await run.plan(plan);
    expect(planned.code, planned.stderr).toBe(0);
    const journalFile = join(run.dir, 'plan.journal');
    const calls = await applyUnderLoad(run, plan, journalFile, false);
    expect(calls.failed).toBe(0);
    expect(calls.ok).toBeGreaterThan(RATE * 2);

    const journal = readJournal(journalFile);
    const removals = plannedRemovals(plan);
    // Every office DN an agent leaves goes: behind the PBX, and the registered phones' (digest passwords).
    expect(removals.length).toBe(run.world.agents.filter((a) => a.mode !== 'agent-phone').length);
    expect(removals.some((n) => run.world.agents.some((a) => a.officeDn === n && a.registered))).toBe(true);
    expectCompleteJournal(journal, removals);
    // `size`: the controller's batch size (the batch holds fewer agents when some were on a call).
    const sizes = journal.filter((l) => l.t === 'batch').map((l) => Number(l.size));
    expect(sizes[0]).toBeGreaterThan(0);
    expect(sizes[0]).toBeLessThanOrEqual(50);
    expect(Math.max(...sizes)).toBeGreaterThan(100); // doubled at least twice

    expect(await run.notAtHome()).toEqual([]);
    const devices = (await run.get<{ devices: Array<{ dn: string; state: string }> }>('/api/status')).devices;
    expect(devices.find((d) => d.dn === HOME_SBC)?.state).toBe('in-service');
    const unreachable: string[] = [];
    for (const a of run.world.agents.filter((g) => g.mode !== 'agent-phone')) {
      const s = await run.get<{ mode: string; via?: string; inService: boolean }>(
        `/api/dns/${encodeURIComponent(a.homeNumber)}/status`,
      );
      if (s.mode !== 'softswitch' || s.via !== HOME_SBC || !s.inService)
        unreachable.push(`${a.id}: ${JSON.stringify(s)}`);
    }
    expect(unreachable).toEqual([]);
    migrated = await exportTo(join(run.dir, 'migrated.yaml'));
  }, 90_000);

  it('rollback returns the exact original configuration', async () => {
    const r = await run.runCli(['migrate', 'rollback', '--journal', join(run.dir, 'plan.journal')]);
    expect(r.code, r.stderr).toBe(0);
    await expectSameAs(original);
    // The phones' DNs came back with their digest passwords: every phone registers again (401, then 200).
    expect(await run.registerPhones()).toBe(run.world.agents.filter((a) => a.registered).length);
  }, 60_000);

  it('killed with SIGKILL half-way and resumed, the result is identical', async () => {
    expect(migrated).toBeDefined();
    await run.loginAgents(DESKS);
    const plan = join(run.dir, 'plan2.json');
    const planned = await run.plan(plan);
    expect(planned.code, planned.stderr).toBe(0);
    const journalFile = join(run.dir, 'plan2.journal');
    const calls = await applyUnderLoad(run, plan, journalFile, true);
    expect(calls.failed).toBe(0);
    const journal = readJournal(journalFile);
    expect(journal.filter((l) => l.t === 'start').length).toBe(2);
    expectCompleteJournal(
      journal.filter((l, i) => l.t !== 'start' || i === 0),
      plannedRemovals(plan),
    );
    await expectSameAs(migrated!);
  }, 90_000);
});
