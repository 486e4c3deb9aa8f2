/**
 * A command confined to one CPU with `taskset -c` (util-linux; it execs the command, so the pid
 * stays the command's): the benches keep SIPp and the servers under test on CPUs of their own.
 */

/** `[command, args]` that run `cmd args` on CPU `cpu` only, or `cmd args` as given without a CPU. */
export function onCpu(cpu: number | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return cpu === undefined ? [cmd, [...args]] : ['taskset', ['-c', String(cpu), cmd, ...args]];
}
