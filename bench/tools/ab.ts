/**
 * A/B comparison of two builds of our server under SIPp's REGISTER flow: does a change pay?
 * Per-round ratios against Kamailio move by ± 15 % between minutes on a small VM, more than most
 * single changes to the hot path are worth; two of our servers loaded in turn under the same flow
 * tell a change from noise far better.
 *
 *   npx tsx bench/tools/ab.ts [options] [DIR_A] [DIR_B]
 *
 * DIR_A and DIR_B are checkouts (worktrees) whose `src/` is run, each with its own
 * `node_modules` (a symlink does); both default to this checkout, which makes an A/A run: the
 * noise to beat. A change stays only when its B/A is further from 1 than an A/A run's.
 *
 *   --rounds N          rounds (default 20); each loads A, then B
 *   --registrations N   registrations per load (default 3000, at 600/s)
 *   --a-flags="…"       extra Node/V8 flags for A's server (also --b-flags); with `=`, as
 *                       the value starts with `--`: --b-flags="--no-memory-reducer --foo"
 *   --a-env "K=V …"     extra environment for A's server (also --b-env)
 *   --a-mode MODE       what A runs (also --b-mode): `full` (stack + registrar + digest, the
 *                       default), `noop` (stack with a trivial handler), `floor` (bare node:dgram
 *                       responder): e.g. `--a-mode floor` measures our cost over Node's own
 *   --no-pin            let the kernel place the processes (default: both servers on CPU 0,
 *                       every SIPp on CPU 1, as the register bench)
 *
 * For example, the working tree against the last commit:
 *
 *   git worktree add /tmp/base HEAD && ln -s "$PWD/node_modules" /tmp/base/
 *   npx tsx bench/tools/ab.ts . /tmp/base
 *
 * Both servers are warmed up at once and get the trickle, so that neither idles while the other
 * warms up or is measured (a server left idle came out 4 – 12 % dearer in A/A runs); each round
 * loads A then B (with the order alternating, A B B A, the side that ran twice in a row was
 * cheaper in its second run). Prints each round's B/A, their median and the ratio of the sums;
 * the first round often includes V8 re-optimising after the warm-up: read the median.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { placement } from '../helpers/placement.js';
import { RATE, measure, medianOf, startServer, startTrickle, stop, warmUp } from '../helpers/register-load.js';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '20' },
    registrations: { type: 'string', default: '3000' },
    'a-flags': { type: 'string', default: '' },
    'b-flags': { type: 'string', default: '' },
    'a-env': { type: 'string', default: '' },
    'b-env': { type: 'string', default: '' },
    'a-mode': { type: 'string', default: 'full' },
    'b-mode': { type: 'string', default: 'full' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.max(1, Number(opt.rounds));
const N = Math.max(1, Number(opt.registrations));
const PLACE = placement(!opt['no-pin'], '--no-pin');

/** One side's settings. */
function side(name: 'a' | 'b', dir: string) {
  const mode = opt[`${name}-mode`] as string;
  if (!['full', 'noop', 'floor'].includes(mode)) throw new Error(`--${name}-mode: full, noop or floor, not ${mode}`);
  const words = (s: string): string[] => s.split(' ').filter(Boolean);
  const env: Record<string, string> = {};
  for (const w of words(opt[`${name}-env`] as string)) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`--${name}-env: ${w} is not NAME=value`);
    env[w.slice(0, eq)] = w.slice(eq + 1);
  }
  const flags = words(opt[`${name}-flags`] as string);
  return {
    root: resolve(dir),
    mode: mode as 'full' | 'noop' | 'floor',
    flags,
    env,
    label: `${name.toUpperCase()}: ${mode} ${resolve(dir)} ${[...words(opt[`${name}-env`] as string), ...flags].join(' ')}\n`,
  };
}

const a = side('a', positionals[0] ?? '.');
const b = side('b', positionals[1] ?? positionals[0] ?? '.');
const dataA = mkdtempSync(join(tmpdir(), 'ab-a-'));
const dataB = mkdtempSync(join(tmpdir(), 'ab-b-'));
const background: ChildProcess[] = [];
const children: ChildProcess[] = [];
try {
  const sa = await startServer(PLACE, { root: a.root, mode: a.mode, data: dataA, extraFlags: a.flags, env: a.env });
  children.push(sa.child);
  const sb = await startServer(PLACE, { root: b.root, mode: b.mode, data: dataB, extraFlags: b.flags, env: b.env });
  children.push(sb.child);
  process.stdout.write(a.label + b.label + PLACE.line());
  const seconds = Math.ceil(ROUNDS * 2 * (N / RATE + 10) + 120);
  for (const port of [sa.port, sb.port]) background.push(startTrickle(PLACE, port, seconds));
  await Promise.all([warmUp(PLACE, sa.port), warmUp(PLACE, sb.port)]);
  const ratios: number[] = [];
  let sumA = 0;
  let sumB = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const ma = await measure(PLACE, 'A', N, sa.child.pid!, sa.port, sa.jit);
    const mb = await measure(PLACE, 'B', N, sb.child.pid!, sb.port, sb.jit);
    sumA += ma.ms;
    sumB += mb.ms;
    ratios.push(mb.ms / Math.max(1e-3, ma.ms));
  }
  process.stdout.write(
    `B/A per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${medianOf(ratios).toFixed(2)}; ratio of the sums ${(sumB / Math.max(1e-3, sumA)).toFixed(3)}\n`,
  );
} finally {
  for (const c of background) await stop(c);
  for (const c of children) await stop(c);
  rmSync(dataA, { recursive: true, force: true });
  rmSync(dataB, { recursive: true, force: true });
}
