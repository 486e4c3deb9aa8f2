/**
 * Registrar benchmark (issue "Registrar, reachability and softswitch health"), three parts:
 * - `cpu`: REGISTER with digest authentication under SIPp load, CPU time per registration of our
 *   server process against Kamailio (`bench/anchors/kamailio/registrar.cfg`) in the same run
 *   (target ≤ 2×);
 * - `memory`: heap per binding with 100,000 bindings (target < 2 KB);
 * - `prober`: 5,000 softswitches probed at oos-check = 10 by an in-process OPTIONS peer,
 *   event-loop delay (target p99 < 10 ms).
 *
 * Part `cpu`: our server is a child process running what `sipserver start` runs for REGISTER
 * (bench/helpers/register-server.ts). Both servers get a trickle of registrations all along and an
 * unmeasured warm-up, then are loaded one after the other, 6,000 registrations at 600/s each, for
 * each of the rounds (bench/helpers/register-load.ts). CPU time is the scheduler's runtime of every
 * thread (schedstat, ns). It prints each server's lowest round, the per-round ratios and their
 * median: this VM drifts between minutes, so the ratio within a round is what holds. Each round
 * also says what V8 compiled in our server during it; the rounds with no compilation are
 * summarised apart. Servers run on CPU 0 and every SIPp on CPU 1 when the machine has two CPUs
 * and `taskset` (bench/helpers/placement.ts), as on a real site where the phones are other machines.
 *
 * `npx tsx bench/run.ts register`; environment: REGISTER_BENCH_PARTS (comma list, default
 * `cpu,memory,prober`), REGISTER_BENCH_ROUNDS (default 5), REGISTER_BENCH_PIN=0 (let the kernel
 * place the processes). To tell whether a change to our server pays, compare two checkouts with
 * bench/tools/ab.ts rather than two runs of this bench.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/config/config-store.js';
import { createReachability } from '../src/reachability/reachability-module.js';
import type { OptionsSender } from '../src/reachability/options-sender.js';
import { AuthFailureLimiter } from '../src/registrar/auth-failure-limiter.js';
import { BindingTable } from '../src/registrar/binding-table.js';
import { RegisterProcessor } from '../src/registrar/register-processor.js';
import { DigestServer } from '../src/sip/auth/digest-server.js';
import { parseNameAddr, parseUri } from '../src/sip/message/index.js';
import { systemClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/logger.js';
import { freePort } from '../test/helpers/ports.js';
import { gc } from './helpers/gc.js';
import { placement } from './helpers/placement.js';
import { RATE, measure, medianOf, startServer, startTrickle, stop, warmUp } from './helpers/register-load.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Math.max(1, Number(process.env.REGISTER_BENCH_ROUNDS ?? 5));
/** Registrations per measured run. */
const REGISTRATIONS = 6000;
/** Servers on CPU 0, every SIPp on CPU 1 (`REGISTER_BENCH_PIN=0`: the kernel places them). */
const PLACE = placement(process.env.REGISTER_BENCH_PIN !== '0', 'REGISTER_BENCH_PIN=0');

async function partCpu(): Promise<void> {
  process.stdout.write(PLACE.line());
  const data = mkdtempSync(join(tmpdir(), 'regbench-data-'));
  const kdir = mkdtempSync(join(tmpdir(), 'regbench-kam-'));
  const kport = await freePort();
  const kcfg = join(kdir, 'registrar.cfg');
  writeFileSync(
    kcfg,
    readFileSync(join(here, 'anchors/kamailio/registrar.cfg'), 'utf8').replace(
      'udp:127.0.0.1:5074',
      `udp:127.0.0.1:${kport}`,
    ),
  );
  const kam = PLACE.spawn('server', 'kamailio', ['-f', kcfg, '-D', '-E', '-w', kdir], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const background: ChildProcess[] = [];
  let ours: ChildProcess | undefined;
  try {
    const server = await startServer(PLACE, { data });
    ours = server.child;
    await new Promise((r) => setTimeout(r, 1500)); // let Kamailio fork its children
    if (kam.exitCode !== null) throw new Error('kamailio did not start');
    // The trickle starts first, so that neither server idles while the other warms up.
    const seconds = Math.ceil(ROUNDS * 2 * (REGISTRATIONS / RATE + 10) + 120);
    for (const port of [server.port, kport]) background.push(startTrickle(PLACE, port, seconds));
    await warmUp(PLACE, server.port);
    await warmUp(PLACE, kport);
    let tOurs = Infinity;
    let tKam = Infinity;
    const ratios: number[] = [];
    /** Rounds in which V8 compiled nothing in our server (steady-state code throughout). */
    const quiet: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const o = await measure(PLACE, 'sipserver', REGISTRATIONS, ours.pid!, server.port, server.jit);
      const k = await measure(PLACE, 'kamailio ', REGISTRATIONS, kam.pid!, kport);
      tOurs = Math.min(tOurs, o.ms);
      tKam = Math.min(tKam, k.ms);
      ratios.push(o.ms / Math.max(1e-3, k.ms));
      if (o.jitEvents === 0) quiet.push(o.ms / Math.max(1e-3, k.ms));
    }
    const list = (rs: number[]): string => rs.map((r) => r.toFixed(2)).join(', ');
    process.stdout.write(
      `lowest of ${ROUNDS} rounds: sipserver ${tOurs.toFixed(1)}, kamailio ${tKam.toFixed(1)} ms of CPU\n`,
    );
    process.stdout.write(
      `per-round ratios (sipserver / kamailio, measured back to back): ${list(ratios)}; median ${medianOf(ratios).toFixed(2)}\n`,
    );
    process.stdout.write(
      `rounds in which V8 compiled nothing in our server: ${quiet.length} of ${ROUNDS}` +
        (quiet.length > 0 ? `, their ratios ${list(quiet)} (median ${medianOf(quiet).toFixed(2)})` : '') +
        '\n',
    );
    const ratio = tOurs / Math.max(1e-3, tKam);
    process.stdout.write(
      `CPU per registration: sipserver ${((tOurs * 1000) / REGISTRATIONS).toFixed(1)} µs, kamailio ${((tKam * 1000) / REGISTRATIONS).toFixed(1)} µs, ` +
        `ratio ${ratio.toFixed(2)} (target ≤ 2) ${ratio <= 2 ? 'OK' : 'OVER TARGET'}\n`,
    );
  } finally {
    for (const b of background) await stop(b);
    if (ours) await stop(ours);
    await stop(kam);
    rmSync(data, { recursive: true, force: true });
    rmSync(kdir, { recursive: true, force: true });
  }
}

