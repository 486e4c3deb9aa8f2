/**
 * Process figures for benchmarks, read from Linux `/proc` (proc(5)): resident memory and CPU
 * time of another process (the server child, SIPp, Kamailio).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of `/proc/PID/stat` utime/stime (`getconf CLK_TCK`, 100 on Linux). */
export const CLK_TCK = 100;

/** Memory of a process from `/proc/PID/status`, in bytes. */
export interface ProcMemory {
  /** `VmRSS`: resident set size now. */
  rss: number;
  /** `VmHWM`: peak resident set size since the process started. */
  peakRss: number;
}

/** `VmRSS` and `VmHWM` of `pid` in bytes (proc(5) `/proc/PID/status`). */
export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
}

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * utime + stime of `pid` in clock ticks ({@link CLK_TCK} per second); with `children`, its
 * direct children's too (Kamailio's worker processes).
 */
export function procCpuTicks(pid: number, children = false): number {
  let total = 0;
  for (const p of withChildren(pid, children)) {
    const f = statFields(p);
    if (f) total += Number(f[11]) + Number(f[12]);
  }
  return total;
}

/** `pid`, and with `children` its direct children (parent pid, field 4 of `/proc/PID/stat`). */
function withChildren(pid: number, children: boolean): number[] {
  const pids = [pid];
  if (!children) return pids;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[1]) === pid) pids.push(Number(entry));
  }
  return pids;
}

const HAS_SCHEDSTAT = existsSync('/proc/self/schedstat');

/**
 * Time `pid`'s threads have spent on a CPU, in nanoseconds: the scheduler's own runtime account
 * (first field of `/proc/PID/task/TID/schedstat`, proc(5)), summed over the threads alive now;
 * with `children`, its direct children's threads too. Unlike utime/stime (whole clock ticks
 * charged to whoever runs when the tick fires), this is exact for a server that runs in bursts
 * of tens of microseconds: 6,000 registrations are about 60 ticks, so tick sampling alone adds
 * ± 10 % of noise. Falls back to {@link procCpuTicks} × 10^7 where schedstat is missing.
 */
export function procCpuNs(pid: number, children = false): number {
  if (!HAS_SCHEDSTAT) return procCpuTicks(pid, children) * (1e9 / CLK_TCK);
  let total = 0;
  for (const p of withChildren(pid, children)) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        total += Number(readFileSync(`/proc/${p}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  }
  return total;
}

/** Bytes as megabytes (10^6 bytes, as in a "500 MB" requirement) with one decimal (`123.4`). */
export function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
