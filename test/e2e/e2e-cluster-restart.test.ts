/**
 * Issue 21's acceptance, the restart half ("PostgreSQL restarted under load: nodes keep serving
 * calls from their cached configuration and catch up when it returns; Redis restarted: state
 * rebuilt from the nodes, no agent lost"), end to end: `scripts/cluster-up.sh --nodes 2 --redis
 * local --store pg` starts PostgreSQL, Redis, two nodes, Kamailio and nginx on loopback. Through
 * Kamailio 50 phones register (SIPp, digest); 20 agents log in Ready, half through each node's own
 * CTI port; customers (SIPp UAC) call a routing point at 20 calls/s, the agents' DNs answering
 * behind a softswitch (SIPp UAS). With that load running:
 *
 * 1. PostgreSQL is stopped (`scripts/postgres-down.sh`, as `cluster-down.sh` stops it) for 5 s
 *    and started again (`scripts/postgres-up.sh` on the same directory and port, as
 *    `cluster-up.sh` starts it): calls go on being answered; a change-set answers 503 with
 *    `Retry-After` and nothing is applied; `config.store.connected` is false on both nodes, then
 *    true again; a change-set applied through either node is on the other within 1 s, at the same
 *    version.
 * 2. Redis is killed (SIGKILL) and started again empty (`redis-server` with the same arguments as
 *    `cluster-up.sh`, `--save ''`) after 2 s: calls go on being answered; every agent keeps its
 *    login and its owner (in the nodes and in Redis), every registration, both leases and the
 *    softswitch's probe lease are back in Redis; calls go on reaching the agents of both nodes, and
 *    calls to a routing point whose agents are all one node's are answered through either node
 *    (the other one redirects them, Kamailio follows).
 *
 * No call fails (SIPp's statistics). The figures are printed with the prefix `restart:`
 * (docs/cluster.md, "What the acceptance test shows"). `RESTART_KEEP=1` keeps the scratch directory
 * with every process's log.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminGet, adminRequest } from '../helpers/admin-http.js';
import { CallLoad, setupPercentile, type SetupSample } from '../helpers/call-load.js';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { runSipp, startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { scenario } from './e2e-support.js';
import {
  type ClusterNode,
  gone,
  openCtiRecorder,
  parseNodes,
  processesNaming,
  registerPhones,
  type Seen,
} from './cluster-support.js';

const run = promisify(execFile);
const TOKEN = 'cluster-restart-token';
const PHONES = 50;
const AGENTS = 20;
const RATE = 20;
/** Talk time of a customer call (SIPp `-d`). */
const TALK_MS = 500;
/** The windows the rates are measured over: before an outage, and after the service is back. */
const WINDOW_MS = 5000;
/** How long PostgreSQL stays down, and Redis. */
const PG_DOWN_MS = 5000;
const REDIS_DOWN_MS = 2000;
const ROUTING_POINT = '5000';
/** Routing points whose group holds only the agents of node K: calls to them that reach the other node must cross. */
const NODE_ROUTING_POINT: Record<number, string> = { 1: '5001', 2: '5002' };
/** Calls to each of them after Redis is back. */
const CROSS_CALLS = 20;

const phoneDn = (i: number): string => `8${String(i).padStart(4, '0')}`;
const agentId = (i: number): string => `agent${String(i).padStart(2, '0')}`;
const agentDn = (i: number): string => `7${String(i).padStart(4, '0')}`;
const AGENT_DNS = Array.from({ length: AGENTS }, (_, i) => agentDn(i));
const AGENT_DN_SET = new Set(AGENT_DNS);
/** cluster-up.sh names the nodes node-K in Redis. */
const nodeName = (k: number): string => `node-${k}`;

/** An admin-API call with the cluster's token; `body` is the JSON answer. */
async function http<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: T }> {
  const r = await adminRequest(base, TOKEN, method, path, body, 5000);
  return { status: r.status, headers: r.headers, body: r.json as T };
}

const get = <T>(base: string, path: string): Promise<T> => adminGet<T>(base, TOKEN, path);

interface StoreStatus {
  version: number;
  store: { kind: string; connected: boolean; error?: string; lagVersions: number };
}