async function partMemory(): Promise<void> {
  const N = 100_000;
  const table = new BindingTable(systemClock);
  const directory = { findRegisteringDn: (u: string) => ({ dn: u }) };
  const processor = new RegisterProcessor(
    table,
    directory,
    new DigestServer({ clock: systemClock }),
    new AuthFailureLimiter({ clock: systemClock }),
    systemClock,
    silentLogger,
    { maxExpires: 3600 },
  );
  // Inputs are built and dropped one at a time; only the bindings stay.
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < N; i++) {
    const user = String(1_000_000 + i);
    const port = 10_000 + (i % 50_000);
    processor.process({
      toUri: parseUri(`sip:${user}@127.0.0.1`),
      callId: `${i}-a84b4c76e66710@192.0.2.4`,
      cseq: 1,
      contactStar: false,
      contacts: [parseNameAddr(`<sip:${user}@127.0.0.${1 + (i % 200)}:${port};transport=udp>;expires=3600`)],
      credentials: [],
      source: { transport: 'udp', host: `127.0.0.${1 + (i % 200)}`, port },
      userAgent: 'Yealink SIP-T46S 66.86.0.15',
    });
  }
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const per = (after - before) / N;
  process.stdout.write(
    `memory: ${table.size} bindings, heap +${((after - before) / 1048576).toFixed(1)} MiB, ${per.toFixed(0)} bytes per binding (target < 2048) ${per < 2048 ? 'OK' : 'OVER TARGET'}\n`,
  );
  table.close();
}

async function partProber(): Promise<void> {
  const N = 5000;
  const SECONDS = 25;
  const dir = mkdtempSync(join(tmpdir(), 'regbench-oos-'));
  const store = openStore(dir);
  const changes = [];
  for (let i = 0; i < N; i++) {
    changes.push({
      op: 'put' as const,
      kind: 'dn' as const,
      key: `SS${i}`,
      value: {
        type: 'voip-service',
        options: {
          contact: `127.0.0.1:${20_000 + (i % 20_000)}`,
          'service-type': 'softswitch',
          prefix: `+1${String(i).padStart(4, '0')}`,
          'oos-check': '10',
          'oos-force': '2',
        },
      },
    });
  }
  store.apply(changes);
  let answered = 0;
  // In-process peer: answers 200 on the next turn of the event loop, like a loopback round trip.
  const sender: OptionsSender = {
    send: () =>
      new Promise((resolve) =>
        setImmediate(() => {
          answered++;
          resolve({ kind: 'final', status: 200 });
        }),
      ),
  };
  const h = monitorEventLoopDelay({ resolution: 1 });
  const reach = createReachability({
    store,
    registrations: { get: () => [] },
    clock: systemClock,
    logger: silentLogger,
    sender,
  });
  h.enable();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  h.disable();
  const inService = reach.devices().filter((d) => d.state === 'in-service').length;
  reach.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  const ms = (ns: number): string => (ns / 1e6).toFixed(2);
  process.stdout.write(
    `prober: ${N} softswitches, oos-check 10, ${SECONDS} s: ${answered} probes (${(answered / SECONDS).toFixed(0)}/s), ${inService} in service; ` +
      `event-loop delay p50 ${ms(h.percentile(50))} ms, p99 ${ms(h.percentile(99))} ms, max ${ms(h.max)} ms (target < 10 ms) ${h.percentile(99) < 10e6 ? 'OK' : 'OVER TARGET'}\n`,
  );
}

/** Entry point for bench/run.ts. */
export default async function (): Promise<void> {
  const parts = (process.env.REGISTER_BENCH_PARTS ?? 'cpu,memory,prober').split(',');
  if (parts.includes('cpu')) await partCpu();
  if (parts.includes('memory')) await partMemory();
  if (parts.includes('prober')) await partProber();
}
