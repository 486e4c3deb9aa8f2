/**
 * Where a benchmark runs its processes: the servers under test on CPU 0 and the load generator
 * (SIPp) on CPU 1, as on a real site, where the phones are other machines. Left to itself, the
 * kernel of a small VM may run SIPp on the server's CPU, where it preempts the server at every
 * answer; the server's CPU time then includes being preempted by SIPp and running on caches
 * SIPp just used (docs/benchmarks.md, "REGISTER, session 9"). Needs two CPUs and `taskset`
 * (util-linux); otherwise, or when a bench is told not to pin, the kernel places everything.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { onCpu } from '../../test/helpers/taskset.js';

/** A process's side of the benchmark. */
export type Role = 'server' | 'load';

/** The placement a bench uses (see {@link placement}). */
export interface Placement {
  /** The CPU of `role` when pinned, else `undefined`. */
  cpu(role: Role): number | undefined;
  /** `spawn`, on the CPU of `role` when pinned (the same pid: `taskset` execs the command). */
  spawn(role: Role, cmd: string, args: readonly string[], opts: SpawnOptions): ChildProcess;
  /** One line for the bench's output saying where things run. */
  line(): string;
}

/**
 * The placement for a bench: pinned when `pin` is true and the machine allows it; `off` says how
 * to turn it off (for the line printed). Decided on first use.
 */
export function placement(pin: boolean, off: string): Placement {
  let pinned: boolean | undefined;
  const isPinned = (): boolean =>
    (pinned ??= pin && availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0);
  const cpu = (role: Role): number | undefined => (isPinned() ? (role === 'server' ? 0 : 1) : undefined);
  return {
    cpu,
    spawn: (role, cmd, args, opts) => {
      const [c, a] = onCpu(cpu(role), cmd, args);
      return spawn(c, a, opts);
    },
    line: () =>
      isPinned()
        ? `placement: servers on CPU 0, every SIPp on CPU 1 (${off} to let the kernel place them)\n`
        : 'placement: left to the kernel\n',
  };
}
