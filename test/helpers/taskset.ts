/**
 * A command confined to one CPU with `taskset -c` (util-linux; it execs the command, so the pid
 * stays the command's): the benches keep SIPp and the servers under test on CPUs of their own.
 */
import { spawnSync } from 'node:child_process';

/** `[command, args]` that run `cmd args` on CPU `cpu` only, or `cmd args` as given without a CPU. */
export function onCpu(cpu: number | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return cpu === undefined ? [cmd, [...args]] : ['taskset', ['-c', String(cpu), cmd, ...args]];
}

/**
 * Confines a running process, every thread of it (`taskset -a -p`), to CPU `cpu`; the processes it
 * starts from then on inherit that CPU. Throws when taskset fails.
 */
export function pinProcess(pid: number, cpu: number): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpu} ${pid}: ${r.stderr || r.error?.message}`);
}
