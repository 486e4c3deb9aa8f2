/**
 * Cluster benchmark (docs/cluster.md): basic calls (SIPp UAC → system → SIPp UAS on a DN with a
 * static contact) at a fixed rate against (a) one node directly and (b) three nodes behind
 * Kamailio, all started by `scripts/cluster-up.sh` (the build: `npm run build` first), in the
 * same run. Prints CPU time per call of each (the nodes' CPU, and Kamailio's), the ratio cluster /
 * single node (target ≤ 1.3), the calls each node took, and the scaling the per-node figures imply
 * when each node has a core of its own (target ≥ 2.5×): on a two-core machine three nodes,
 * Kamailio and SIPp cannot each have a core, so throughput itself is not compared.
 *
 * A warm-up of 10 s at each side's rate runs first: a node that handled fewer calls still runs part
 * of the call path unoptimised.
 * The reference is a server alone (`cluster-up.sh --nodes 1`, no Redis); the cluster shares its
 * state in Redis (`--redis local`: registrations, logins, leases, call records), so its CPU per
 * call counts the nodes, Kamailio and Redis. The two are measured in turn, `BENCH_CLUSTER_ROUNDS`
 * times, and the medians compared: one 10 s measurement of one process varies by ±20 % here.
 * Env: BENCH_CLUSTER_RATE (default 100 calls/s), BENCH_CLUSTER_SECONDS (default 10),
 * BENCH_CLUSTER_ROUNDS (default 5), BENCH_CLUSTER_SCALE (the cluster's rate over the single
 * server's, default 3: each node at the single server's rate). Also printed: each process's CPU with no calls (its timers:
 * leases, probes, renewals) and the CPU per call less that, which does not grow with the calls.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../test/helpers/paths.js';
import { freePort } from '../test/helpers/ports.js';
import { procCpuNs } from './helpers/proc-stats.js';
import { exited, percentile, runUacLoad } from './helpers/sipp-uac-load.js';

const run = promisify(execFile);
/**
 * Seconds of calls before the measurements, per process (the cluster's nodes take a third of the
 * calls each, so three times as long): the CPU per call still fell by a third from the 3rd to the
 * 30th second of calls here (V8 optimising the call path).
 */
const WARMUP_S = 10;
const UAC = join(repoRoot, 'test/integration/sipp/uac-basic-call.xml');
const UAS = join(repoRoot, 'test/integration/sipp/uas-answer.xml');

interface Node {
  sipPort: number;
  pid: number;
}

interface Measured {
  ok: number;
  failed: number;
  wallMs: number;
  p50: number;
  p99: number;
  /** CPU ms of each process measured, in the order given. */
  cpuMs: number[];
}

async function measure(
  target: string,
  rate: number,
  seconds: number,
  pids: Array<[number, boolean]>,
): Promise<Measured> {
  const cpu = (): number[] => pids.map(([pid, children]) => procCpuNs(pid, children) / 1e6);
  const before = cpu();
  const calls = Math.max(1, Math.round(rate * seconds));
  const r = await runUacLoad({
    scenario: UAC,
    target,
    service: '9000',
    rate,
    calls,
    limit: rate * 10,
    pauseMs: 100,
    timeoutMs: (seconds + 60) * 1000,
  });
  const after = cpu();
  return {
    ok: r.ok,
    failed: r.failed,
    wallMs: r.wallMs,
    p50: percentile(r.setupMs, 50),
    p99: percentile(r.setupMs, 99),
    cpuMs: after.map((a, i) => a - before[i]!),
  };
}

