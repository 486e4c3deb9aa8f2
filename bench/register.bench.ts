/**
 * Registrar benchmark (issue "Registrar, reachability and softswitch health"):
 * 1. REGISTER with digest authentication under SIPp load: CPU time per registration of our
 *    server process against Kamailio (`../shared/anchors/kamailio/registrar.cfg`) in the same run.
 * 2. Memory of 100,000 bindings (target < 2 KB each).
 * 3. 5,000 softswitches probed at oos-check = 10 (in-process OPTIONS peer): event-loop lag.
 * 4. The registrar + digest path alone, in process (no SIP stack, no sockets): CPU per
 *    registration, so that the share of the SIP stack in part 1 can be told apart.
 *
 * Part 1 alternates the servers for `REGISTER_BENCH_ROUNDS` rounds (default 5): ours, Kamailio,
 * our stack with a trivial handler ("stack only") and a bare `node:dgram` responder ("node
 * floor": what Node itself costs per datagram here), the servers on CPU 0 and SIPp on CPU 1
 * (see {@link PLACE}). CPU time is the scheduler's runtime of
 * every thread (schedstat, ns), not 10 ms ticks. It prints each one's lowest figure, the
 * per-round ratios and their median: the machine is shared and drifts between minutes (this
 * VM's Kamailio figure alone swings 300 – 600 ms). `REGISTER_BENCH_PARALLEL=1` loads ours and
 * Kamailio in the same 10 s. Each round also says what V8 compiled in our Node children during
 * it: during half a minute without traffic (while the other servers are measured) V8's memory
 * reducer may run, and the next round then re-optimises the hot path; the rounds with no compilation are
 * summarised apart (the steady state of a server that never goes idle).
 *
 * Run alone: `npx tsx bench/run.ts register` (`REGISTER_BENCH_PARTS=cpu` for part 1 only). The same file is the server child of part 1 when
 * started with REGISTER_BENCH_CHILD=1.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { loadConfigFile } from '../src/config/config-file.js';
import { openStore } from '../src/config/config-store.js';
import { wireRegistrarAndReachability } from '../src/reachability/reachability-module.js';
import { createReachability } from '../src/reachability/reachability-module.js';
import type { OptionsSender } from '../src/reachability/options-sender.js';
import { AuthFailureLimiter } from '../src/registrar/auth-failure-limiter.js';
import { BindingTable } from '../src/registrar/binding-table.js';
import { RegisterProcessor } from '../src/registrar/register-processor.js';
import { registerInputFromRequest } from '../src/registrar/register-input.js';
import { DigestClient } from '../src/sip/auth/digest-client.js';
import { DigestServer } from '../src/sip/auth/digest-server.js';
import { parseMessage, parseNameAddr, parseUri, parseVia } from '../src/sip/message/index.js';
import type { SipRequest } from '../src/sip/message/types.js';
import { SipStack } from '../src/sip/stack/sip-stack.js';
import { systemClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/logger.js';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { freePort } from '../test/helpers/ports.js';
import { placement } from './helpers/placement.js';
import { procCpuNs } from './helpers/proc-stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const shared = process.env.SIPSERVER_SHARED ?? join(repo, '../shared');
const REGISTRATIONS = Number(process.env.REGISTER_BENCH_N ?? 6000);
const RATE = Number(process.env.REGISTER_BENCH_RATE ?? 600);
const ROUNDS = Math.max(1, Number(process.env.REGISTER_BENCH_ROUNDS ?? 5));
const PARALLEL = process.env.REGISTER_BENCH_PARALLEL === '1';
/**
 * Unmeasured registrations first, for each server: the steady state of a long-running server.
 * V8 still optimises (and deoptimises and optimises again) during the first 20,000 or so
 * registrations of a fresh process (seen with `--trace-opt --trace-deopt`: 22 optimisations and
 * 9 deoptimisations between the 6,000th and the 12,000th, a few more up to the 24,000th, none
 * after); each round prints what the JIT did during it, so a round that still includes
 * compilation shows.
 */
