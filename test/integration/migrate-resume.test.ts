/**
 * `sipserver migrate apply` interrupted (issue 19, docs/migration.md "Resuming"): the command
 * SIGKILLed half-way, the server killed mid-apply, and a batch whose softswitch is out of service.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/cli/migrate/journal.js';
import { readPlan } from '../../src/cli/migrate/plan-file.js';
import { freePort } from '../helpers/ports.js';
import type { ServerProcess } from '../helpers/server-process.js';
import type { SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import {
  api,
  countBatchLines,
  exported,
  journalBatches,
  migrate,
  migrationCsv,
  officeConfig,
  spawnMigrate,
  startMigrateServer,
  startOptionsDevice,
} from './migrate-support.js';

const AGENTS = 40;
let dir: string;
let sbc: SippPeer;
let sbcPort: number;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'migrate-resume-'));
  sbcPort = await freePort();
  sbc = await startOptionsDevice(sbcPort);
  writeFileSync(join(dir, 'agents.csv'), migrationCsv(AGENTS));
});

afterAll(async () => {
  for (const s of servers) {
    await s.stop();
    rmSync(s.dataDir, { recursive: true, force: true });
  }
  await sbc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function server(config: string | undefined, keep?: Parameters<typeof startMigrateServer>[2]) {
  const sub = mkdtempSync(join(dir, 'srv-'));
  const s = await startMigrateServer(sub, config, keep);
  servers.push(s.server);
  return s;
}

async function makePlan(url: string, name: string, csv = join(dir, 'agents.csv')): Promise<string> {
  const plan = join(dir, name);
  const r = await migrate([
    'plan',
    '--server',
    url,
    '--csv',
    csv,
    '--softswitch',
    'SBC',
    '--contact',
    `127.0.0.1:${sbcPort}`,
    '--prefix',
    '+1555',
    '--out',
    plan,
  ]);
  // Warnings only (the out-of-service test's numbers go through another softswitch).
  expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('sipserver migrate: warning: '))).toEqual([]);
  expect(r.code).toBe(0);
  return plan;
}

/** Small fixed batches so that a kill lands half-way. */
const small = ['--batch', '2', '--max-batch', '2'];

/** Every journaled agent exactly once, and every journaled batch's agents at home on the server. */
async function expectJournalConsistent(url: string, planFile: string): Promise<string[]> {
  const batches = journalBatches(`${planFile}.journal`);
  const ids = batches.flatMap((b) => b.agents);
  expect(new Set(ids).size).toBe(ids.length);
  const plan = readPlan(planFile);
  for (const p of plan.agents.filter((x) => ids.includes(x.agentId))) {
    const agent = (await api(url, `/api/agents/${p.agentId}`)).body;
    if (p.mode === 'agent-phone') expect(agent.options['agent-phone']).toBe(p.homeNumber);
    else expect(agent.dn).toBe(p.homeNumber);
  }
  return ids;
}

