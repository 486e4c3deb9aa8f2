/**
 * Call benchmark: customer (SIPp UAC) → system under test → callee (SIPp UAS), basic calls at a
 * fixed rate. Systems: our B2BUA (in this process, callee behind a softswitch DN, every new INVITE
 * through the trust policy: the customer sends from the softswitch's address) and Kamailio
 * proxying statefully (`bench/anchors/kamailio/proxy.cfg`, 127.0.0.1:5070 → 127.0.0.1:5090),
 * measured in the same run. Prints CPU time per call (ours vs Kamailio, target ≤ 3×), failed
 * calls and p50/p99 call-setup time (INVITE → 200, SIPp `-trace_rtt`), and after each phase
 * the transactions still waiting out their timers and the heap (as is, and live after a full GC).
 *
 * A 3 s warm-up through our server runs first and is not measured (JIT).
 * Env: BENCH_CALL_RATE (default 100), BENCH_CALL_SECONDS (default 20), BENCH_CALL_RATE2 (300),
 * BENCH_CALL_SECONDS2 (20; 0 skips the second phase).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import { repoRoot } from '../test/helpers/paths.js';
import { softswitchYaml, startCallServer } from '../test/integration/call-harness.js';
import { gc } from './helpers/gc.js';
import { procCpuNs } from './helpers/proc-stats.js';
import { exited, percentile, runUacLoad } from './helpers/sipp-uac-load.js';

const UAC = join(repoRoot, 'test/integration/sipp/uac-basic-call.xml');
const UAS = join(repoRoot, 'test/integration/sipp/uas-answer.xml');
const KAMAILIO_CFG = join(repoRoot, 'bench/anchors/kamailio/proxy.cfg');

interface PhaseResult {
  calls: number;
  ok: number;
  failed: number;
  cpuMs: number;
  wallMs: number;
  p50: number;
  p99: number;
}

function wait(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One load phase against `target`, callee SIPp on `uasPort`; `cpu` samples the SUT's CPU ms. */
async function phase(
  target: string,
  uasPort: number,
  number: string,
  rate: number,
  seconds: number,
  cpu: () => number,
): Promise<PhaseResult> {
  const calls = Math.max(1, Math.round(rate * seconds));
  const dir = mkdtempSync(join(tmpdir(), 'bench-call-'));
  const common = ['-i', '127.0.0.1', '-nostdin', '-t', 'u1'];
  const uas = spawn('sipp', ['-sf', UAS, ...common, '-p', String(uasPort), '-m', String(calls), target], {
    cwd: dir,
    stdio: 'ignore',
  });
  await wait(300);
  const cpu0 = cpu();
  const r = await runUacLoad({
    scenario: UAC,
    target,
    service: number,
    rate,
    calls,
    limit: rate * 10,
    pauseMs: 100,
    timeoutMs: (seconds + 60) * 1000,
  });
  const cpuMs = cpu() - cpu0;
  await exited(uas, 5000);
  if (uas.exitCode === null) uas.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  return {
    calls,
    ok: r.ok,
    failed: r.failed,
    cpuMs,
    wallMs: r.wallMs,
    p50: percentile(r.setupMs, 50),
    p99: percentile(r.setupMs, 99),
  };
}

async function startKamailio(): Promise<{ pid: number; stop: () => Promise<void> }> {
  const run = mkdtempSync(join(tmpdir(), 'bench-kam-'));
  const k = spawn('kamailio', ['-f', KAMAILIO_CFG, '-D', '-E', '-Y', run], { stdio: 'ignore' });
  await wait(1500);
  if (k.exitCode !== null || !k.pid) throw new Error('kamailio did not start (port 5070 busy?)');
  const pid = k.pid;
  return {
    pid,
    async stop() {
      k.kill('SIGTERM');
      await exited(k, 5000);
      rmSync(run, { recursive: true, force: true });
    },
  };
}

function line(name: string, r: PhaseResult): string {
  const perCall = r.ok > 0 ? (r.cpuMs / r.ok).toFixed(3) : 'n/a';
  return `  ${name.padEnd(9)} calls ${r.ok}/${r.calls} ok, failed ${r.failed}, CPU ${r.cpuMs.toFixed(0)} ms = ${perCall} ms/call, setup p50 ${r.p50} ms p99 ${r.p99} ms, wall ${(r.wallMs / 1000).toFixed(1)} s`;
}

export default async function (): Promise<void> {
  if (!existsSync(KAMAILIO_CFG)) throw new Error(`missing ${KAMAILIO_CFG}`);
  const phases: Array<{ rate: number; seconds: number }> = [
    { rate: Number(process.env.BENCH_CALL_RATE ?? 100), seconds: Number(process.env.BENCH_CALL_SECONDS ?? 20) },
    { rate: Number(process.env.BENCH_CALL_RATE2 ?? 300), seconds: Number(process.env.BENCH_CALL_SECONDS2 ?? 20) },
  ];
  const uasPort = await freePort();
  const server = await startCallServer(softswitchYaml(uasPort), { trust: true });
  const kam = await startKamailio();
  const ourCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const kamCpu = () => procCpuNs(kam.pid, true) / 1e6;
  try {
    // Warm-up (not measured): JIT-compile our code paths so the figures show the steady state.
    await phase(`127.0.0.1:${server.port}`, uasPort, '9000', phases[0]!.rate, 3, ourCpu);
    for (const [i, p] of phases.entries()) {
      if (p.seconds <= 0) continue;
      process.stdout.write(`call bench: ${p.rate} cps x ${p.seconds} s (basic call, SDP, 100 ms hold, BYE)\n`);
      const kr = await phase('127.0.0.1:5070', 5090, '9000', p.rate, p.seconds, kamCpu);
      process.stdout.write(line('kamailio', kr) + '\n');
      const or = await phase(`127.0.0.1:${server.port}`, uasPort, '9000', p.rate, p.seconds, ourCpu);
      process.stdout.write(line('sipserver', or) + '\n');
      const tx = server.stack.transactionCount;
      const mem = process.memoryUsage();
      gc();
      const live = process.memoryUsage();
      process.stdout.write(
        `  sipserver after the phase: ${server.b2bua.activeCalls} calls, ${server.ua.size} dialogs, ${tx.server}+${tx.client} transactions, ` +
          `heap ${(mem.heapUsed / 1e6).toFixed(0)} MB, after a full GC ${(live.heapUsed / 1e6).toFixed(0)} MB + ${(live.arrayBuffers / 1e6).toFixed(0)} MB buffers, RSS ${(live.rss / 1e6).toFixed(0)} MB\n`,
      );
      const ratio = or.ok > 0 && kr.ok > 0 ? or.cpuMs / or.ok / (kr.cpuMs / kr.ok) : NaN;
      process.stdout.write(
        `  ratio CPU/call sipserver/kamailio = ${ratio.toFixed(2)}x (target <= 3x)${ratio <= 3 ? '' : '  ABOVE TARGET'}\n`,
      );
      const keptUp = or.failed === 0 && or.wallMs < p.seconds * 1000 * 1.5 + 5000;
      if (i === 0 && !keptUp) {
        process.stdout.write('  sipserver did not keep up at the first rate: second phase skipped\n');
        break;
      }
    }
  } finally {
    await kam.stop();
    await server.stop();
  }
}