const WARMUP = Number(process.env.REGISTER_BENCH_WARMUP ?? 24_000);
/** Rate of the warm-up run (registrations per second). */
const WARMUP_RATE = Number(process.env.REGISTER_BENCH_WARMUP_RATE ?? 2000);
/**
 * Registrations per second every server gets all along, between and during its measured runs
 * (0: none). A registrar in service is never idle for half a minute; without this, our server
 * idles while the others are measured, V8's memory reducer may run meanwhile, and the next round
 * then re-optimises the hot path. The same trickle reaches Kamailio, and adds the same ~1.7 %
 * of registrations to both measured windows.
 */
const TRICKLE = Number(process.env.REGISTER_BENCH_TRICKLE ?? 10);

/**
 * What V8 compiled in a Node child: its `--trace-opt --trace-deopt` lines counted as they come
 * (the listener also keeps the child's stdout drained).
 */
class JitEvents {
  optimised = 0;
  deoptimised = 0;
  private tail = '';
  constructor(child: ChildProcess) {
    child.stderr?.resume();
    child.stdout?.on('data', (b: Buffer) => {
      const text = this.tail + b.toString('latin1');
      const lines = text.split('\n');
      this.tail = lines.pop() ?? '';
      for (const l of lines) {
        if (l.startsWith('[completed optimizing')) this.optimised++;
        else if (l.startsWith('[bailout') || (l.startsWith('[marking dependent code') && l.includes('for deoptimization'))) this.deoptimised++;
      }
    });
  }
  /** Counts so far, to diff around a measured round. */
  snapshot(): { optimised: number; deoptimised: number } {
    return { optimised: this.optimised, deoptimised: this.deoptimised };
  }
}

async function waitForLine(child: ChildProcess, re: RegExp, ms: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (): void => {
      clearTimeout(t);
      child.stdout?.off('data', on);
      child.stderr?.off('data', on);
    };
    const t = setTimeout(() => {
      done();
      reject(new Error(`no ${re} within ${ms} ms: ${buf.slice(-500)}`));
    }, ms);
    const on = (b: Buffer): void => {
      buf = (buf + b.toString()).slice(-64_000);
      const m = re.exec(buf);
      if (m) {
        done();
        resolve(m);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}

/** SIPp's arguments for DN 8888's digest registrations (401 → REGISTER with credentials → 200) to `port`, with `extra` (port, rate, counts). */
function sippRegisterArgs(port: number, extra: string[]): string[] {
  return [
    '-sf', join(repo, 'test/integration/sipp/uac-register-auth.xml'),
    '-i', '127.0.0.1', ...extra, '-nostdin',
    '-s', '8888', '-au', '8888', '-ap', '8888-secret',
    `127.0.0.1:${port}`,
  ];
}

/** SIPp REGISTER load (401 → authenticated REGISTER → 200) against `port`; returns SIPp's exit code. */
async function sippLoad(port: number): Promise<{ code: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'regbench-sipp-'));
  const local = await freePort();
  const args = sippRegisterArgs(port, ['-p', String(local), '-t', 'u1', '-m', String(REGISTRATIONS), '-r', String(RATE), '-l', '200']);
  return new Promise((resolve) => {
    const child = PLACE.spawn('load', 'sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    const t = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, out });
    });
  });
}

/** One server's CPU over one SIPp run, and how many JIT events (optimisations + deoptimisations) its Node process logged meanwhile. */
interface Measured {
  ms: number;
  jitEvents: number | undefined;
}

async function measure(name: string, pid: number, port: number, jit?: JitEvents): Promise<Measured> {
  const j0 = jit?.snapshot();
  const before = procCpuNs(pid, true);
  const r = await sippLoad(port);
  const ms = (procCpuNs(pid, true) - before) / 1e6;
  const ok = /Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.out)?.[1];
  const failed = /Failed call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.out)?.[1];
  const j1 = jit?.snapshot();
  const opt = j0 && j1 ? j1.optimised - j0.optimised : undefined;
  const deopt = j0 && j1 ? j1.deoptimised - j0.deoptimised : undefined;
  const jitText = opt === undefined ? '' : `, JIT ${opt} optimised / ${deopt} deoptimised`;
  process.stdout.write(`${name}: ${REGISTRATIONS} registrations at ${RATE}/s, SIPp exit ${r.code}, successful ${ok ?? '?'}, failed ${failed ?? '?'}, CPU ${ms.toFixed(1)} ms${jitText}\n`);
  return { ms, jitEvents: opt === undefined ? undefined : opt + deopt! };
}

