/**
 * `sipserver migrate plan|diff|apply|status|rollback` against the real server process
 * (issue 19, docs/migration.md): 40 office agents moved home in the three modes; two office DNs
 * are phones with digest passwords, removed by apply and restored with them by rollback.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/cli/migrate/journal.js';
import { freePort } from '../helpers/ports.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { runSipp, type SippPeer, type SippResult } from '../helpers/sipp.js';
import { repoRoot } from '../helpers/paths.js';
import { CtiTestClient } from '../helpers/cti-client.js';
import {
  api,
  exported,
  journalBatches,
  migrate,
  migrationCsv,
  officeConfig,
  phonePassword,
  runCli,
  startMigrateServer,
  startOptionsDevice,
} from './migrate-support.js';

const AGENTS = 40;
/** a03 (extension) and a04 (nailed-up): office DNs 7003 and 7004 are phones with digest passwords. */
const PHONES = [3, 4];

/** A SIPp phone REGISTERs as `dn` with digest credentials: 401 challenge, then 200 (uac-register-auth.xml). */
async function registerPhone(dn: string, password: string): Promise<SippResult> {
  return runSipp({
    scenario: join(repoRoot, 'test/integration/sipp/uac-register-auth.xml'),
    target: `127.0.0.1:${sipPort}`,
    localPort: await freePort(),
    args: ['-s', dn, '-au', dn, '-ap', password],
    timeoutMs: 20_000,
  });
}
let dir: string;
let server: ServerProcess;
let url: string;
let sbc: SippPeer;
let sbcPort: number;
let original: unknown;
let sipPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'migrate-'));
  sbcPort = await freePort();
  sbc = await startOptionsDevice(sbcPort);
  const s = await startMigrateServer(dir, officeConfig({ agents: AGENTS, phones: PHONES }));
  server = s.server;
  url = s.url;
  sipPort = s.sipPort;
  original = await exported(url);
  writeFileSync(join(dir, 'agents.csv'), migrationCsv(AGENTS));
});