const configOf = async (n: ClusterNode): Promise<StoreStatus> =>
  (await get<{ config: StoreStatus }>(n.http, '/api/status?sections=config')).config;

/** A change-set of one new extension DN. */
const addDn = (dn: string): unknown => ({
  changes: [{ op: 'put', kind: 'dn', key: dn, value: { type: 'extension', options: {} } }],
});

/** The configuration: the softswitch the agents answer behind, the routing point, the phones, the agents. */
function clusterYaml(sipPort: number, httpPort: number, pbxPort: number): string {
  const lines = [
    'server:',
    '  name: SIP_Server',
    `  sip: { listen: ["udp:127.0.0.1:${sipPort}", "tcp:127.0.0.1:${sipPort}"] }`,
    `  http: { listen: "127.0.0.1:${httpPort}", admin-token: "${TOKEN}" }`,
    // Kamailio (127.0.0.1) is the nodes' trusted proxy; every peer sends from 127.0.0.1.
    '  options: { sip-trusted-proxies: "127.0.0.1", pike-requests-per-second: "0" }',
    'dns:',
    `  - { number: OfficePBX, type: voip-service, options: { contact: "127.0.0.1:${pbxPort}", service-type: softswitch, ` +
      'prefix: "7", dual-dialog-enabled: "false", make-call-rfc3725-flow: "1", oos-check: "5", oos-force: "2" } }',
    `  - { number: "${ROUTING_POINT}", type: routing-point, options: { agent-group: Support } }`,
    ...[1, 2].map(
      (k) => `  - { number: "${NODE_ROUTING_POINT[k]}", type: routing-point, options: { agent-group: Node${k} } }`,
    ),
  ];
  for (let i = 0; i < PHONES; i++)
    lines.push(`  - { number: "${phoneDn(i)}", type: extension, options: { contact: "*", password: "pw-${i}" } }`);
  for (const dn of AGENT_DNS) lines.push(`  - { number: "${dn}", type: extension }`);
  lines.push('agents:');
  for (let i = 0; i < AGENTS; i++)
    lines.push(
      `  - { id: ${agentId(i)}, name: "${agentId(i)}", password: "${agentId(i)}-secret", dn: "${agentDn(i)}" }`,
    );
  lines.push('agent-groups:', '  - name: Support', '    agents:');
  for (let i = 0; i < AGENTS; i++) lines.push(`      - ${agentId(i)}`);
  // agent i logs in through node (i % 2) + 1
  for (const k of [1, 2]) {
    lines.push(`  - name: Node${k}`, '    agents:');
    for (let i = k - 1; i < AGENTS; i += 2) lines.push(`      - ${agentId(i)}`);
  }
  return lines.join('\n') + '\n';
}

/** Established agent calls (distinct DN and connId) per delivering node, EventEstablished in [from, to). */
function establishedPerNode(seen: readonly Seen[], from: number, to = Infinity): Map<number, number> {
  const ids = new Map<number, Set<string>>();
  for (const s of seen) {
    if (s.f.event !== 'EventEstablished' || s.at < from || s.at >= to) continue;
    if (!AGENT_DN_SET.has(String(s.f.thisDN))) continue;
    if (!ids.has(s.node)) ids.set(s.node, new Set());
    ids.get(s.node)!.add(`${String(s.f.thisDN)} ${String(s.f.connId)}`);
  }
  return new Map([...ids].map(([k, set]) => [k, set.size]));
}