async function partCpu(): Promise<void> {
  process.stdout.write(PLACE.line());
  // Our server: a child process running only what `sipserver start` runs for REGISTER.
  const data = mkdtempSync(join(tmpdir(), 'regbench-data-'));
  const ours = spawnChild(data, 'full');
  const noop = spawnChild(data + '-noop', 'noop');
  const floor = spawnChild(data + '-floor', 'floor');
  const kport = await freePort();
  const kdir = mkdtempSync(join(tmpdir(), 'regbench-kam-'));
  const kcfg = join(kdir, 'registrar.cfg');
  writeFileSync(kcfg, readFileSync(join(shared, 'anchors/kamailio/registrar.cfg'), 'utf8').replace('udp:127.0.0.1:5074', `udp:127.0.0.1:${kport}`));
  const kam = PLACE.spawn('server', 'kamailio', ['-f', kcfg, '-D', '-E', '-w', kdir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const background: ChildProcess[] = [];
  kam.stdout?.resume();
  kam.stderr?.resume();
  try {
    const m = await waitForLine(ours, /REGISTER_BENCH_READY (\d+)/, 30_000);
    const ourPort = Number(m[1]);
    const noopPort = Number((await waitForLine(noop, /REGISTER_BENCH_READY (\d+)/, 30_000))[1]);
    const floorPort = Number((await waitForLine(floor, /REGISTER_BENCH_READY (\d+)/, 30_000))[1]);
    const jitOurs = new JitEvents(ours);
    const jitNoop = new JitEvents(noop);
    const jitFloor = new JitEvents(floor);
    await new Promise((r) => setTimeout(r, 1500)); // let Kamailio fork its children
    // The trickle starts first, so that no server idles while the others warm up (in part
    // `ab`, a server left idle after its warm-up came out 4 – 12 % dearer than one that was
    // not); then each server is warmed up with an unmeasured run (WARMUP registrations at
    // WARMUP_RATE).
    if (TRICKLE > 0) for (const port of [ourPort, kport, noopPort, floorPort]) background.push(startTrickle(port));
    await sippLoadShort(ourPort);
    await sippLoadShort(kport);
    await sippLoadShort(noopPort);
    await sippLoadShort(floorPort);
    let tOurs = Infinity;
    let tFloor = Infinity;
    let tKam = Infinity;
    let tNoop = Infinity;
    const roundRatios: number[] = [];
    /** Rounds in which V8 compiled nothing in our server (steady-state code throughout). */
    const quietRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // REGISTER_BENCH_PARALLEL=1: both loads in the same 10 s (each server with its own SIPp),
      // so that the VM's drift between minutes hits both alike; default: one after the other.
      const [mo, mk] = PARALLEL
        ? await Promise.all([measure('sipserver', ours.pid!, ourPort, jitOurs), measure('kamailio ', kam.pid!, kport)])
        : [await measure('sipserver', ours.pid!, ourPort, jitOurs), await measure('kamailio ', kam.pid!, kport)];
      const o = mo.ms;
      const k = mk.ms;
      tOurs = Math.min(tOurs, o);
      tKam = Math.min(tKam, k);
      tNoop = Math.min(tNoop, (await measure('stack only (trivial REGISTER handler)', noop.pid!, noopPort, jitNoop)).ms);
      tFloor = Math.min(tFloor, (await measure('node floor (bare dgram responder, no SIP stack)', floor.pid!, floorPort, jitFloor)).ms);
      roundRatios.push(o / Math.max(1e-3, k));
      if (mo.jitEvents === 0) quietRatios.push(o / Math.max(1e-3, k));
    }
    const median = medianOf(roundRatios);
    process.stdout.write(`lowest of ${ROUNDS} rounds: sipserver ${tOurs.toFixed(1)}, kamailio ${tKam.toFixed(1)}, stack only ${tNoop.toFixed(1)}, node floor ${tFloor.toFixed(1)} ms of CPU\n`);
    process.stdout.write(`per-round ratios (sipserver / kamailio, measured back to back): ${roundRatios.map((r) => r.toFixed(2)).join(', ')}; median ${median.toFixed(2)}\n`);
    process.stdout.write(
      `rounds in which V8 compiled nothing in our server: ${quietRatios.length} of ${ROUNDS}` +
        (quietRatios.length > 0 ? `, their ratios ${quietRatios.map((r) => r.toFixed(2)).join(', ')} (median ${medianOf(quietRatios).toFixed(2)})` : '') +
        '\n',
    );
    process.stdout.write(
      `registrar + digest share of our CPU: ${(((tOurs - tNoop) / Math.max(1, tOurs)) * 100).toFixed(0)} % ` +
        `(${(((tOurs - tNoop) * 1000) / REGISTRATIONS).toFixed(1)} µs per registration); stack alone vs kamailio: ${(tNoop / Math.max(1e-3, tKam)).toFixed(2)}; ` +
        `node floor vs kamailio: ${(tFloor / Math.max(1e-3, tKam)).toFixed(2)}\n`,
    );
    const ratio = tOurs / Math.max(1e-3, tKam);
    process.stdout.write(
      `CPU per registration: sipserver ${((tOurs * 1000) / REGISTRATIONS).toFixed(1)} µs, kamailio ${((tKam * 1000) / REGISTRATIONS).toFixed(1)} µs, ` +
        `ratio ${ratio.toFixed(2)} (target ≤ 2) ${ratio <= 2 ? 'OK' : 'OVER TARGET'}\n`,
    );
  } finally {
    for (const b of background) await stop(b);
    await stop(ours);
    await stop(noop);
    await stop(floor);
    await stop(kam);
    rmSync(data, { recursive: true, force: true });
    rmSync(data + '-noop', { recursive: true, force: true });
    rmSync(data + '-floor', { recursive: true, force: true });
    rmSync(kdir, { recursive: true, force: true });
  }
}

/**
 * Part `ab` (not in the default parts): two variants of our server under the same SIPp flow, to
 * tell whether a change pays before believing a ratio against Kamailio. A is this checkout, B
 * the checkout at `REGISTER_BENCH_AB_DIR` (default: this one too, i.e. an A/A run that shows the
 * noise); `REGISTER_BENCH_AB_FLAGS_A` / `_B` add Node/V8 flags to one side,
 * `REGISTER_BENCH_AB_ENV_A` / `_B` environment variables (`NAME=value`, space-separated).
 * `REGISTER_BENCH_AB_MODE=floor` compares two node floors instead, `REGISTER_BENCH_AB_WORK_A` /
 * `_B` naming the work each does after its answers (see {@link FLOOR_WORK}). Both are warmed up
 * together and get the trickle as in part 1; each round loads A then B, so that each idles
 * exactly while the other is measured (with the order alternating, A B B A, the side that ran
 * twice in a row was cheaper in its second run; see docs/benchmarks.md). Prints each round's
 * B/A, their median and the ratio of the sums; the first round usually includes V8
 * re-optimising after the warm-up.
 */
async function partAb(): Promise<void> {
  const checkoutB = process.env.REGISTER_BENCH_AB_DIR ?? repo;
  const dataA = mkdtempSync(join(tmpdir(), 'regbench-ab-a-'));
  const dataB = mkdtempSync(join(tmpdir(), 'regbench-ab-b-'));
  const mode = process.env.REGISTER_BENCH_AB_MODE === 'floor' ? 'floor' : 'full';
  /** One side's settings, read once: checkout, Node flags, environment, floor work. */
  const side = (name: 'A' | 'B', dir: string) => {
    const flags = flagsOf(`REGISTER_BENCH_AB_FLAGS_${name}`);
    const work = process.env[`REGISTER_BENCH_AB_WORK_${name}`] ?? '';
    const envWords = flagsOf(`REGISTER_BENCH_AB_ENV_${name}`);
    const env: Record<string, string> = { REGISTER_BENCH_FLOOR_WORK: work };
    for (const w of envWords) {
      const eq = w.indexOf('=');
      if (eq <= 0) throw new Error(`REGISTER_BENCH_AB_ENV_${name}: ${w} is not NAME=value`);
      env[w.slice(0, eq)] = w.slice(eq + 1);
    }
    return { dir, flags, env, label: `${name}: ${mode} ${dir} ${[...envWords, ...flags].join(' ')}${mode === 'floor' ? ` work=${work}` : ''}\n` };
  };
  const sideA = side('A', repo);
  const sideB = side('B', checkoutB);
  const a = spawnChild(dataA, mode, sideA.dir, sideA.flags, sideA.env);
  const b = spawnChild(dataB, mode, sideB.dir, sideB.flags, sideB.env);
  const background: ChildProcess[] = [];
  try {
    const portA = Number((await waitForLine(a, /REGISTER_BENCH_READY (\d+)/, 30_000))[1]);
    const portB = Number((await waitForLine(b, /REGISTER_BENCH_READY (\d+)/, 30_000))[1]);
    const jitA = new JitEvents(a);
    const jitB = new JitEvents(b);
    process.stdout.write(sideA.label + sideB.label + PLACE.line());
    // Both warmed up at once, so that neither idles while the other warms up.
    await Promise.all([sippLoadShort(portA), sippLoadShort(portB)]);
    if (TRICKLE > 0) for (const port of [portA, portB]) background.push(startTrickle(port));
    const ratios: number[] = [];
    let sumA = 0;
    let sumB = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const ma = await measure('A', a.pid!, portA, jitA);
      const mb = await measure('B', b.pid!, portB, jitB);
      sumA += ma.ms;
      sumB += mb.ms;
      ratios.push(mb.ms / Math.max(1e-3, ma.ms));
    }
    process.stdout.write(
      `B/A per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${medianOf(ratios).toFixed(2)}; ratio of the sums ${(sumB / Math.max(1e-3, sumA)).toFixed(3)}\n`,
    );
  } finally {
    for (const c of background) await stop(c);
    await stop(a);
    await stop(b);
    rmSync(dataA, { recursive: true, force: true });
    rmSync(dataB, { recursive: true, force: true });
  }
}