export default async function (): Promise<void> {
  const rate = Number(process.env.BENCH_CLUSTER_RATE ?? 100);
  const seconds = Number(process.env.BENCH_CLUSTER_SECONDS ?? 10);
  const rounds = Number(process.env.BENCH_CLUSTER_ROUNDS ?? 5);
  /**
   * The cluster's rate: each node takes its share of it. The CPU a call costs a node falls as its
   * rate grows (2.8 ms at 33 calls/s, 1.2 ms at 100 calls/s here: fixed costs of each wake-up), so
   * the nodes get the single server's rate each (`BENCH_CLUSTER_SCALE`, default 3 = the number of
   * nodes) and the figures compare like with like.
   */
  const clusterRate = rate * Number(process.env.BENCH_CLUSTER_SCALE ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const data = join(dir, 'data');
  const sipPort = await freePort();
  const uasPort = await freePort();
  /** The configuration with its front addresses (Kamailio's SIP, nginx's HTTP). */
  const yaml = async (front: number): Promise<string> =>
    [
      'server:',
      '  name: SIP_Server',
      '  sip:',
      `    listen: ["udp:127.0.0.1:${front}"]`,
      '  http:',
      `    listen: "127.0.0.1:${await freePort()}"`,
      '    admin-token: "bench-cluster-token"',
      'dns:',
      '  - number: Gateway', // the customers' side: 127.0.0.1 is a trusted source
      '    type: voip-service',
      '    options:',
      `      contact: "127.0.0.1:${await freePort()}"`,
      '      service-type: softswitch',
      '      prefix: "8"',
      '  - number: "9000"',
      '    type: extension',
      '    options:',
      `      contact: "127.0.0.1:${uasPort}"`,
      '',
    ].join('\n');
  const config = join(dir, 'cluster.yaml');
  writeFileSync(config, await yaml(sipPort));
  // The single server's own cluster-up needs front addresses of its own (unused).
  const singleConfig = join(dir, 'single.yaml');
  writeFileSync(singleConfig, await yaml(await freePort()));
  const uasDir = mkdtempSync(join(tmpdir(), 'bench-cluster-uas-'));
  const uas = spawn('sipp', ['-sf', UAS, '-i', '127.0.0.1', '-p', String(uasPort), '-nostdin', '-t', 'u1'], {
    cwd: uasDir,
    stdio: 'ignore',
  });
  const singleData = join(dir, 'single');
  try {
    // The reference: one server alone (no Redis). The cluster: three nodes sharing their state
    // in Redis (registrations, logins, call records), behind Kamailio.
    const alone = await run('bash', [
      join(repoRoot, 'scripts/cluster-up.sh'),
      ...['--nodes', '1', '--config', singleConfig, '--data', singleData],
    ]);
    const up = await run('bash', [
      join(repoRoot, 'scripts/cluster-up.sh'),
      ...['--nodes', '3', '--config', config, '--data', data, '--redis', 'local'],
    ]);
    const nodesOf = (out: string): Node[] =>
      [...out.matchAll(/^node \d+ sip udp:127\.0\.0\.1:(\d+) http \S+ pid (\d+)$/gm)].map((m) => ({
        sipPort: Number(m[1]),
        pid: Number(m[2]),
      }));
    const solo = nodesOf(alone.stdout)[0]!;
    const nodes = nodesOf(up.stdout);
    const kamailio = Number(readFileSync(join(data, 'kamailio/kamailio.pid'), 'utf8').trim());
    const redis = Number(readFileSync(join(data, 'redis/redis.pid'), 'utf8').trim());
    process.stdout.write(
      `cluster bench: basic calls (SDP, 100 ms hold, BYE), ${seconds} s each, ${rounds} rounds, each a single server ` +
        `alone at ${rate} calls/s then three nodes with Redis behind Kamailio at ${clusterRate} calls/s; medians\n`,
    );
    const single = `127.0.0.1:${solo.sipPort}`;
    const front = `127.0.0.1:${sipPort}`;
    // Warm-ups: every node handles as many calls as the single server before it is measured.
    await measure(single, rate, WARMUP_S, []);
    await measure(front, clusterRate, WARMUP_S, []);
    // Idle: what each process spends with no calls (timers: leases, probes, Redis renewals), ms a second.
    const idlePids: Array<[number, boolean]> = [
      [solo.pid, false],
      ...nodes.map((n): [number, boolean] => [n.pid, false]),
      [kamailio, true],
      [redis, false],
    ];
    const idle0 = idlePids.map(([pid, children]) => procCpuNs(pid, children));
    const idleT0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const idleS = (performance.now() - idleT0) / 1000;
    const idlePerS = idlePids.map(([pid, children], i) => (procCpuNs(pid, children) - idle0[i]!) / 1e6 / idleS);
    const soloIdle = idlePerS[0]!;
    const nodesIdle = idlePerS.slice(1, 1 + nodes.length).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `  idle CPU: single server ${soloIdle.toFixed(1)} ms/s; cluster nodes ${nodesIdle.toFixed(1)} ms/s together, ` +
        `Kamailio ${idlePerS[1 + nodes.length]!.toFixed(1)}, Redis ${idlePerS[2 + nodes.length]!.toFixed(1)} ms/s\n`,
    );
    const perCallOf = (ms: number, ok: number): number => ms / Math.max(1, ok);
    const rows: Array<{ one: number; nodes: number; kam: number; redis: number; split: number[]; failed: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const one = await measure(single, rate, seconds, [[solo.pid, false]]);
      const three = await measure(front, clusterRate, seconds, [
        ...nodes.map((n): [number, boolean] => [n.pid, false]),
        [kamailio, true],
        [redis, false],
      ]);
      const nodeCpu = three.cpuMs.slice(0, nodes.length);
      const nodesMs = nodeCpu.reduce((a, b) => a + b, 0);
      const row = {
        one: perCallOf(one.cpuMs[0]!, one.ok),
        nodes: perCallOf(nodesMs, three.ok),
        kam: perCallOf(three.cpuMs[nodes.length]!, three.ok),
        redis: perCallOf(three.cpuMs[nodes.length + 1]!, three.ok),
        split: nodeCpu.map((c) => (100 * c) / Math.max(1, nodesMs)),
        failed: one.failed + three.failed,
      };
      rows.push(row);
      process.stdout.write(
        `  round ${r + 1}: single ${row.one.toFixed(3)} ms/call (${one.ok} ok, ${one.failed} failed, p99 ${one.p99} ms); ` +
          `cluster nodes ${row.nodes.toFixed(3)} (split ${row.split.map((x) => `${x.toFixed(0)}%`).join(' / ')}), ` +
          `Kamailio ${row.kam.toFixed(3)}, Redis ${row.redis.toFixed(3)} ms/call (${three.ok} ok, ${three.failed} failed, p99 ${three.p99} ms)\n`,
      );
    }
    const med = (xs: number[]): number => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
    };
    const oneMs = med(rows.map((x) => x.one));
    const nodesMs = med(rows.map((x) => x.nodes));
    const kamMs = med(rows.map((x) => x.kam));
    const redisMs = med(rows.map((x) => x.redis));
    const ratioNodes = nodesMs / oneMs;
    const ratioAll = (nodesMs + kamMs + redisMs) / oneMs;
    process.stdout.write(
      `  CPU per call, single server ${oneMs.toFixed(3)} ms; cluster nodes ${nodesMs.toFixed(3)}, Kamailio ${kamMs.toFixed(3)}, Redis ${redisMs.toFixed(3)} ms\n` +
        `  CPU per call cluster / single server: nodes only ${ratioNodes.toFixed(2)}x, with Kamailio and Redis ${ratioAll.toFixed(2)}x ` +
        `(target <= 1.3x)${ratioAll <= 1.3 ? '' : '  ABOVE TARGET'}\n`,
    );
    // One core per node: each node's capacity is 1 s of CPU / its CPU per call (Kamailio and Redis on cores of their own).
    // Marginal CPU per call: less what the processes spend idle (it does not grow with the calls).
    const oneMarg = oneMs - soloIdle / rate;
    const nodesMarg = nodesMs - nodesIdle / clusterRate;
    process.stdout.write(
      `  marginal CPU per call (less idle): single server ${oneMarg.toFixed(3)} ms, cluster nodes ${nodesMarg.toFixed(3)} ms ` +
        `(${(nodesMarg / oneMarg).toFixed(2)}x)\n`,
    );
    const implied = (3 * oneMs) / nodesMs;
    const singleCap = 1000 / oneMs;
    process.stdout.write(
      `  implied throughput with a core per process: 1 node ${singleCap.toFixed(0)} calls/s, 3 nodes ${(implied * singleCap).toFixed(0)} calls/s ` +
        `(${implied.toFixed(2)}x, target >= 2.5x${implied >= 2.5 ? '' : '  BELOW TARGET'}), Kamailio alone ${(1000 / kamMs).toFixed(0)} calls/s, ` +
        `Redis alone ${(1000 / Math.max(redisMs, 1e-6)).toFixed(0)} calls/s\n`,
    );
  } finally {
    await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data]).catch(() => undefined);
    await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', singleData]).catch(() => undefined);
    uas.kill('SIGKILL');
    await exited(uas, 5000);
    rmSync(uasDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