describe('migrate apply interrupted', () => {
  it('SIGKILL of the command half-way, then the same command: the same result as an uninterrupted run', async () => {
    const a = await server(officeConfig({ agents: AGENTS }));
    const b = await server(officeConfig({ agents: AGENTS }));
    const planA = await makePlan(a.url, 'killed.plan');
    const planB = await makePlan(b.url, 'straight.plan');

    const child = spawnMigrate(['apply', planA, '--server', a.url, ...small]);
    await waitFor(() => countBatchLines(`${planA}.journal`) >= 6, { what: '6 batches journaled', timeoutMs: 60_000 });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const moved = await expectJournalConsistent(a.url, planA);
    expect(moved.length).toBeGreaterThanOrEqual(12);
    expect(moved.length).toBeLessThan(AGENTS);

    const resumed = await migrate(['apply', planA, '--server', a.url, ...small]);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const straight = await migrate(['apply', planB, '--server', b.url, ...small]);
    expect(straight.code).toBe(0);

    expect(await exported(a.url)).toEqual(await exported(b.url));
    const ids = await expectJournalConsistent(a.url, planA);
    expect(ids.sort()).toEqual(
      readPlan(planA)
        .agents.map((p) => p.agentId)
        .sort(),
    );
    expect(readJournal(`${planA}.journal`).filter((e) => e.t === 'start')).toHaveLength(2);
    expect(readJournal(`${planA}.journal`).at(-1)).toMatchObject({ t: 'done' });
  });

  it('Ctrl-C: the batch in flight finishes and is journaled, exit 130; the same command completes', async () => {
    const s = await server(officeConfig({ agents: AGENTS }));
    const plan = await makePlan(s.url, 'interrupted.plan');
    const child = spawnMigrate(['apply', plan, '--server', s.url, ...small]);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitFor(() => countBatchLines(`${plan}.journal`) >= 3, { what: '3 batches journaled', timeoutMs: 60_000 });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const moved = await expectJournalConsistent(s.url, plan);
    expect(stdout).toContain(
      `interrupted: ${moved.length} of 40 agents moved, journal ${plan}.journal; run the same command again to resume`,
    );
    // Nothing in flight: the agents not journaled are untouched.
    for (const p of readPlan(plan).agents.filter((x) => !moved.includes(x.agentId)))
      expect((await api(s.url, `/api/agents/${p.agentId}`)).body.dn).toBe(p.before.agent.dn);
    const resumed = await migrate(['apply', plan, '--server', s.url, ...small]);
    expect(resumed.code).toBe(0);
    expect((await expectJournalConsistent(s.url, plan)).length).toBe(AGENTS);
  });

  it('the server killed mid-apply: exit 1 with what to do, the journal consistent; after a restart the same command completes', async () => {
    const original = await server(officeConfig({ agents: AGENTS }));
    const before = await exported(original.url);
    const plan = await makePlan(original.url, 'server-killed.plan');
    const child = spawnMigrate(['apply', plan, '--server', original.url, ...small]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitFor(() => countBatchLines(`${plan}.journal`) >= 4, { what: '4 batches journaled', timeoutMs: 60_000 });
    original.server.child.kill('SIGKILL');
    await original.server.waitExit();
    expect(await exited).toBe(1);
    expect(stderr).toMatch(/server did not answer \(.*\); run the same command again to resume\n$/);

    const again = await server(undefined, original);
    const moved = await expectJournalConsistent(again.url, plan);
    expect(moved.length).toBeLessThan(AGENTS);
    const resumed = await migrate(['apply', plan, '--server', again.url, ...small]);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect((await expectJournalConsistent(again.url, plan)).length).toBe(AGENTS);

    const rb = await migrate(['rollback', '--journal', `${plan}.journal`]);
    expect(rb.code).toBe(0);
    expect(await exported(again.url)).toEqual(before);
  });

  it('a batch whose softswitch is out of service is rolled back, earlier batches stay, exit 1', async () => {
    const deadPort = await freePort(); // nothing answers there: OPTIONS fail, the softswitch goes out of service
    const s = await server(
      officeConfig({
        agents: AGENTS,
        extraDns: `  - number: DeadSBC
    type: voip-service
    options: { contact: "127.0.0.1:${deadPort}", service-type: softswitch, prefix: "+1666", oos-check: "1", oos-force: "1" }`,
      }),
    );
    await waitFor(
      async () =>
        ((await api(s.url, '/api/status')).body as { devices: { dn: string; state: string }[] }).devices.some(
          (d) => d.dn === 'DeadSBC' && d.state === 'out-of-service',
        ),
      { what: 'DeadSBC out of service', timeoutMs: 15_000 },
    );
    const csv = join(dir, 'dead.csv');
    writeFileSync(
      csv,
      migrationCsv(AGENTS, (i) => (i < 10 ? '+1555' : '+1666')),
    );
    const plan = await makePlan(s.url, 'dead.plan', csv);
    expect(readPlan(plan).agents.filter((p) => p.homeNumber.startsWith('+1666'))).toHaveLength(30);
    // Sizes fixed at 5: a loaded test machine may stretch an apply turn past --max-apply-ms and shrink the next batch.
    const r = await migrate([
      'apply',
      plan,
      '--server',
      s.url,
      '--batch',
      '5',
      '--max-batch',
      '5',
      '--max-apply-ms',
      '1000',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^sipserver migrate: batch 3 failed validation and was rolled back \(earlier batches stay applied\): a10: DN \+16660000010: every matching softswitch is out of service; .*run the same command again\n$/,
    );
    const journal = readJournal(`${plan}.journal`);
    expect(journalBatches(`${plan}.journal`).map((b) => b.agents.length)).toEqual([5, 5]);
    expect(journal.at(-1)).toMatchObject({ t: 'rolled-back', n: 3, agents: ['a10', 'a11', 'a12', 'a13', 'a14'] });
    await expectJournalConsistent(s.url, plan);
    const st = await migrate(['status', '--journal', `${plan}.journal`]);
    expect(st.stdout).toContain('agents moved: 10 of 40');
    expect(st.stdout).toContain('last stop: batch 3 rolled back: validation failed: a10: DN +16660000010:');
    for (const id of ['a10', 'a11', 'a12', 'a13', 'a14']) {
      const p = readPlan(plan).agents.find((x) => x.agentId === id)!;
      expect({ options: {}, ...(await api(s.url, `/api/agents/${id}`)).body }).toEqual(p.before.agent);
      if (p.mode !== 'agent-phone')
        expect((await api(s.url, `/api/dns/${encodeURIComponent(p.homeNumber)}`)).status).toBe(404);
      expect((await api(s.url, `/api/dns/${p.before.officeDn!.number}`)).status).toBe(200);
    }
  });
});