/** Median of a non-empty list. */
function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Split a flags variable (space-separated) into arguments. */
function flagsOf(name: string): string[] {
  return (process.env[name] ?? '').split(' ').filter(Boolean);
}

/**
 * A server child: `full` (stack + registrar + digest), `noop` (stack, trivial handler) or
 * `floor` (bare `node:dgram`), from this checkout or from `checkout` (another one, for part `ab`),
 * with the server's own Node flags (`SERVER_NODE_FLAGS`: every child runs as `sipserver` does),
 * then REGISTER_BENCH_NODEFLAGS (extra Node/V8 flags for every Node child), then `extraFlags`.
 */
function spawnChild(data: string, mode: 'full' | 'noop' | 'floor', checkout = repo, extraFlags: string[] = [], extraEnv: Record<string, string> = {}): ChildProcess {
  const flags = [...SERVER_NODE_FLAGS, ...flagsOf('REGISTER_BENCH_NODEFLAGS'), ...extraFlags];
  // The JIT's work is logged (one line per optimisation or deoptimisation, nothing in between)
  // so that each measured round can say whether it still included compilation.
  return PLACE.spawn('server', process.execPath, ['--trace-opt', '--trace-deopt', ...flags, '--import', 'tsx', join(checkout, 'bench/register.bench.ts')], {
    cwd: checkout,
    env: { ...process.env, ...extraEnv, REGISTER_BENCH_CHILD: '1', REGISTER_BENCH_DATA: data, REGISTER_BENCH_MODE: mode },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * A SIPp sending {@link TRICKLE} registrations per second to `port` until stopped, and in any
 * case (should this process die first) no longer than the rounds can last plus two minutes (then
 * SIPp lets its open calls time out, about 30 s more, and exits).
 */
function startTrickle(port: number): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'regbench-trickle-'));
  const seconds = Math.ceil(ROUNDS * 4 * (REGISTRATIONS / RATE + 10) + 120);
  const c = PLACE.spawn('load', 'sipp', sippRegisterArgs(port, ['-p', '0', '-r', String(TRICKLE), '-m', String(Math.ceil(TRICKLE * seconds)), '-timeout', `${seconds}s`]), { cwd: dir, stdio: 'ignore' });
  c.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return c;
}