afterAll(async () => {
  await server?.stop();
  if (server) rmSync(server.dataDir, { recursive: true, force: true });
  await sbc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const planArgs = (out: string, csv = join(dir, 'agents.csv')): string[] => [
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
  out,
];

describe('migrate plan, diff, apply, status, rollback (40 agents)', () => {
  it('applies in growing batches, validates every agent, journals everything; rollback restores the original', async () => {
    const plan = join(dir, 'full.plan');
    const p = await migrate(planArgs(plan));
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('40 agent(s) (14 extension, 13 nailed-up, 13 agent-phone)');

    const d = await migrate(['diff', plan]);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('+ DN SBC (voip-service)');
    expect(d.stdout).toContain(
      'agent a01 (nailed-up):\n  + DN +15550000001 (extension) {line-type: 1}\n  ~ dn: 7001 → +15550000001',
    );
    expect(d.stdout).toContain('agent a02 (agent-phone):\n  ~ agent-phone: (none) → +15550000002  (keeps DN 7002)');
    expect(d.stdout).toContain('  - DN 7000 (extension)  once nobody is logged in on it');
    // The phones' office DNs go too: their digest passwords come back with a rollback.
    expect(d.stdout).toContain(
      'agent a03 (extension):\n  + DN +15550000003 (extension)\n  ~ dn: 7003 → +15550000003\n  - DN 7003 (extension) {contact: *}  once nobody is logged in on it',
    );
    expect(d.stdout).toContain('  - DN 7004 (extension) {contact: *}  once nobody is logged in on it');
    for (const i of PHONES) {
      const n = String(7000 + i);
      expect((await registerPhone(n, phonePassword(n))).code, `REGISTER ${n} before`).toBe(0);
    }

    // Wait for the SBC to be probed in service once the plan created it: the first batch does.
    const a = await migrate([
      'apply',
      plan,
      '--server',
      url,
      '--batch',
      '4',
      '--max-batch',
      '16',
      '--max-cpu',
      '1000',
      '--max-lag',
      '10000',
      // Sizes set by the doubling alone: a loaded test machine may stretch a 5 ms turn.
      '--max-apply-ms',
      '1000',
    ]);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/done: 40 of 40 agents moved in 4 batch\(es\)/);

    const journal = readJournal(`${plan}.journal`);
    expect(journal[0]).toMatchObject({ t: 'start', agents: 40, server: url });
    expect(journal.at(-1)).toMatchObject({ t: 'done' });
    const batches = journalBatches(`${plan}.journal`);
    // `size` is the controller's batch size; the last batch holds the 12 agents left.
    expect(batches.map((b) => b.size)).toEqual([4, 8, 16, 16]);
    expect(batches.map((b) => b.agents.length)).toEqual([4, 8, 16, 12]);
    expect(batches.map((b) => b.n)).toEqual([1, 2, 3, 4]);
    expect(batches[0]!.softswitchCreated).toBe(true);
    expect(batches.flatMap((b) => b.agents).sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => `a${String(i).padStart(2, '0')}`),
    );
    for (const b of batches) {
      expect(typeof b.cpu).toBe('number');
      expect(typeof b.lag).toBe('number');
    }
    // Versions rise by one per batch: each batch is one change-set.
    for (let i = 1; i < batches.length; i++) expect(batches[i]!.version).toBe(batches[i - 1]!.version + 1);

    for (let i = 0; i < AGENTS; i++) {
      const id = `a${String(i).padStart(2, '0')}`;
      const n = `+1555000${String(i).padStart(4, '0')}`;
      const agent = (await api(url, `/api/agents/${id}`)).body;
      if (i % 3 === 2) {
        expect(agent).toMatchObject({ dn: String(7000 + i), options: { 'agent-phone': n } });
        expect((await api(url, `/api/dns/${7000 + i}`)).status).toBe(200);
      } else {
        expect(agent.dn).toBe(n);
        const st = (await api(url, `/api/dns/${encodeURIComponent(n)}/status`)).body;
        expect(st).toMatchObject({ mode: 'softswitch', via: 'SBC', inService: true });
        const dn = (await api(url, `/api/dns/${encodeURIComponent(n)}`)).body;
        expect(dn.options).toEqual(i % 3 === 1 ? { 'line-type': '1' } : {});
        expect((await api(url, `/api/dns/${7000 + i}`)).status).toBe(404);
      }
    }

    const s = await migrate(['status', '--journal', `${plan}.journal`]);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('batches applied: 4');
    expect(s.stdout).toContain('agents moved: 40 of 40');
    expect(s.stdout).toContain('office DNs removed: 27');
    expect(s.stdout).toContain('state: done');

    // Applying again: nothing to do.
    const again = await migrate(['apply', plan, '--server', url]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('the plan is applied already');

    // Roll back the last two batches, then the rest.
    const r1 = await migrate(['rollback', '--journal', `${plan}.journal`, '--from-batch', '3']);
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    expect(r1.stdout).toContain('batch 4 rolled back: 12 agent(s)');
    expect(r1.stdout).toContain('batch 3 rolled back: 16 agent(s)');
    expect((await api(url, '/api/dns/SBC')).status).toBe(200);
    const r2 = await migrate(['rollback', '--journal', `${plan}.journal`]);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toContain('rolled back 2 batch(es)');
    expect(await exported(url)).toEqual(original);
    // The phones' DNs are back with their digest passwords: the phones register again.
    for (const i of PHONES) {
      const n = String(7000 + i);
      expect((await api(url, `/api/dns/${n}`)).body).toEqual({
        number: n,
        type: 'extension',
        options: { contact: '*' },
        hasPassword: true,
      });
      const reg = await registerPhone(n, phonePassword(n));
      expect(reg.code, `REGISTER ${n} after rollback: ${reg.errors}`).toBe(0);
    }
    const after = await migrate(['status', '--journal', `${plan}.journal`]);
    expect(after.stdout).toContain('agents moved: 0 of 40');
  });

  it('refuses a stale plan: an agent of the plan changed since it was made', async () => {
    const plan = join(dir, 'stale.plan');
    expect((await migrate(planArgs(plan))).code).toBe(0);
    const patch = await api(url, '/api/agents/a07', { method: 'PATCH', body: JSON.stringify({ name: 'Renamed' }) });
    expect(patch.status).toBe(200);
    const before = await exported(url);
    const a = await migrate(['apply', plan, '--server', url]);
    expect(a.code).toBe(1);
    expect(a.stderr).toBe(
      'sipserver migrate: stale plan: agent a07 changed since the plan was made (agent a07 changed); run migrate plan again\n',
    );
    expect(await exported(url)).toEqual(before);
    expect(journalBatches(`${plan}.journal`)).toEqual([]);
    await api(url, '/api/agents/a07', { method: 'PATCH', body: JSON.stringify({ name: 'Agent a07' }) });
    expect(await exported(url)).toEqual(original);
  });

  it('an office DN with an agent logged in on it is kept (journaled) until a later apply finds it free', async () => {
    const csv = join(dir, 'six.csv');
    writeFileSync(csv, migrationCsv(6));
    const plan = join(dir, 'logged-in.plan');
    expect((await migrate(planArgs(plan, csv))).code).toBe(0);
    const cti = await CtiTestClient.connect(`${url.replace('http', 'ws')}/cti`);
    try {
      expect((await cti.request('RequestOpen', { referenceId: 1, agentId: 'a00', password: 'pw-a00' })).event).toBe(
        'EventOpened',
      );
      const login = await cti.request('RequestAgentLogin', { referenceId: 2, thisDN: '7000', agentId: 'a00' });
      expect(login.event).toBe('EventAgentLogin');
      const a = await migrate(['apply', plan, '--server', url, '--wait-logout', '1']);
      expect(a.stderr).toBe('');
      expect(a.code).toBe(0);
      expect(a.stdout).toContain(
        'office DN(s) kept because agents are still logged in on them: 7000; running apply again removes them',
      );
      expect(readJournal(`${plan}.journal`).at(-1)).toEqual({
        t: 'office-dn-kept',
        number: '7000',
        why: 'agents logged in',
      });
      expect((await api(url, '/api/dns/7000')).status).toBe(200);
      expect((await api(url, '/api/dns/7001')).status).toBe(404);
      expect((await migrate(['status', '--journal', `${plan}.journal`])).stdout).toContain(
        'office DNs kept (agents logged in): 7000',
      );
      // The agent-scope session logs out on the office DN it logged in on, though the agent's
      // configured DN is the home one now.
      const lo = await cti.request('RequestAgentLogout', { referenceId: 3, thisDN: '7000' });
      expect(lo, JSON.stringify(lo)).toMatchObject({ event: 'EventAgentLogout' });
    } finally {
      cti.close();
    }
    const b = await migrate(['apply', plan, '--server', url, '--wait-logout', '1']);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('done: 6 of 6 agents moved');
    expect(readJournal(`${plan}.journal`).slice(-2)).toMatchObject([
      { t: 'office-dn-removed', number: '7000' },
      { t: 'done' },
    ]);
    expect((await api(url, '/api/dns/7000')).status).toBe(404);
    expect((await migrate(['rollback', '--journal', `${plan}.journal`])).code).toBe(0);
    expect(await exported(url)).toEqual(original);
  });

  it('plans offline from an exported YAML the same changes as from the server', async () => {
    const yaml = join(dir, 'export.yaml');
    const exp = await runCli(['config', 'export', '--server', url, '-o', yaml]);
    expect(exp.code).toBe(0);
    const online = join(dir, 'online.plan');
    const offline = join(dir, 'offline.plan');
    expect((await migrate(planArgs(online))).code).toBe(0);
    const args = planArgs(offline);
    args.splice(args.indexOf('--server'), 2, '--config', yaml);
    const r = await migrate(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const a = JSON.parse(readFileSync(online, 'utf8'));
    const b = JSON.parse(readFileSync(offline, 'utf8'));
    expect(b.baseVersion).toBeNull();
    expect(b.source).toEqual({ config: yaml });
    expect(b.agents).toEqual(a.agents);
    expect(b.softswitchChange).toEqual(a.softswitchChange);
  });

  it('a CSV with bad rows: every bad line listed, no plan written, exit 1', async () => {
    const csv = join(dir, 'bad.csv');
    writeFileSync(
      csv,
      [
        'agent_id,home_number,mode',
        'a00,+1555 000 0000,extension',
        'ghost,+15550009999,extension',
        'a01,7002,nailed-up',
        'a02,+15550000000,agent-phone',
        'a03,+4420000000,extension',
        'a04,+15550000004',
        'a00,+15550000005,desk',
      ].join('\n'),
    );
    const plan = join(dir, 'bad.plan');
    const r = await migrate(planArgs(plan, csv));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${csv}:3: unknown agent ghost`,
      `${csv}:4: home number 7002 is already an internal DN (extension)`,
      `${csv}:5: home number +15550000000 is already on line 2`,
      `${csv}:6: no softswitch prefix matches home number +4420000000`,
      `${csv}:7: expected 3 fields (agent_id,home_number,mode), found 2`,
      `${csv}:8: mode "desk" is not one of extension, nailed-up, agent-phone`,
      'sipserver migrate: 6 problem(s), no plan written; fix them and run migrate plan again',
    ]);
    expect(existsSync(plan)).toBe(false);
  });

  it('what the server would refuse is found at plan time by a dry run, and no plan is written', async () => {
    const plan = join(dir, 'refused.plan');
    const args = planArgs(plan);
    args[args.indexOf('--contact') + 1] = '';
    const r = await migrate(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'sipserver migrate: the server refuses it: DN SBC: a softswitch needs a contact (host[:port] or SIP URI)\n' +
        'sipserver migrate: 1 problem(s), no plan written; fix them and run migrate plan again\n',
    );
    expect(existsSync(plan)).toBe(false);
  });

  it('usage errors exit 2', async () => {
    const r = await migrate(['apply', join(dir, 'none.plan'), '--server', url, '--batch', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--batch must be a positive number');
    const r2 = await migrate(['plan', '--csv', 'x.csv']);
    expect(r2.code).toBe(2);
    const r3 = await migrate(['status', '--journal', join(dir, 'none.journal')]);
    expect(r3.code).toBe(2);
    expect(readFileSync(join(dir, 'agents.csv'), 'utf8')).toContain('agent_id');
  });
});
