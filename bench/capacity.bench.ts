/**
 * Capacity benchmark (issue requirement "2,000 logged-in agents and 20,000 registered phones in
 * under 500 MB"). Starts the real server process (`node dist/cli/main.js start`, as deployed)
 * with a generated configuration: 20,000 extension DNs (`contact: "*"`, digest password each),
 * 2,000 agents on the first 2,000 of them, one agent group and one routing point. Then:
 *
 * 1. a first start on a fresh data directory (the store is reconciled to the file): its idle
 *    memory and peak; then the reference: the idle server restarted on that store, same run;
 * 2. 20,000 phones register with digest authentication (SIPp, `-inf` CSV of numbers and
 *    passwords, UDP on loopback);
 * 3. 2,000 agent desktops connect to the CTI WebSocket (one connection each, `RequestOpen` with
 *    the admin token — application scope — then `RequestAgentLogin` with `workMode: ManualIn`,
 *    i.e. Ready);
 *
 * and prints the server's resident memory (`/proc/PID/status` VmRSS, as the process stands, and
 * VmHWM, its peak) and V8 heap (after a forced GC, `SIPSERVER_DEBUG_MEMSTATS`) at each step, the
 * loaded figures once the load's SIP transactions have ended. The verdict holds the loaded RSS
 * and every peak against 500 MB (10^6 bytes). Takes about 75 s.
 *
 * Env: BENCH_CAPACITY_PHONES (20000), BENCH_CAPACITY_AGENTS (2000), BENCH_CAPACITY_RATE
 * (registrations per second, 2000), BENCH_CAPACITY_TSX=1 runs `src/cli/main.ts` under tsx
 * instead of the build in `dist/` (the default, built by `npm run bench`).
 * Run alone: `npm run build && npx tsx bench/run.ts capacity`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { loginDesks, type Desk } from '../test/helpers/cti-desks.js';
import { repoRoot } from '../test/helpers/paths.js';
import { freePort } from '../test/helpers/ports.js';
import { ServerProcess } from '../test/helpers/server-process.js';
import { runSipp } from '../test/helpers/sipp.js';
import { mb, procMemory } from './helpers/proc-stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const PHONES = Number(process.env.BENCH_CAPACITY_PHONES ?? 20_000);
const AGENTS = Math.min(PHONES, Number(process.env.BENCH_CAPACITY_AGENTS ?? 2_000));
const RATE = Number(process.env.BENCH_CAPACITY_RATE ?? 2_000);
const TARGET_MB = 500;
const TOKEN = 'capacity-bench-admin-token-0123456789';
/** Parallel CTI logins in flight (each on its own connection; the per-connection rate limit is 20/s). */
const LOGIN_CONCURRENCY = 50;

/** Extension number of phone `i` (`300000`…). */
function phoneNumber(i: number): string {
  return String(300_000 + i);
}

function phonePassword(i: number): string {
  return `pw-${i}-secret`;
}

function agentId(i: number): string {
  return `agent${String(i).padStart(4, '0')}`;
}

/** The generated configuration (YAML; one DN per line keeps it fast to write and read). */
function configYaml(): string {
  const lines = [
    'server:',
    '  name: Capacity_Bench',
    '  sip:',
    '    listen: ["udp:127.0.0.1:5060"]',
    '  http:',
    '    listen: "127.0.0.1:8080"',
    `    admin-token: "${TOKEN}"`,
    // Every phone and customer sends from 127.0.0.1: no per-source flood limit (docs/security.md).
    '  options:',
    '    pike-requests-per-second: "0"',
    'dns:',
    '  - { number: "5000", type: routing-point, options: { agent-group: Everyone } }',
  ];
  for (let i = 0; i < PHONES; i++) {
    lines.push(
      `  - { number: "${phoneNumber(i)}", type: extension, options: { contact: "*", password: "${phonePassword(i)}" } }`,
    );
  }
  lines.push('agents:');
  for (let i = 0; i < AGENTS; i++) {
    lines.push(
      `  - { id: ${agentId(i)}, name: "Agent ${i}", password: "${agentId(i)}-secret", dn: "${phoneNumber(i)}" }`,
    );
  }
  lines.push('agent-groups:', '  - name: Everyone', '    agents:');
  for (let i = 0; i < AGENTS; i++) lines.push(`      - ${agentId(i)}`);
  return lines.join('\n') + '\n';
}

/** SIPp `-inf` file: one phone per line, `number;[authentication username=number password=…]`. */
function phonesCsv(): string {
  const lines = ['SEQUENTIAL'];
  for (let i = 0; i < PHONES; i++)
    lines.push(`${phoneNumber(i)};[authentication username=${phoneNumber(i)} password=${phonePassword(i)}]`);
  return lines.join('\n') + '\n';
}