/** Servers on CPU 0, every SIPp on CPU 1 (`REGISTER_BENCH_PIN=0`: the kernel places them); see bench/helpers/placement.ts. */
const PLACE = placement('REGISTER_BENCH_PIN');

async function sippLoadShort(port: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'regbench-warm-'));
  await new Promise<void>((resolve) => {
    const c = PLACE.spawn('load', 'sipp', sippRegisterArgs(port, ['-p', '0', '-m', String(WARMUP), '-r', String(WARMUP_RATE), '-l', '400']), { cwd: dir, stdio: 'ignore' });
    const t = setTimeout(() => c.kill('SIGKILL'), 30_000 + (WARMUP * 1000) / WARMUP_RATE);
    c.on('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
  rmSync(dir, { recursive: true, force: true });
}

/** The server child of part 1: store from office.yaml (MD5 challenges, as Kamailio's anchor), stack, registrar. */
async function child(): Promise<void> {
  if (process.env.REGISTER_BENCH_MODE === 'floor') return floorChild();
  const store = openStore(process.env.REGISTER_BENCH_DATA!);
  store.reconcile(loadConfigFile(join(repo, 'examples/office.yaml')).model!);
  // The anchor challenges MD5 only and SIPp 3.6 answers MD5 only.
  store.apply([{ op: 'patch', kind: 'server', key: 'server', value: { options: { 'auth-algorithms': 'MD5' } } }]);
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], logger: silentLogger });
  // REGISTER_BENCH_MODE=noop: the same message flow answered statelessly by a trivial handler
  // (static challenge, no digest, no bindings): the SIP stack's share of the cost. The real
  // path gets a metrics registry, as `sipserver start` gives it.
  const wired =
    process.env.REGISTER_BENCH_MODE === 'noop'
      ? (stack.handle('REGISTER', (ctx) => {
          if (ctx.request.getHeader('Authorization')) ctx.replyStateless(200, 'OK', [['Contact', `${ctx.request.getHeader('Contact')};expires=3600`]]);
          else ctx.replyStateless(401, 'Unauthorized', [['WWW-Authenticate', 'Digest realm="127.0.0.1", nonce="static", algorithm=MD5, qop="auth"']]);
          return true;
        }),
        { close: () => undefined })
      : wireRegistrarAndReachability({ stack, store, clock: systemClock, logger: silentLogger, registry: new Registry() });
  await stack.start();
  process.stdout.write(`REGISTER_BENCH_READY ${stack.addresses()[0].port}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  wired.close();
  await stack.stop();
  store.close();
  process.exit(0);
}

/**
 * Work the node floor does after each answer (`REGISTER_BENCH_FLOOR_WORK`, for probes of what a
 * piece of our code costs under load against its hot-loop figure; docs/benchmarks.md, session 6):
 * `parse` = `parseMessage`, `typed` = the same and the typed headers the UAS checks read,
 * `direct` = the same values through the value parsers called on the header lines, without the
 * message's typed-header look-ups and cache (what that machinery costs is `typed` − `direct`),
 * `typed2` = `typed` twice, on two parses of the datagram (what the same work costs again in the
 * same wake-up is `typed2` − `typed`).
 */
const FLOOR_WORK: Record<string, (buf: Buffer) => void> = {
  parse: (buf) => void parseMessage(buf),
  typed: (buf) => {
    const m = parseMessage(buf) as SipRequest;
    void [m.vias, m.from, m.to, m.callId, m.cseq, m.contacts, m.requestUri];
  },
  typed2: (buf) => {
    for (let k = 0; k < 2; k++) FLOOR_WORK.typed(buf);
  },
  direct: (buf) => {
    const m = parseMessage(buf);
    for (const h of m.headerFields) {
      switch (h.name) {
        case 'Via':
          parseVia(h.value);
          break;
        case 'From':
        case 'To':
        case 'Contact':
          parseNameAddr(h.value);
          break;
        case 'CSeq': {
          const sp = h.value.indexOf(' ');
          void [Number(h.value.slice(0, sp)), h.value.slice(sp + 1)];
          break;
        }
        case 'Call-ID':
          void /\s/.test(h.value);
      }
    }
    if (m.kind === 'request') void m.requestUri;
  },
};

/**
 * REGISTER_BENCH_MODE=floor: what Node itself costs per datagram on this machine — a bare
 * `node:dgram` socket answering SIPp's flow (401 with a fixed challenge, then 200) from copied
 * header lines, without parsing, checks, transactions or digest. Not a SIP server: the floor
 * under any JavaScript SIP stack, to compare with Kamailio's whole registrar.
 */
async function floorChild(): Promise<void> {
  const name = process.env.REGISTER_BENCH_FLOOR_WORK ?? '';
  const work = name === '' ? undefined : FLOOR_WORK[name];
  if (name !== '' && work === undefined) throw new Error(`REGISTER_BENCH_FLOOR_WORK: unknown ${name} (${Object.keys(FLOOR_WORK).join(', ')})`);
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  const line = (t: string, name: string): string => {
    const i = t.indexOf('\n' + name + ':');
    return i < 0 ? '' : t.slice(i + 1, t.indexOf('\r\n', i + 1)) + '\r\n';
  };
  s.on('message', (buf, r) => {
    const t = buf.toString('latin1');
    const authed = t.includes('\nAuthorization:');
    const out =
      (authed ? 'SIP/2.0 200 OK\r\n' : 'SIP/2.0 401 Unauthorized\r\n') +
      line(t, 'Via') + line(t, 'From') + line(t, 'To').replace('\r\n', ';tag=f1\r\n') + line(t, 'Call-ID') + line(t, 'CSeq') +
      (authed ? `Contact: <sip:8888@127.0.0.1:${r.port}>;expires=3600\r\n` : 'WWW-Authenticate: Digest realm="127.0.0.1", nonce="0123456789abcdef", algorithm=MD5, qop="auth"\r\n') +
      'Content-Length: 0\r\n\r\n';
    s.send(Buffer.from(out, 'latin1'), r.port, r.address);
    if (work !== undefined) work(buf);
  });
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  process.stdout.write(`REGISTER_BENCH_READY ${s.address().port}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  s.close();
  process.exit(0);
}

