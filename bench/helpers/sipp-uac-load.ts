/**
 * One load phase of a SIPp UAC (calls at a fixed rate against a target) with what the call
 * benches read from it: successful and failed calls (`-trace_stat`) and the call-setup times
 * (INVITE → 200, the scenario's `rtd` response, `-trace_rtt`, 1 ms resolution).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What {@link runUacLoad} runs. */
export interface UacLoad {
  /** Scenario file (its 200 to the INVITE carries `rtd="true"`). */
  scenario: string;
  /** `host:port` of the system under test. */
  target: string;
  /** Request-URI user part (`-s`). */
  service: string;
  rate: number;
  calls: number;
  /** Simultaneous calls at most (`-l`). */
  limit: number;
  /** Talk time (`-d`, ms). */
  pauseMs: number;
  /** Give up (SIGKILL) after this long. */
  timeoutMs: number;
}

/** Outcome of {@link runUacLoad}. */
export interface UacLoadResult {
  ok: number;
  failed: number;
  /** Setup times in ms, sorted. */
  setupMs: number[];
  wallMs: number;
}

/** Resolve when `child` exits (SIGKILL after `timeoutMs`). */
export function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** The `p`th percentile of sorted values (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Run the UAC phase to its end. */
export async function runUacLoad(load: UacLoad): Promise<UacLoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-uac-'));
  const t0 = Date.now();
  const uac = spawn(
    'sipp',
    [
      '-sf',
      load.scenario,
      '-i',
      '127.0.0.1',
      '-nostdin',
      '-t',
      'u1',
      '-p',
      '0',
      '-s',
      load.service,
      '-d',
      String(load.pauseMs),
      '-r',
      String(load.rate),
      '-m',
      String(load.calls),
      '-l',
      String(load.limit),
      '-trace_rtt',
      '-rtt_freq',
      '100',
      '-trace_stat',
      '-stf',
      join(dir, 'stat.csv'),
      '-fd',
      '1',
      load.target,
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  await exited(uac, load.timeoutMs);
  const wallMs = Date.now() - t0;
  let ok = 0;
  let failed = 0;
  try {
    const lines = readFileSync(join(dir, 'stat.csv'), 'utf8').trim().split('\n');
    const head = lines[0]!.split(';');
    const last = lines[lines.length - 1]!.split(';');
    ok = Number(last[head.indexOf('SuccessfulCall(C)')]);
    failed = Number(last[head.indexOf('FailedCall(C)')]);
  } catch {
    failed = load.calls;
  }
  const setupMs: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('_rtt.csv'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n').slice(1)) {
      const v = Number(line.split(';')[1]);
      if (Number.isFinite(v) && line.trim()) setupMs.push(v);
    }
  }
  setupMs.sort((a, b) => a - b);
  rmSync(dir, { recursive: true, force: true });
  return { ok, failed, setupMs, wallMs };
}
