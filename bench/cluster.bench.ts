/**
 * Cluster benchmark (docs/cluster.md): basic calls (SIPp UAC → system → SIPp UAS on a DN with a
 * static contact) at a fixed rate against (a) one node directly and (b) three nodes behind
 * Kamailio, all started by `scripts/cluster-up.sh` (the build: `npm run build` first), in the
 * same run. Prints CPU time per call of each (the nodes' CPU, and Kamailio's), the ratio cluster /
 * single node (target ≤ 1.3), the calls each node took, and the scaling the per-node figures imply
 * when each node has a core of its own (target ≥ 2.5×): on a two-core machine three nodes,
 * Kamailio and SIPp cannot each have a core, so throughput itself is not compared.
 *
 * A warm-up runs before each measured phase so that every node handled as many calls as the single
 * node before it is measured (3 s for the single node, 3 s per node for the cluster): a node that
 * handled fewer still runs part of the call path unoptimised.
 * Env: BENCH_CLUSTER_RATE (default 100 calls/s), BENCH_CLUSTER_SECONDS (default 10).
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

const perCall = (ms: number, calls: number): string => (calls > 0 ? (ms / calls).toFixed(3) : 'n/a');

export default async function (): Promise<void> {
  const rate = Number(process.env.BENCH_CLUSTER_RATE ?? 100);
  const seconds = Number(process.env.BENCH_CLUSTER_SECONDS ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const data = join(dir, 'data');
  const sipPort = await freePort();
  const uasPort = await freePort();
  const config = join(dir, 'cluster.yaml');
  writeFileSync(
    config,
    [
      'server:',
      '  name: SIP_Server',
      '  sip:',
      `    listen: ["udp:127.0.0.1:${sipPort}"]`,
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
    ].join('\n'),
  );
  const uasDir = mkdtempSync(join(tmpdir(), 'bench-cluster-uas-'));
  const uas = spawn('sipp', ['-sf', UAS, '-i', '127.0.0.1', '-p', String(uasPort), '-nostdin', '-t', 'u1'], {
    cwd: uasDir,
    stdio: 'ignore',
  });
  try {
    const up = await run('bash', [
      join(repoRoot, 'scripts/cluster-up.sh'),
      '--nodes',
      '3',
      '--config',
      config,
      '--data',
      data,
    ]);
    const nodes: Node[] = [...up.stdout.matchAll(/^node \d+ sip udp:127\.0\.0\.1:(\d+) http \S+ pid (\d+)$/gm)].map(
      (m) => ({ sipPort: Number(m[1]), pid: Number(m[2]) }),
    );
    const kamailio = Number(readFileSync(join(data, 'kamailio/kamailio.pid'), 'utf8').trim());
    process.stdout.write(`cluster bench: ${rate} calls/s x ${seconds} s (basic call, SDP, 100 ms hold, BYE)\n`);

    const single = `127.0.0.1:${nodes[0]!.sipPort}`;
    await measure(single, rate, 3, []);
    const one = await measure(single, rate, seconds, [[nodes[0]!.pid, false]]);
    const oneCpu = one.cpuMs[0]!;
    process.stdout.write(
      `  1 node, direct:          ${one.ok} ok, ${one.failed} failed, node CPU ${perCall(oneCpu, one.ok)} ms/call, ` +
        `setup p50 ${one.p50} ms p99 ${one.p99} ms\n`,
    );

    const front = `127.0.0.1:${sipPort}`;
    // Each node gets a third of the load: three times the warm-up gives each the single node's JIT warm-up.
    await measure(front, rate, 3 * nodes.length, []);
    const three = await measure(front, rate, seconds, [
      ...nodes.map((n): [number, boolean] => [n.pid, false]),
      [kamailio, true],
    ]);
    const nodeCpu = three.cpuMs.slice(0, nodes.length);
    const nodesMs = nodeCpu.reduce((a, b) => a + b, 0);
    const kamMs = three.cpuMs[nodes.length]!;
    process.stdout.write(
      `  3 nodes behind Kamailio: ${three.ok} ok, ${three.failed} failed, nodes CPU ${perCall(nodesMs, three.ok)} ms/call ` +
        `(split ${nodeCpu.map((c) => `${((100 * c) / nodesMs).toFixed(0)}%`).join(' / ')}), Kamailio ${perCall(kamMs, three.ok)} ms/call, ` +
        `setup p50 ${three.p50} ms p99 ${three.p99} ms\n`,
    );
    const ratioNodes = nodesMs / three.ok / (oneCpu / one.ok);
    const ratioAll = (nodesMs + kamMs) / three.ok / (oneCpu / one.ok);
    process.stdout.write(
      `  CPU per call cluster / single node: nodes only ${ratioNodes.toFixed(2)}x, with Kamailio ${ratioAll.toFixed(2)}x ` +
        `(target <= 1.3x)${ratioAll <= 1.3 ? '' : '  ABOVE TARGET'}\n`,
    );
    // One core per node: each node's capacity is 1 s of CPU / its CPU per call; Kamailio on a core of its own.
    const implied = (3 * (oneCpu / one.ok)) / (nodesMs / three.ok);
    const kamCap = kamMs > 0 ? 1000 / (kamMs / three.ok) : Infinity;
    const singleCap = 1000 / (oneCpu / one.ok);
    process.stdout.write(
      `  implied throughput with a core per process: 1 node ${singleCap.toFixed(0)} calls/s, 3 nodes ${(implied * singleCap).toFixed(0)} calls/s ` +
        `(${implied.toFixed(2)}x, target >= 2.5x${implied >= 2.5 ? '' : '  BELOW TARGET'}), Kamailio alone ${kamCap.toFixed(0)} calls/s\n`,
    );
  } finally {
    await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data]).catch(() => undefined);
    uas.kill('SIGKILL');
    await exited(uas, 5000);
    rmSync(uasDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
