/**
 * SIPp's REGISTER flow against a server, and the CPU a server process spends on it: what
 * bench/register.bench.ts (ours against Kamailio) and bench/tools/ab.ts (two of ours) share.
 *
 * The flow is DN 8888's digest registration (test/integration/sipp/uac-register-auth.xml:
 * REGISTER → 401, REGISTER with credentials → 200). CPU time is the scheduler's runtime of every
 * thread of the server's processes (schedstat, ns) over one SIPp run.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { freePort } from '../../test/helpers/ports.js';
import type { Placement } from './placement.js';
import { procCpuNs } from './proc-stats.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Rate of the measured runs (registrations per second). */
export const RATE = 600;
/**
 * Unmeasured registrations first, for each server (at {@link WARMUP_RATE}/s): V8 still
 * optimises, deoptimises and optimises again during the first 20,000 or so registrations of a
 * fresh process (`--trace-opt --trace-deopt`); each measured run says what the JIT did during it.
 */
export const WARMUP = 24_000;
const WARMUP_RATE = 2000;
/**
 * Registrations per second every server gets all along (see {@link startTrickle}): a registrar
 * in service is never idle for half a minute, and an idle server's next run re-optimised the hot
 * path (V8's memory reducer). It adds the same ~1.7 % of registrations to every measured run.
 */
const TRICKLE = 10;

/** Median of a non-empty list. */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * What V8 compiled in a Node child: its `--trace-opt --trace-deopt` lines counted as they come
 * (the listener also keeps the child's stdout drained).
 */
export class JitEvents {
  private optimised = 0;
  private deoptimised = 0;
  private tail = '';
  constructor(child: ChildProcess) {
    child.stderr?.resume();
    child.stdout?.on('data', (b: Buffer) => {
      const lines = (this.tail + b.toString('latin1')).split('\n');
      this.tail = lines.pop() ?? '';
      for (const l of lines) {
        if (l.startsWith('[completed optimizing')) this.optimised++;
        else if (
          l.startsWith('[bailout') ||
          (l.startsWith('[marking dependent code') && l.includes('for deoptimization'))
        )
          this.deoptimised++;
      }
    });
  }
  /** Counts so far, to diff around a measured run. */
  snapshot(): { optimised: number; deoptimised: number } {
    return { optimised: this.optimised, deoptimised: this.deoptimised };
  }
}

/**
 * A server child (bench/helpers/register-server.ts) running ROOT's source in `mode`, with the
 * server's Node flags (every child runs as `sipserver` does) and `extraFlags`, its JIT's work
 * logged; resolves with its UDP port once it listens.
 */
export async function startServer(
  place: Placement,
  opts: {
    root?: string;
    mode?: 'full' | 'noop' | 'floor';
    data: string;
    extraFlags?: string[];
    env?: Record<string, string>;
  },
): Promise<{ child: ChildProcess; port: number; jit: JitEvents }> {
  const args = [
    '--trace-opt',
    '--trace-deopt',
    ...SERVER_NODE_FLAGS,
    ...(opts.extraFlags ?? []),
    '--import',
    'tsx',
    join(repo, 'bench/helpers/register-server.ts'),
  ];
  const child = place.spawn('server', process.execPath, [...args, opts.root ?? repo, opts.mode ?? 'full', opts.data], {
    cwd: opts.root ?? repo,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = Number((await waitForLine(child, /REGISTER_BENCH_READY (\d+)/, 30_000))[1]);
  return { child, port, jit: new JitEvents(child) };
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

/** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}

/** SIPp's arguments for DN 8888's digest registrations to `port`, with `extra` (port, rate, counts). */
function sippArgs(port: number, extra: string[]): string[] {
  return [
    '-sf',
    join(repo, 'test/integration/sipp/uac-register-auth.xml'),
    '-i',
    '127.0.0.1',
    ...extra,
    '-nostdin',
    '-s',
    '8888',
    '-au',
    '8888',
    '-ap',
    '8888-secret',
    `127.0.0.1:${port}`,
  ];
}

/** Run SIPp in a scratch directory (its logs); resolves with its exit code and the tail of its output. */
function sipp(place: Placement, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'regbench-sipp-'));
  return new Promise((resolve) => {
    const child = place.spawn('load', 'sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, out });
    });
  });
}

/** The unmeasured warm-up run of {@link WARMUP} registrations. */
export async function warmUp(place: Placement, port: number): Promise<void> {
  await sipp(
    place,
    sippArgs(port, ['-p', '0', '-m', String(WARMUP), '-r', String(WARMUP_RATE), '-l', '400']),
    30_000 + (WARMUP * 1000) / WARMUP_RATE,
  );
}

/**
 * A SIPp sending the trickle to `port` until stopped, and in any case (should this process die
 * first) for no longer than `seconds` (then SIPp lets its open calls time out and exits).
 */
export function startTrickle(place: Placement, port: number, seconds: number): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'regbench-trickle-'));
  const args = sippArgs(port, [
    '-p',
    '0',
    '-r',
    String(TRICKLE),
    '-m',
    String(Math.ceil(TRICKLE * seconds)),
    '-timeout',
    `${seconds}s`,
  ]);
  const c = place.spawn('load', 'sipp', args, { cwd: dir, stdio: 'ignore' });
  c.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return c;
}

/**
 * `n` registrations at {@link RATE}/s to `port` from a fresh SIPp: the CPU `pid` (its threads
 * and children) spent meanwhile, in ms, and how many JIT events (optimisations and
 * deoptimisations) `jit` logged; prints one line under `name`.
 */
export async function measure(
  place: Placement,
  name: string,
  n: number,
  pid: number,
  port: number,
  jit?: JitEvents,
): Promise<{ ms: number; jitEvents: number | undefined }> {
  const j0 = jit?.snapshot();
  const before = procCpuNs(pid, true);
  const r = await sipp(
    place,
    sippArgs(port, ['-p', String(await freePort()), '-t', 'u1', '-m', String(n), '-r', String(RATE), '-l', '200']),
    120_000,
  );
  const ms = (procCpuNs(pid, true) - before) / 1e6;
  const ok = /Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.out)?.[1];
  const failed = /Failed call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.out)?.[1];
  const j1 = jit?.snapshot();
  const opt = j0 && j1 ? j1.optimised - j0.optimised : undefined;
  const deopt = j0 && j1 ? j1.deoptimised - j0.deoptimised : undefined;
  const jitText = opt === undefined ? '' : `, JIT ${opt} optimised / ${deopt} deoptimised`;
  process.stdout.write(
    `${name}: ${n} registrations at ${RATE}/s, SIPp exit ${r.code}, successful ${ok ?? '?'}, failed ${failed ?? '?'}, CPU ${ms.toFixed(1)} ms${jitText}\n`,
  );
  return { ms, jitEvents: opt === undefined ? undefined : opt + deopt! };
}