/** The server as it is deployed: node on the build (or tsx on the source with BENCH_CAPACITY_TSX=1). */
async function startServer(config: string, dataDir: string): Promise<ServerProcess> {
  const dist = join(repoRoot, 'dist/cli/main.js');
  const useTsx = process.env.BENCH_CAPACITY_TSX === '1' || !existsSync(dist);
  const entry = useTsx ? ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts')] : [dist];
  const child = spawn(
    process.execPath,
    [
      ...SERVER_NODE_FLAGS,
      '--expose-gc',
      ...entry,
      'start',
      '--config',
      config,
      '--data',
      dataDir,
      '--sip-listen',
      'udp:127.0.0.1:0',
      '--http-listen',
      '127.0.0.1:0',
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, SIPSERVER_LOG: 'warn', SIPSERVER_DEBUG_MEMSTATS: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const server = new ServerProcess(child);
  server.dataDir = dataDir;
  const deadline = Date.now() + 120_000;
  while (server.addresses.length < 1 || server.httpUrl === undefined) {
    if (!server.alive) throw new Error(`server exited during start: ${server.stderr.slice(-2000)}`);
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`server did not start within 120 s: ${server.stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(
    `  server: ${useTsx ? 'tsx src/cli/main.ts' : 'node dist/cli/main.js'} start, pid ${server.pid}\n`,
  );
  return server;
}

/** One memory reading of the server. */
interface Reading {
  /** SIP transactions alive (server + client). */
  transactions: number;
  /** VmRSS as the process stands (no forced GC). */
  rss: number;
  /** VmHWM. */
  peakRss: number;
  /** V8 heap used after a forced full GC. */
  heapUsed: number;
  /** VmRSS after that GC. */
  rssAfterGc: number;
}

async function read(server: ServerProcess): Promise<Reading> {
  const { rss, peakRss } = procMemory(server.pid);
  const m = await server.memstats();
  return {
    rss,
    peakRss,
    heapUsed: m.heapUsed,
    rssAfterGc: m.rss,
    transactions: m.transactions.server + m.transactions.client,
  };
}

/**
 * Wait until the SIP transactions of the load have ended (RFC 3261 §17.2.2: a UDP non-INVITE
 * server transaction lingers 64*T1 = 32 s in Completed), then read: the steady state.
 */
async function readSettled(server: ServerProcess, maxMs = 45_000): Promise<Reading> {
  const end = Date.now() + maxMs;
  for (;;) {
    const m = await server.memstats();
    if (m.transactions.server + m.transactions.client === 0 || Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  return read(server);
}

function describe(r: Reading): string {
  return `${r.transactions} transactions, RSS ${mb(r.rss)} MB (peak ${mb(r.peakRss)} MB, ${mb(r.rssAfterGc)} MB after GC), heap used ${mb(r.heapUsed)} MB after GC`;
}

/** `GET /api/status` with the admin token. */
async function status(server: ServerProcess): Promise<{ registrations: unknown[]; agents: Array<{ state: string }> }> {
  const res = await fetch(`${server.httpUrl}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!res.ok) throw new Error(`/api/status: HTTP ${res.status}`);
  return (await res.json()) as { registrations: unknown[]; agents: Array<{ state: string }> };
}

/** Register every phone through SIPp; returns SIPp's successful/failed counts. */
async function registerPhones(
  server: ServerProcess,
  dir: string,
): Promise<{ ok: number; failed: number; seconds: number; code: number | null; errors: string }> {
  const csv = join(dir, 'phones.csv');
  writeFileSync(csv, phonesCsv());
  const t0 = Date.now();
  const r = await runSipp({
    scenario: join(here, 'helpers/register-inf.xml'),
    target: server.addresses[0]!.replace(/^udp:/, ''),
    calls: PHONES,
    rate: RATE,
    limit: Math.max(100, RATE),
    localPort: await freePort(),
    args: ['-inf', csv],
    timeoutMs: Math.max(120_000, (PHONES / RATE) * 3000),
  });
  const seconds = (Date.now() - t0) / 1000;
  const ok = Number(/Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.stdout)?.[1] ?? NaN);
  const failed = Number(/Failed call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.stdout)?.[1] ?? NaN);
  if (r.code !== 0 && Number.isNaN(ok))
    throw new Error(`SIPp exit ${r.code}: ${r.stderr.slice(-1000)} ${r.errors.slice(0, 1000)}`);
  return { ok, failed, seconds, code: r.code, errors: r.errors.slice(0, 1500) };
}

