/**
 * Migration benchmark (issue 19 "Performance", behaviour §13): a generated office of N agents
 * (test/helpers/office-gen.ts: half registered phones with digest passwords, half behind the
 * office PBX; the home SBC configured; a mix of the three modes) moved to home while SIPp calls
 * the routing point at 50 calls/s (100 agents behind the PBX logged in Ready, AutoIn, calls of
 * 200 ms answered by the PBX SIPp). Two sides, each on its own fresh server (the build,
 * `node dist/cli/main.js start`) with the same configuration, in the same run:
 *
 * - ours: `sipserver migrate apply PLAN` (defaults: batches from 50 doubling up to 1,000 while
 *   CPU < 70 % and event-loop lag < 50 ms, validation of each batch);
 * - naive: the same plan, one admin-API request per object, sequentially (bench/helpers/naive-migrate.ts).
 *
 * The migration time runs until every agent is moved (ours: in a journal batch; naive: its last
 * request answered); then the calls stop and the desks log out, and ours removes their office
 * DNs (not timed; the naive side leaves them).
 *
 * For each it prints: total migration time; call set-up p99 (INVITE → 200 at the customer) during the
 * migration vs the 10 s before it taken over as many calls (target ratio ≤ 1.2; a p99 over the ~50
 * calls of a 1 s migration is their slowest, so the before window's is the median p99 of its runs
 * of that many calls; the p99 over all its calls is printed too);
 * peak event-loop lag (the largest single delay, `load.eventLoopLagMaxMs`, and the largest ~1 s
 * mean) and CPU (`GET /api/status?sections=load,config` every 0.5 s: `load` covers the last ~1 s;
 * the whole status, 1.5 MB at 10,000 agents, would cost the server ~40 ms a read); failed calls; agents not
 * at home afterwards. Then ours vs naive: time ratio (target ≥ 5× faster) and peak lags (ours lower).
 *
 * Placement (bench/helpers/placement.ts): the server on CPU 0; SIPp, the `migrate` command and the
 * bench itself on CPU 1 (BENCH_MIGRATE_PIN=0: left to the kernel). Set-up times come from a
 * tcpdump capture of the server's SIP port (test/helpers/sip-capture.ts, µs) when tcpdump can
 * run (root); SIPp's own `-trace_rtt` moves in 4 ms steps on a HZ=250 kernel.
 *
 * Env: BENCH_MIGRATE_AGENTS ("2000,10000"), BENCH_MIGRATE_RATE (50 calls/s), BENCH_MIGRATE_DESKS
 * (100 agents logged in), BENCH_MIGRATE_BEFORE_S (10 s of calls measured before), BENCH_MIGRATE_SIDES
 * ("ours,naive"), BENCH_MIGRATE_APPLY_ARGS (more `migrate apply` arguments, e.g. "--max-batch 200"). Run alone: `npm run build && npx tsx bench/run.ts migrate`.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupPercentile, type CallLoadStats, type SetupSample } from '../test/helpers/call-load.js';
import { ROUTING_POINT } from '../test/helpers/office-gen.js';
import { journalMoved, OfficeRun, readJournal, type LoadSample } from '../test/helpers/office-world.js';
import { canCapture, SipCapture, setupTimesFromCapture } from '../test/helpers/sip-capture.js';
import { waitFor } from '../test/helpers/wait.js';
import { naiveMigrate, type NaivePlan } from './helpers/naive-migrate.js';
import { placement } from './helpers/placement.js';
import { pinProcess } from '../test/helpers/taskset.js';

const SIZES = (process.env.BENCH_MIGRATE_AGENTS ?? '2000,10000').split(',').map(Number);
const RATE = Number(process.env.BENCH_MIGRATE_RATE ?? 50);
const DESKS = Number(process.env.BENCH_MIGRATE_DESKS ?? 100);
const BEFORE_S = Number(process.env.BENCH_MIGRATE_BEFORE_S ?? 10);
const SIDES = (process.env.BENCH_MIGRATE_SIDES ?? 'ours,naive').split(',');
/** More `migrate apply` arguments for our side (e.g. `--max-batch 200`), split on spaces. */
const APPLY_ARGS = (process.env.BENCH_MIGRATE_APPLY_ARGS ?? '').split(' ').filter(Boolean);
/** More Node.js arguments for the servers (e.g. `--trace-gc`; their output goes to BENCH_MIGRATE_SERVER_LOG). */
const SERVER_ARGS = (process.env.BENCH_MIGRATE_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Set-up times of the first 2 s of calls are not measured (JIT warm-up of the call path). */
const WARMUP_MS = 2000;
/** Set-up times from a packet capture (µs) when tcpdump can run here; SIPp's own (4 ms steps) otherwise. */
const CAPTURE = canCapture();
/**
 * The server on CPU 0; SIPp (customers, PBX, SBC), the `migrate` command and this process on CPU 1,
 * as on a site where the carriers and the administrator's machine are not the server.
 */
const PLACE = placement(process.env.BENCH_MIGRATE_PIN !== '0', 'BENCH_MIGRATE_PIN=0');

/** One side's figures. */
interface SideResult {
  side: string;
  ms: number;
  p99Before: number;
  p99During: number;
  /**
   * p99 of the window before over as many calls as the migration window had: the median of the
   * p99s of its consecutive runs of that many calls (see {@link likeForLike}).
   */
  p99BeforeLike: number;
  /** Set-up time distributions of both windows. */
  spread: string;
  /** Largest single event-loop delay (`eventLoopLagMaxMs`). */
  peakLag: number;
  /** Largest ~1 s mean event-loop delay (`eventLoopLagMs`). */
  peakMeanLag: number;
  peakCpu: number;
  calls: CallLoadStats;
  notAtHome: number;
  detail: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Calls, p50, p90, p99 and max set-up time (ms) of the calls placed in [from, to). */
function spread(samples: readonly SetupSample[], from: number, to: number): string {
  const n = samples.filter((s) => s.at >= from && s.at < to).length;
  const [p50, p90, p99, max] = [50, 90, 99, 100].map((p) => ms(setupPercentile(samples, p, from, to)));
  return `${n} calls, p50 ${p50} p90 ${p90} p99 ${p99} max ${max} ms`;
}

const ms = (v: number): string => (CAPTURE ? v.toFixed(1) : String(v));

const peak = (samples: LoadSample[], f: (s: LoadSample) => number): number =>
  samples.reduce((m, s) => Math.max(m, f(s)), 0);

/** A migration under way: `moved()` once every agent is moved; `finished` once it ended. */
interface Migration {
  moved: () => boolean;
  finished: Promise<string>;
}

/**
 * Ours: `sipserver migrate apply` with its defaults. Every agent is moved once every agent is in a
 * journal batch; the command then waits for the desks to log out to remove their office DNs.
 */
function ours(run: OfficeRun, plan: string, agents: number): Migration {
  const journal = join(run.dir, 'plan.journal');
  const finished = run.apply(plan, journal, APPLY_ARGS, { timeoutMs: 900_000 }).then((r) => {
    if (r.code !== 0) throw new Error(`migrate apply exit ${r.code}: ${r.stderr.slice(-1500)}`);
    const batches = readJournal(journal)
      .filter((l) => l.t === 'batch')
      .map((l) => l.agents?.length ?? 0);
    return `${batches.length} batches (${batches.slice(0, 8).join(', ')}${batches.length > 8 ? ', …' : ''} agents)`;
  });
  return { moved: () => journalMoved(journal).size === agents, finished };
}

/** Naive: one request per object, the office DNs of the desks logged in left in place. */
function naive(run: OfficeRun, plan: string): Migration {
  let done = false;
  const finished = naiveMigrate(run.url, run.token, JSON.parse(readFileSync(plan, 'utf8')) as NaivePlan).then((r) => {
    done = true;
    if (r.failures.length) throw new Error(`naive: ${r.failures.length} requests failed: ${r.failures[0]}`);
    return `${r.requests} requests`;
  });
  return { moved: () => done, finished };
}

/**
 * One side on a fresh server: calls for the measured window before, then the migration; once
 * every agent is moved, the calls stop and the desks log out (ours then removes their office DNs).
 */
async function side(name: string, agents: number): Promise<SideResult> {
  const serverCpu = PLACE.cpu('server');
  const run = await OfficeRun.start({
    agents,
    dist: true,
    ...(serverCpu !== undefined ? { serverCpu } : {}),
    ...(SERVER_ARGS.length > 0 ? { nodeArgs: SERVER_ARGS } : {}),
  });
  try {
    await run.registerPhones();
    await run.waitSoftswitches();
    await run.loginAgents(DESKS);
    const plan = join(run.dir, 'plan.json');
    const planned = await run.plan(plan);
    if (planned.code !== 0) throw new Error(`migrate plan exit ${planned.code}: ${planned.stderr.slice(-1500)}`);
    const capture = CAPTURE ? await SipCapture.start(Number(run.sipTarget.split(':').pop())) : undefined;
    const load = await run.startCalls(RATE);
    const loadStart = Date.now();
    const watchBefore = run.watchLoad();
    await sleep(WARMUP_MS + BEFORE_S * 1000); // the measured window before the migration
    const before = await watchBefore.stop();
    const watch = run.watchLoad();
    const t0 = Date.now();
    const m = name === 'naive' ? naive(run, plan) : ours(run, plan, agents);
    let failed: unknown;
    m.finished.catch((e: unknown) => (failed = e));
    await waitFor(() => failed !== undefined || m.moved(), {
      what: `${name}: every agent moved`,
      timeoutMs: 900_000,
      intervalMs: 20,
    });
    const t1 = Date.now();
    const during = await watch.stop();
    const calls = await load.stop();
    const setups = capture ? setupTimesFromCapture(await capture.stop(), run.sipTarget, ROUTING_POINT) : calls.samples;
    await run.logoutAgents();
    const detail = await m.finished;
    return {
      side: name,
      ms: t1 - t0,
      p99Before: setupPercentile(setups, 99, loadStart + WARMUP_MS, t0),
      p99During: setupPercentile(setups, 99, t0, t1),
      p99BeforeLike: likeForLike(
        setups,
        loadStart + WARMUP_MS,
        t0,
        setups.filter((x) => x.at >= t0 && x.at < t1).length,
      ),
      spread: `before ${spread(setups, loadStart + WARMUP_MS, t0)}; during ${spread(setups, t0, t1)}`,
      peakLag: peak(during, (s) => s.eventLoopLagMaxMs),
      peakMeanLag: peak(during, (s) => s.eventLoopLagMs),
      peakCpu: peak(during, (s) => s.cpuPercent),
      calls,
      notAtHome: (await run.notAtHome()).length,
      detail: `${detail}; before: peak lag ${peak(before, (s) => s.eventLoopLagMaxMs).toFixed(1)} ms, CPU ${peak(before, (s) => s.cpuPercent).toFixed(0)} %`,
    };
  } finally {
    if (process.env.BENCH_MIGRATE_SERVER_LOG)
      appendFileSync(process.env.BENCH_MIGRATE_SERVER_LOG, `=== ${name} ${agents}\n${run.server.stdout}`);
    await run.stop();
  }
}

/**
 * The p99 of `n` calls of [from, to): the median, over the window's consecutive runs of `n` calls,
 * of each run's p99. A p99 depends on how many calls it is taken over: over the ~50 calls of a
 * 1 s migration it is their slowest, over the ~500 calls of the 10 s before it the 5th slowest, so
 * the migration's is compared with the before window's taken over as many calls.
 */
function likeForLike(samples: readonly SetupSample[], from: number, to: number, n: number): number {
  const inWindow = samples.filter((s) => s.at >= from && s.at < to).sort((a, b) => a.at - b.at);
  if (n < 1 || inWindow.length < n) return setupPercentile(inWindow, 99);
  const p99s: number[] = [];
  for (let i = 0; i + n <= inWindow.length; i += n) p99s.push(setupPercentile(inWindow.slice(i, i + n), 99));
  p99s.sort((a, b) => a - b);
  return p99s.length % 2 ? p99s[(p99s.length - 1) / 2]! : (p99s[p99s.length / 2 - 1]! + p99s[p99s.length / 2]!) / 2;
}

function line(agents: number, r: SideResult): string {
  const floor = CAPTURE ? 0.1 : 1;
  const raw = r.p99During / Math.max(floor, r.p99Before);
  const ratio = r.p99During / Math.max(floor, r.p99BeforeLike);
  return (
    `  ${agents.toLocaleString('en-US')} agents, ${r.side}: ${(r.ms / 1000).toFixed(1)} s, ${r.detail}; ` +
    `calls ok ${r.calls.ok}, failed ${r.calls.failed}; set-up p99 ${ms(r.p99During)} ms during vs ${ms(r.p99BeforeLike)} ms before ` +
    `over as many calls (ratio ${ratio.toFixed(2)}, target ≤ 1.2 ${ratio <= 1.2 ? 'OK' : 'OVER'}; ${ms(r.p99Before)} ms over all the calls before: ${raw.toFixed(2)}); peak lag ${r.peakLag.toFixed(1)} ms (1 s mean ${r.peakMeanLag.toFixed(1)} ms), ` +
    `peak CPU ${r.peakCpu.toFixed(0)} %; ${r.notAtHome} agents not at home\n    set-up: ${r.spread}\n`
  );
}

/** Entry point for bench/run.ts. */
export default async function (): Promise<void> {
  const loadCpu = PLACE.cpu('load');
  if (loadCpu !== undefined) pinProcess(process.pid, loadCpu); // what this process starts runs there too
  process.stdout.write(
    loadCpu !== undefined
      ? `  placement: the server on CPU ${PLACE.cpu('server')}; SIPp, the migrate command and the bench on CPU ${loadCpu} (BENCH_MIGRATE_PIN=0 to let the kernel place them)\n`
      : '  placement: left to the kernel\n',
  );
  process.stdout.write(
    `  ${RATE} calls/s to the routing point, ${DESKS} agents Ready, ${BEFORE_S} s measured before each migration; ` +
      `set-up times ${CAPTURE ? 'from a tcpdump capture (µs)' : "from SIPp's -trace_rtt (4 ms steps on a HZ=250 kernel: run as root with tcpdump for µs)"}\n`,
  );
  for (const agents of SIZES) {
    const results: SideResult[] = [];
    for (const name of SIDES) {
      const r = await side(name, agents);
      results.push(r);
      process.stdout.write(line(agents, r));
    }
    const o = results.find((r) => r.side === 'ours');
    const n = results.find((r) => r.side === 'naive');
    if (o && n) {
      const speedup = n.ms / o.ms;
      process.stdout.write(
        `${agents.toLocaleString('en-US')} agents: ours ${(o.ms / 1000).toFixed(1)} s vs naive ${(n.ms / 1000).toFixed(1)} s: ` +
          `${speedup.toFixed(1)}× faster (target ≥ 5× ${speedup >= 5 ? 'OK' : 'NOT MET'}); peak lag ${o.peakLag.toFixed(1)} vs ` +
          `${n.peakLag.toFixed(1)} ms (${o.peakLag < n.peakLag ? 'lower OK' : 'NOT lower'})\n`,
      );
    }
  }
}
