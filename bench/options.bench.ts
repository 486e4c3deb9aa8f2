/**
 * OPTIONS benchmark (transport/transaction/UAS core): CPU time per OPTIONS transaction of our
 * server process (`sipserver start`, UDP) under SIPp load, against Kamailio answering OPTIONS
 * statelessly (`bench/anchors/kamailio/options.cfg`), measured in the same run.
 *
 * CPU = growth of utime + stime (/proc/PID/stat) over a fixed number of transactions at a fixed
 * rate; for Kamailio, summed over all its processes. The window closes 3 s after SIPp ends, so
 * deferred work (GC, timers) triggered by the load is counted too. The core answers OPTIONS
 * statelessly (RFC 3261 §8.2.7), as the Kamailio anchor does (sl_send_reply).
 *
 * Servers on CPU 0 and SIPp on CPU 1 when possible (`OPTIONS_BENCH_PIN=0`: the kernel places them).
 *
 * Run alone: `npx tsx bench/run.ts options`. OPTIONS_BENCH_N / OPTIONS_BENCH_RATE override the load.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { freePort } from '../test/helpers/ports.js';
import { runSipp } from '../test/helpers/sipp.js';
import { placement } from './helpers/placement.js';
import { procCpuNs } from './helpers/proc-stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const N = Number(process.env.OPTIONS_BENCH_N ?? 20_000);
const RATE = Number(process.env.OPTIONS_BENCH_RATE ?? 2000);
/** Servers on CPU 0, SIPp on CPU 1 (`OPTIONS_BENCH_PIN=0`: the kernel places them); see bench/helpers/placement.ts. */
const PLACE = placement(process.env.OPTIONS_BENCH_PIN !== '0', 'OPTIONS_BENCH_PIN=0');

function waitForOutput(child: ChildProcess, re: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}: ${seen.slice(-500)}`)), ms);
    const on = (b: Buffer): void => {
      seen += b.toString();
      if (re.test(seen)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

/** Drive `n` OPTIONS at `rate`/s at `port`; returns CPU ms of `pid`'s tree, read after `settleMs`. */
async function measure(
  pid: number,
  port: number,
  n: number,
  settleMs: number,
): Promise<{ cpuMs: number; failed: boolean }> {
  const scenario = join(repo, 'test/integration/sipp/uac-options-load.xml');
  // Warm-up (JIT, pools), not measured.
  await runSipp({
    scenario,
    target: `127.0.0.1:${port}`,
    calls: Math.min(2000, n),
    rate: RATE,
    limit: 5000,
    timeoutMs: 60_000,
    cpu: PLACE.cpu('load'),
  });
  await new Promise((r) => setTimeout(r, settleMs));
  const before = procCpuNs(pid, true);
  const r = await runSipp({
    scenario,
    target: `127.0.0.1:${port}`,
    calls: n,
    rate: RATE,
    limit: 5000,
    timeoutMs: 120_000,
    cpu: PLACE.cpu('load'),
  });
  await new Promise((res) => setTimeout(res, settleMs));
  const after = procCpuNs(pid, true);
  return { cpuMs: (after - before) / 1e6, failed: r.code !== 0 };
}

export default async function (): Promise<void> {
  // --- ours ---
  const ourPort = await freePort();
  const compiled = join(repo, 'dist/cli/main.js');
  const args = existsSync(compiled) ? [compiled] : ['--import', 'tsx', join(repo, 'src/cli/main.ts')];
  const dataDir = mkdtempSync(join(tmpdir(), 'options-bench-data-'));
  // SIPp sends from 127.0.0.1, the address of a softswitch: a trusted peer, exempt from the
  // per-source flood limit, which stays on with its default (docs/security.md), so its check is
  // part of what is measured. No oos-check: the softswitch is never probed.
  const config = join(dataDir, 'bench.yaml');
  writeFileSync(
    config,
    [
      'server:',
      '  name: Options_Bench',
      'dns:',
      '  - number: Softswitch',
      '    type: voip-service',
      '    options: { contact: "127.0.0.1:9", service-type: softswitch, prefix: "9" }',
      '',
    ].join('\n'),
  );
  const ours = PLACE.spawn(
    'server',
    process.execPath,
    [
      ...SERVER_NODE_FLAGS,
      ...args,
      'start',
      '--config',
      config,
      '--sip-listen',
      `udp:127.0.0.1:${ourPort}`,
      '--data',
      dataDir,
      '--http-listen',
      '127.0.0.1:0',
    ],
    {
      cwd: repo,
      env: { ...process.env, SIPSERVER_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let oursResult: { cpuMs: number; failed: boolean };
  try {
    await waitForOutput(ours, /SIP listening on udp:/, 20_000);
    oursResult = await measure(ours.pid!, ourPort, N, 3000);
  } finally {
    await stop(ours);
    rmSync(dataDir, { recursive: true, force: true });
  }

  // --- Kamailio ---
  const kamPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kam-options-'));
  const cfg = readFileSync(join(here, 'anchors/kamailio/options.cfg'), 'utf8').replace(
    /listen=udp:127\.0\.0\.1:\d+/,
    `listen=udp:127.0.0.1:${kamPort}`,
  );
  writeFileSync(join(dir, 'options.cfg'), cfg);
  const kam = PLACE.spawn('server', 'kamailio', ['-f', join(dir, 'options.cfg'), '-D', '-E', '-w', dir, '-Y', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let kamResult: { cpuMs: number; failed: boolean };
  try {
    await new Promise((r) => setTimeout(r, 1500));
    if (kam.exitCode !== null) throw new Error('kamailio did not start');
    kamResult = await measure(kam.pid!, kamPort, N, 3000);
  } finally {
    await stop(kam);
    rmSync(dir, { recursive: true, force: true });
  }

  const oursUs = (oursResult.cpuMs * 1000) / N;
  const kamUs = (kamResult.cpuMs * 1000) / N;
  const ratio = oursUs / kamUs;
  process.stdout.write(`options: ${N} OPTIONS over UDP at ${RATE}/s (SIPp), CPU per transaction; ${PLACE.line()}`);
  process.stdout.write(
    `options: ours     ${oursUs.toFixed(1)} µs${oursResult.failed ? ' (SIPp reported failed calls)' : ''}\n`,
  );
  process.stdout.write(
    `options: kamailio ${kamUs.toFixed(1)} µs${kamResult.failed ? ' (SIPp reported failed calls)' : ''}\n`,
  );
  process.stdout.write(
    `options: ratio ours/kamailio ${ratio.toFixed(2)} (target <= 2.00) ${ratio <= 2 ? 'OK' : 'ABOVE TARGET'}\n`,
  );
}