/** Log every agent in (`ManualIn`: Ready) over its own CTI connection; returns the open desks and the failures. */
async function loginAgents(server: ServerProcess): Promise<{ desks: Desk[]; failures: string[]; seconds: number }> {
  const t0 = Date.now();
  const logins = Array.from({ length: AGENTS }, (_, i) => ({ agentId: agentId(i), dn: phoneNumber(i) }));
  const url = server.httpUrl!.replace(/^http/, 'ws') + '/cti';
  const r = await loginDesks(url, TOKEN, logins, { concurrency: LOGIN_CONCURRENCY, workMode: 'ManualIn' });
  return { ...r, seconds: (Date.now() - t0) / 1000 };
}

/** Entry point for bench/run.ts. */
export default async function (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-capacity-'));
  const config = join(dir, 'capacity.yaml');
  writeFileSync(config, configYaml());
  const data = join(dir, 'data');
  // First start: the store is reconciled to the 20,000-DN file (one change-set); its garbage
  // stays in the RSS for a while, so the idle reference is a second start on the same store.
  let t0 = Date.now();
  const first = await startServer(config, data);
  let firstStart: Reading;
  try {
    process.stdout.write(
      `  configuration: ${PHONES} extensions (contact *, digest password), ${AGENTS} agents, 1 group, 1 routing point; first start (store reconciled to the file) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    await new Promise((r) => setTimeout(r, 2000));
    firstStart = await read(first);
    process.stdout.write(`  first start, idle: ${describe(firstStart)}\n`);
  } finally {
    await first.stop(10_000);
  }
  t0 = Date.now();
  const server = await startServer(config, data);
  let desks: Desk[] = [];
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idle = await read(server);
    process.stdout.write(
      `  reference, idle server with that configuration (restarted on the same store in ${((Date.now() - t0) / 1000 - 2).toFixed(1)} s): ${describe(idle)}\n`,
    );

    const reg = await registerPhones(server, dir);
    const st1 = await status(server);
    process.stdout.write(
      `  ${PHONES} phones registering at ${RATE}/s: SIPp ok ${reg.ok}, failed ${reg.failed} (exit ${reg.code}) in ${reg.seconds.toFixed(1)} s; server lists ${st1.registrations.length} registrations\n`,
    );
    if (reg.failed > 0 || reg.code !== 0) process.stdout.write(`    SIPp errors: ${reg.errors}\n`);
    process.stdout.write(`  right after the phones: ${describe(await read(server))}\n`);
    const phones = await readSettled(server);
    process.stdout.write(`  after the phones, transactions ended: ${describe(phones)}\n`);

    const login = await loginAgents(server);
    desks = login.desks;
    const st2 = await status(server);
    const ready = st2.agents.filter((a) => a.state === 'Ready').length;
    process.stdout.write(
      `  ${AGENTS} agents logging in (one CTI connection each, ${LOGIN_CONCURRENCY} at a time): ${AGENTS - login.failures.length} ok, ${login.failures.length} failed in ${login.seconds.toFixed(1)} s; server lists ${st2.agents.length} logged in, ${ready} Ready\n`,
    );
    for (const f of login.failures.slice(0, 5)) process.stdout.write(`    ${f}\n`);
    const full = await readSettled(server);
    process.stdout.write(`  after the agents: ${describe(full)}\n`);

    // Per-item figures from the V8 heap after a forced GC: RSS deltas mix in allocator slack and
    // start-up garbage (the idle RSS can exceed a later one).
    const perPhone = (phones.heapUsed - idle.heapUsed) / Math.max(1, st1.registrations.length);
    const perAgent = (full.heapUsed - phones.heapUsed) / Math.max(1, st2.agents.length);
    const ok = full.rss < TARGET_MB * 1e6 && full.peakRss < TARGET_MB * 1e6 && firstStart.peakRss < TARGET_MB * 1e6;
    process.stdout.write(
      `${st1.registrations.length.toLocaleString('en-US')} phones + ${st2.agents.length.toLocaleString('en-US')} agents: RSS ${mb(full.rss)} MB ` +
        `(peak ${mb(full.peakRss)} MB, first start with this configuration peaks at ${mb(firstStart.peakRss)} MB; target < ${TARGET_MB} MB) ${ok ? 'OK' : 'OVER TARGET'}; ` +
        `idle reference ${mb(idle.rssAfterGc)} MB after GC (${mb(idle.rss)} MB before: start-up garbage), loaded/idle ${(full.rss / idle.rssAfterGc).toFixed(2)}; ` +
        `heap ${mb(full.heapUsed)} MB vs ${mb(idle.heapUsed)} MB idle; ` +
        `per phone ${(perPhone / 1024).toFixed(2)} KB heap, per agent ${(perAgent / 1024).toFixed(2)} KB heap (with its CTI connection)\n`,
    );
  } finally {
    for (const d of desks) d.client.close();
    await server.stop(10_000);
    rmSync(dir, { recursive: true, force: true });
  }
}
