/**
 * Process figures for benchmarks, read from Linux `/proc` (proc(5)): resident memory and CPU
 * time of another process (the server child, SIPp, Kamailio).
 */
import { readFileSync, readdirSync } from 'node:fs';

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
  const own = statFields(pid);
  let total = own ? Number(own[11]) + Number(own[12]) : 0;
  if (!children) return total;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[1]) === pid) total += Number(f[11]) + Number(f[12]);
  }
  return total;
}

/** Bytes as megabytes (10^6 bytes, as in a "500 MB" requirement) with one decimal (`123.4`). */
export function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