/** Calls answered per second in [from, to), from SIPp's set-up times. */
function rateIn(samples: readonly SetupSample[], from: number, to: number): number {
  return samples.filter((s) => s.at >= from && s.at < to).length / ((to - from) / 1000);
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

describe('issue 21 acceptance: PostgreSQL and Redis restarted under call load (two nodes behind Kamailio)', () => {
  let dir: string;
  let data: string;
  let sipPort: number;
  let nodes: ClusterNode[] = [];
  let pbx: SippPeer | undefined;
  let load: CallLoad | undefined;
  const clients: CtiTestClient[] = [];
  /** Every CTI frame of every node's connection, in arrival order. */
  const seen: Seen[] = [];
  /** Agent id → the node (k) it logged in through, which owns it. */
  const ownerOf = new Map<string, number>();
  /** The outages, ms since the epoch: stopped, started again, and when the test saw the service back. */
  const pg = { stopped: 0, started: 0, back: 0 };
  const redis = { killed: 0, started: 0, back: 0 };

  const redisPort = (): string => readFileSync(join(data, 'redis/port'), 'utf8').trim();
  const redisCli = async (...args: string[]): Promise<string[]> =>
    (await run('redis-cli', ['-h', '127.0.0.1', '-p', redisPort(), ...args])).stdout.split('\n').filter(Boolean);
  const nodeLog = (n: ClusterNode): string => readFileSync(join(data, `node-${n.k}/node.log`), 'utf8');

  /** One application-scope CTI connection to `node`, registered on every agent DN. */
  const openDesk = (node: ClusterNode): Promise<CtiTestClient> =>
    openCtiRecorder({ node, token: TOKEN, dns: AGENT_DNS, seen, clients });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-cluster-restart-'));
    // PostgreSQL runs as the postgres user when the tests run as root: it must traverse the directory.
    chmodSync(dir, 0o755);
    data = join(dir, 'data');
    sipPort = await freePort();
    const httpPort = await freePort();
    pbx = await startSipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), traceMessages: false });
    const config = join(dir, 'cluster.yaml');
    writeFileSync(config, clusterYaml(sipPort, httpPort, pbx.port));
    const up = await run(
      'bash',
      [
        join(repoRoot, 'scripts/cluster-up.sh'),
        ...['--nodes', '2', '--config', config, '--data', data, '--redis', 'local', '--store', 'pg'],
      ],
      { timeout: 90_000 },
    );
    nodes = parseNodes(up.stdout);
  }, 100_000);

  afterAll(async () => {
    await load?.stop(5000).catch(() => undefined);
    for (const c of clients) c.close();
    await pbx?.stop();
    if (data) {
      await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data], { timeout: 60_000 }).catch(
        () => undefined,
      );
      for (const pid of processesNaming(data)) process.kill(pid, 'SIGKILL');
    }
    if (!process.env.RESTART_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(`restart: kept ${dir}`);
  }, 90_000);

  it('two nodes on PostgreSQL and Redis; 50 phones registered through Kamailio; 20 agents Ready, 10 owned by each node', async () => {
    expect(nodes.map((n) => n.k)).toEqual([1, 2]);
    for (const n of nodes) expect((await configOf(n)).store).toMatchObject({ kind: 'postgres', connected: true });

    const r = await registerPhones({
      dir,
      sipPort,
      count: PHONES,
      dnOf: phoneDn,
      rate: 100,
      limit: 50,
      timeoutMs: 30_000,
    });
    expect(r.code, r.errors.slice(0, 2000)).toBe(0);
    await waitFor(async () => (await redisCli('--scan', '--pattern', 'sipserver:binding:*')).length === PHONES, {
      what: `${PHONES} bindings in Redis`,
    });

    const desks = await Promise.all(nodes.map(openDesk));
    for (let i = 0; i < AGENTS; i++) {
      const k = (i % 2) + 1;
      desks[k - 1]!.send('RequestAgentLogin', { thisDN: agentDn(i), agentId: agentId(i), workMode: 'AutoIn' });
      ownerOf.set(agentId(i), k);
    }
    await waitFor(
      () => new Set(seen.filter((s) => s.f.event === 'EventAgentReady').map((s) => s.f.agentId)).size === AGENTS,
      {
        what: `${AGENTS} agents Ready`,
        detail: () => JSON.stringify(seen.filter((s) => s.f.event === 'EventError').slice(0, 3)),
      },
    );
    await waitFor(async () => {
      const v = await get<{ owners: Record<string, string> }>(nodes[0]!.http, '/api/cluster');
      return [...ownerOf].every(([id, k]) => v.owners[id] === nodeName(k));
    }, 'every agent owned by the node it logged in through');
    // the softswitch behind which the agents answer is in service on both nodes
    for (const n of nodes) {
      await waitFor(
        async () =>
          (
            await get<{ devices: Array<{ dn: string; state: string }> }>(n.http, '/api/status?sections=devices')
          ).devices.some((d) => d.dn === 'OfficePBX' && d.state === 'in-service'),
        { what: `OfficePBX in service on node ${n.k}`, timeoutMs: 20_000, intervalMs: 200 },
      );
    }
  }, 60_000);

  it('PostgreSQL stopped under load: calls go on, writes answer 503, both nodes disconnected; back: both catch up, a change-set is on both within 1 s', async () => {
    const loadStartedAt = Date.now();
    const peer = await startSipp({
      scenario: scenario('e2e-uac-customer-call.xml'),
      target: `127.0.0.1:${sipPort}`,
      service: ROUTING_POINT,
      rate: RATE,
      limit: 200,
      pauseMs: TALK_MS,
      traceMessages: false,
      args: ['-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1', '-recv_timeout', '8000'],
    });
    load = new CallLoad(peer, loadStartedAt);
    await new Promise((r) => setTimeout(r, WINDOW_MS + 1000));
    expect(peer.running, peer.stderr).toBe(true);
    const versionBefore = (await configOf(nodes[0]!)).version;

    pg.stopped = Date.now();
    await run('bash', [join(repoRoot, 'scripts/postgres-down.sh'), '--data', join(data, 'postgres')], {
      timeout: 30_000,
    });
    const stopMs = Date.now() - pg.stopped;
    for (const n of nodes) {
      const s = await waitFor(
        async () => {
          const c = await configOf(n);
          return c.store.connected ? undefined : c;
        },
        { what: `node ${n.k} seeing PostgreSQL down`, timeoutMs: 5000 },
      );
      expect(s.store.error, `config.store.error on node ${n.k}`).toBeTruthy();
    }
    const seenDownMs = Date.now() - pg.stopped;
    // a write through either node: 503, Retry-After, nothing applied
    for (const n of nodes) {
      const w = await http<{ errors: Array<{ index: number; message: string }> }>(
        n.http,
        'POST',
        '/api/config/change-sets',
        addDn(`300${n.k}`),
      );
      expect(w.status, JSON.stringify(w.body)).toBe(503);
      expect(w.headers.get('retry-after')).toBe('1');
      expect(w.body.errors[0]!.message).toMatch(/configuration store of record \(PostgreSQL\) is unreachable/);
    }
    for (const n of nodes) {
      expect((await configOf(n)).version).toBe(versionBefore);
      expect((await http(n.http, 'GET', `/api/dns/300${n.k}`)).status).toBe(404);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, pg.stopped + PG_DOWN_MS - Date.now())));
    expect(peer.running, peer.stderr).toBe(true);

    pg.started = Date.now();
    const port = readFileSync(join(data, 'postgres/port'), 'utf8').trim();
    const upOut = await run(
      'bash',
      [join(repoRoot, 'scripts/postgres-up.sh'), '--data', join(data, 'postgres'), '--port', port],
      { timeout: 60_000 },
    );
    expect(upOut.stdout).toMatch(new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${port}/sipserver$`, 'm'));
    const pgUpMs = Date.now() - pg.started;
    const connectedAt = new Map<number, number>();
    await waitFor(
      async () => {
        for (const n of nodes)
          if (!connectedAt.has(n.k) && (await configOf(n)).store.connected) connectedAt.set(n.k, Date.now());
        return connectedAt.size === nodes.length;
      },
      { what: 'both nodes connected to PostgreSQL again', timeoutMs: 15_000, intervalMs: 50 },
    );
    pg.back = Math.max(...connectedAt.values());

    // a change-set through each node: on the other within 1 s, at the same version
    const visibleMs: number[] = [];
    for (const [from, to] of [
      [nodes[0]!, nodes[1]!],
      [nodes[1]!, nodes[0]!],
    ] as const) {
      const dn = `310${from.k}`;
      const t0 = Date.now();
      const w = await http<{ version: number }>(from.http, 'POST', '/api/config/change-sets', addDn(dn));
      expect(w.status, JSON.stringify(w.body)).toBe(200);
      await waitFor(async () => (await http(to.http, 'GET', `/api/dns/${dn}`)).status === 200, {
        what: `DN ${dn} (written through node ${from.k}) on node ${to.k}`,
        timeoutMs: 1000,
        intervalMs: 10,
      });
      visibleMs.push(Date.now() - t0);
      expect(w.body.version).toBe(versionBefore + visibleMs.length);
      for (const n of nodes) expect((await configOf(n)).version).toBe(w.body.version);
    }
    for (const n of nodes) expect((await configOf(n)).store).toMatchObject({ connected: true, lagVersions: 0 });

    const perNode = establishedPerNode(seen, pg.stopped, pg.back);
    console.log(
      `restart: PostgreSQL stopped in ${seconds(stopMs)} s (postgres-down.sh); both nodes showed connected=false ` +
        `${seconds(seenDownMs)} s after the stop began; writes answered 503 (Retry-After: 1), nothing applied`,
    );
    console.log(
      `restart: PostgreSQL down ${seconds(pg.started - pg.stopped)} s, postgres-up.sh took ${seconds(pgUpMs)} s; ` +
        `connected again ${[...connectedAt].map(([k, t]) => `node ${k} +${seconds(t - pg.started)} s`).join(', ')} ` +
        `after the start; change-sets visible on the other node after ${visibleMs.join(' / ')} ms, same version on both; ` +
        `agent calls established from the stop to both connected, per node: ${[...perNode].map(([k, v]) => `node ${k} ${v}`).join(', ')}`,
    );
    for (const n of nodes) expect(perNode.get(n.k) ?? 0, `calls to node ${n.k}'s agents`).toBeGreaterThan(0);
    // the window after it is back (its calls are counted at the end)
    await new Promise((r) => setTimeout(r, Math.max(0, pg.back + WINDOW_MS - Date.now())));
    expect(peer.running, peer.stderr).toBe(true);
  }, 60_000);

  it('Redis restarted empty under load: calls go on; logins, owners, registrations and leases rebuilt from the nodes; calls reach both nodes', async () => {
    expect(load, 'the load of the previous test runs').toBeDefined();
    const peer = load!.peer;
    const pidFile = join(data, 'redis/redis.pid');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const kamLog = join(data, 'kamailio/kamailio.log');
    const redirectsBefore = (readFileSync(kamLog, 'utf8').match(/ redirected by /g) ?? []).length;
    const nodeLogAt = new Map(nodes.map((n) => [n.k, statSync(join(data, `node-${n.k}/node.log`)).size]));

    redis.killed = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => gone(pid), 'redis-server gone');
    await new Promise((r) => setTimeout(r, REDIS_DOWN_MS));
    const kamAt = statSync(kamLog).size;
    // as cluster-up.sh starts it: same port and directory, nothing saved
    redis.started = Date.now();
    await run('redis-server', [
      ...['--bind', '127.0.0.1', '--port', redisPort(), '--dir', join(data, 'redis'), '--save', ''],
      ...['--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidFile, '--logfile', join(data, 'redis/redis.log')],
    ]);
    await waitFor(async () => (await redisCli('ping').catch(() => []))[0] === 'PONG', 'Redis answering');

    // rebuilt from the nodes: both leases, every binding, every login with its owner
    const backAt: Record<string, number> = {};
    const expectedAgentSets = [1, 2].map((k) =>
      [...ownerOf]
        .filter(([, o]) => o === k)
        .map(([id]) => id)
        .sort(),
    );
    await waitFor(
      async () => {
        if (!backAt.leases) {
          const leases = await redisCli('--scan', '--pattern', 'sipserver:node:*');
          if (leases.length === 2) backAt.leases = Date.now();
        }
        if (!backAt.probe) {
          // one node probes the softswitch again (docs/cluster.md, "Device health")
          const holder = await redisCli('get', 'sipserver:probe:OfficePBX');
          if (holder[0] === nodeName(1) || holder[0] === nodeName(2)) backAt.probe = Date.now();
        }
        if (!backAt.bindings) {
          const keys = await redisCli('--scan', '--pattern', 'sipserver:binding:*');
          if (keys.length === PHONES) backAt.bindings = Date.now();
        }
        if (!backAt.logins) {
          const keys = (await redisCli('--scan', '--pattern', 'sipserver:agent:*')).sort();
          if (keys.length === AGENTS) {
            const values = await redisCli('mget', ...keys);
            const ok = keys.every((key, i) => {
              const rec = JSON.parse(values[i] ?? '{}') as { owner?: string };
              return rec.owner === nodeName(ownerOf.get(key.slice('sipserver:agent:'.length))!);
            });
            const sets = await Promise.all([1, 2].map((k) => redisCli('smembers', `sipserver:agents:${nodeName(k)}`)));
            if (ok && sets.every((s, i) => JSON.stringify(s.sort()) === JSON.stringify(expectedAgentSets[i])))
              backAt.logins = Date.now();
          }
        }
        return backAt.leases && backAt.probe && backAt.bindings && backAt.logins;
      },
      {
        what: 'the leases, the probe lease, bindings and logins back in Redis',
        timeoutMs: 15_000,
        intervalMs: 100,
        detail: () => JSON.stringify(backAt),
      },
    );
    redis.back = Math.max(backAt.leases!, backAt.bindings!, backAt.logins!);

    // the nodes: both alive in the cluster view, every agent logged in on its owner
    for (const n of nodes) {
      const v = await get<{
        nodes: Array<{ name: string; alive: boolean }>;
        owners: Record<string, string>;
      }>(n.http, '/api/cluster');
      expect(v.nodes.map((x) => [x.name, x.alive])).toEqual([
        [nodeName(1), true],
        [nodeName(2), true],
      ]);
      for (const [id, k] of ownerOf) expect(v.owners[id], `owner of ${id} on node ${n.k}`).toBe(nodeName(k));
      const s = await get<{ agents: Array<{ id: string; state: string }> }>(
        n.http,
        '/api/status?sections=agents&agentState=logged-in',
      );
      expect(s.agents.map((a) => a.id).sort(), `agents logged in on node ${n.k}`).toEqual(expectedAgentSets[n.k - 1]);
    }

    // Routing across nodes works again: calls to a routing point whose agents are all one node's
    // are answered whichever node Kamailio hashes them to (the other one redirects them).
    const cross = await Promise.all(
      [1, 2].map((k) =>
        runSipp({
          scenario: scenario('e2e-uac-customer-call.xml'),
          target: `127.0.0.1:${sipPort}`,
          service: NODE_ROUTING_POINT[k],
          calls: CROSS_CALLS,
          rate: 10,
          limit: CROSS_CALLS,
          pauseMs: TALK_MS,
          args: ['-cid_str', `cross-${k}-%u-%p@%s`, '-recv_timeout', '8000'],
          timeoutMs: 30_000,
        }),
      ),
    );
    const kamText = readFileSync(kamLog, 'utf8').slice(kamAt);
    const crossed = [1, 2].map(
      (k) => (kamText.match(new RegExp(`call cross-${k}-\\S+ redirected by `, 'g')) ?? []).length,
    );
    console.log(
      `restart: after Redis was back, ${CROSS_CALLS} calls to a routing point of node 1's agents and ${CROSS_CALLS} to one ` +
        `of node 2's agents: exit codes ${cross.map((r) => r.code).join(' / ')}, redirected to the other node ` +
        `${crossed.join(' / ')}`,
    );
    for (const [i, r] of cross.entries()) {
      expect(r.code, `calls to the agents of node ${i + 1}: ${r.errors.slice(0, 2000)}`).toBe(0);
      expect(crossed[i], `calls to the agents of node ${i + 1} redirected from the other node`).toBeGreaterThan(0);
    }

    // the window after it is back, then where the calls went
    await new Promise((r) => setTimeout(r, Math.max(0, redis.back + WINDOW_MS - Date.now())));
    expect(peer.running, peer.stderr).toBe(true);
    const during = establishedPerNode(seen, redis.killed, redis.back);
    const after = establishedPerNode(seen, redis.back);
    const redirectsAfter = (
      readFileSync(kamLog, 'utf8')
        .slice(kamAt)
        .match(/ redirected by /g) ?? []
    ).length;
    const routingLog = nodes.map((n) => {
      const text = nodeLog(n).slice(nodeLogAt.get(n.k)!);
      return {
        k: n.k,
        degraded: text.includes("routing: Redis unavailable, calls go to this node's agents only"),
        recovered: text.includes('routing: Redis is back, calls go to agents of every node again'),
        rewritten: text.includes('cluster: Redis is back, lease, agent logins and call records written again'),
      };
    });
    console.log(
      `restart: Redis killed, started again empty after ${seconds(redis.started - redis.killed)} s; back in Redis after the start: ` +
        `leases +${seconds(backAt.leases! - redis.started)} s, the softswitch's probe lease +${seconds(backAt.probe! - redis.started)} s, ${PHONES} bindings +${seconds(backAt.bindings! - redis.started)} s, ` +
        `${AGENTS} logins with their owners +${seconds(backAt.logins! - redis.started)} s`,
    );
    console.log(
      `restart: agent calls established per node while Redis was away or rebuilding ${[...during].map(([k, v]) => `node ${k} ${v}`).join(', ')}, ` +
        `in the ${WINDOW_MS / 1000} s after ${[...after].map(([k, v]) => `node ${k} ${v}`).join(', ')}; ` +
        `main load: Kamailio followed ${redirectsBefore} redirects before the kill, ${redirectsAfter - crossed[0]! - crossed[1]!} after the start; ` +
        routingLog.map((l) => `node ${l.k} routing degraded ${l.degraded} recovered ${l.recovered}`).join(', '),
    );
    for (const n of nodes) {
      expect(during.get(n.k) ?? 0, `calls to node ${n.k}'s agents while Redis was away`).toBeGreaterThan(0);
      expect(after.get(n.k) ?? 0, `calls to node ${n.k}'s agents after Redis came back`).toBeGreaterThan(0);
      expect(routingLog[n.k - 1]!.rewritten, `node ${n.k} rewrote its lease and logins`).toBe(true);
    }
  }, 60_000);

  it('calls answered at the offered rate before, during and after both outages; none failed', async () => {
    expect(load, 'the load of the previous tests runs').toBeDefined();
    const peer = load!.peer;
    // SIPp buffers its set-up times: they are all read once it has exited
    const stats = await load!.stop(20_000);
    load = undefined;
    const s = stats.samples;
    const p99 = (from: number, to: number): string => `${setupPercentile(s, 99, from, to)}`;
    const windows = [
      { what: 'PostgreSQL', before: pg.stopped - WINDOW_MS, down: pg.stopped, up: pg.back },
      { what: 'Redis', before: redis.killed - WINDOW_MS, down: redis.killed, up: redis.back },
    ];
    for (const w of windows) {
      const before = rateIn(s, w.before, w.down);
      const during = rateIn(s, w.down, w.up);
      const after = rateIn(s, w.up, w.up + WINDOW_MS);
      console.log(
        `restart: calls answered/s around the ${w.what} outage: ${before.toFixed(1)} in the ${WINDOW_MS / 1000} s before, ` +
          `${during.toFixed(1)} in the ${seconds(w.up - w.down)} s from the stop until the service was back, ` +
          `${after.toFixed(1)} in the ${WINDOW_MS / 1000} s after; set-up p99 ${p99(w.before, w.down)} / ` +
          `${p99(w.down, w.up)} / ${p99(w.up, w.up + WINDOW_MS)} ms`,
      );
      expect(before, `${w.what}: before`).toBeGreaterThanOrEqual(0.9 * RATE);
      expect(during, `${w.what}: during`).toBeGreaterThanOrEqual(0.9 * RATE);
      expect(after, `${w.what}: after`).toBeGreaterThanOrEqual(0.9 * RATE);
    }
    console.log(
      `restart: SIPp over the whole run: ${stats.ok} calls completed, ${stats.failed} failed ` +
        `(${RATE} calls/s offered, ${TALK_MS} ms of talk)`,
    );
    expect(stats.ok).toBeGreaterThan(0);
    expect(stats.failed, peer.errors()).toBe(0);
  }, 60_000);
});