function gcFn(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function partMemory(): Promise<void> {
  const gc = gcFn();
  const N = 100_000;
  const table = new BindingTable(systemClock);
  const directory = { findRegisteringDn: (u: string) => ({ dn: u }) };
  const processor = new RegisterProcessor(table, directory, new DigestServer({ clock: systemClock }), new AuthFailureLimiter({ clock: systemClock }), systemClock, silentLogger, { maxExpires: 3600 });
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
  process.stdout.write(`memory: ${table.size} bindings, heap +${((after - before) / 1048576).toFixed(1)} MiB, ${per.toFixed(0)} bytes per binding (target < 2048) ${per < 2048 ? 'OK' : 'OVER TARGET'}\n`);
  table.close();
}

async function partProber(): Promise<void> {
  const N = 5000;
  const SECONDS = Number(process.env.REGISTER_BENCH_PROBE_SECONDS ?? 25);
  const dir = mkdtempSync(join(tmpdir(), 'regbench-oos-'));
  const store = openStore(dir);
  const changes = [];
  for (let i = 0; i < N; i++) {
    changes.push({
      op: 'put' as const,
      kind: 'dn' as const,
      key: `SS${i}`,
      value: { type: 'voip-service', options: { contact: `127.0.0.1:${20_000 + (i % 20_000)}`, 'service-type': 'softswitch', prefix: `+1${String(i).padStart(4, '0')}`, 'oos-check': '10', 'oos-force': '2' } },
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
  const reach = createReachability({ store, registrations: { get: () => [] }, clock: systemClock, logger: silentLogger, sender });
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

/**
 * Part 4: the registrar + digest path in process, as `sipserver` runs it for one registration
 * (REGISTER → 401 challenge; REGISTER with credentials → verify, bind, 200), minus the cost of
 * parsing the two messages and of the client's answer, measured separately. CPU time, best of
 * 7 slices.
 */
async function partInProcess(): Promise<void> {
  const N = 35_000; // below the 50,000-entry nonce table, as a steady state of ~100 registrations/s
  const table = new BindingTable(systemClock);
  const digest = new DigestServer({ clock: systemClock, algorithms: ['MD5'] });
  const proc = new RegisterProcessor(
    table,
    { findRegisteringDn: (u: string) => (u === '8888' ? { dn: '8888', password: '8888-secret' } : undefined) },
    digest,
    new AuthFailureLimiter({ clock: systemClock }),
    systemClock,
    silentLogger,
    {},
  );
  const client = new DigestClient({ username: '8888', password: '8888-secret' });
  const src = { transport: 'udp' as const, host: '127.0.0.1', port: 5099 };
  let cseq = 1;
  const text = (auth?: string): Buffer =>
    Buffer.from(
      [
        'REGISTER sip:127.0.0.1:5060 SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-${cseq};rport`,
        'From: <sip:8888@127.0.0.1>;tag=t1',
        'To: <sip:8888@127.0.0.1>',
        'Call-ID: c1@bench',
        `CSeq: ${cseq++} REGISTER`,
        'Contact: <sip:8888@127.0.0.1:5099>',
        ...(auth ? [`Authorization: ${auth}`] : []),
        'Max-Forwards: 70',
        'Expires: 3600',
        'User-Agent: SIPp',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  const asRequest = (b: Buffer): SipRequest => parseMessage(b) as SipRequest;
  const full = (): void => {
    const in1 = registerInputFromRequest(asRequest(text()), src);
    if (!in1.ok) throw new Error('unparseable REGISTER');
    const o1 = proc.process(in1.input);
    if (o1.status !== 401) throw new Error(`expected 401, got ${o1.status}`);
    const auth = client.answer({ method: 'REGISTER', uri: 'sip:127.0.0.1:5060', challenges: o1.headers.map((h) => h[1]) })!;
    const in2 = registerInputFromRequest(asRequest(text(auth)), src);
    if (!in2.ok) throw new Error('unparseable REGISTER');
    const o2 = proc.process(in2.input);
    if (o2.status !== 200) throw new Error(`expected 200, got ${o2.status}`);
  };
  const fixed = 'Digest realm="127.0.0.1", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", algorithm=MD5, qop="auth"';
  const baseline = (): void => {
    asRequest(text());
    asRequest(text(client.answer({ method: 'REGISTER', uri: 'sip:127.0.0.1:5060', challenges: [fixed] })!));
  };
  const cpu = (f: () => void, n: number): number => {
    const u = process.cpuUsage();
    for (let i = 0; i < n; i++) f();
    const d = process.cpuUsage(u);
    return (d.user + d.system) / n;
  };
  for (let i = 0; i < 3000; i++) {
    full();
    baseline();
  }
  let bestFull = Infinity;
  let bestBase = Infinity;
  for (let r = 0; r < 7; r++) {
    bestFull = Math.min(bestFull, cpu(full, Math.floor(N / 7)));
    bestBase = Math.min(bestBase, cpu(baseline, Math.floor(N / 7)));
  }
  table.close();
  process.stdout.write(
    `in process: registrar + digest ${(bestFull - bestBase).toFixed(1)} µs CPU per registration (two REGISTERs; parsing and the client's answer, ${bestBase.toFixed(1)} µs, excluded)\n`,
  );
}

/** Entry point for bench/run.ts. */
export default async function (): Promise<void> {
  // REGISTER_BENCH_PARTS=cpu (or a comma list of inprocess, cpu, memory, prober, ab): run only those; `ab` only when named.
  const parts = (process.env.REGISTER_BENCH_PARTS ?? 'inprocess,cpu,memory,prober').split(',');
  if (parts.includes('inprocess')) await partInProcess();
  if (parts.includes('cpu')) await partCpu();
  if (parts.includes('memory')) await partMemory();
  if (parts.includes('prober')) await partProber();
  if (parts.includes('ab')) await partAb();
}

if (process.env.REGISTER_BENCH_CHILD === '1') void child();
