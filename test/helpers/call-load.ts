/**
 * A background call load for the migration test and benchmark: a SIPp UAC calling a routing point
 * at a fixed rate until stopped (short calls: INVITE with SDP, 200, ACK, a pause, BYE), with what
 * is read from it: successful and failed calls (`-trace_stat`) and every call's set-up time
 * (INVITE → 200, `-trace_rtt -rtt_freq 1`, 1 ms resolution) with the time it was measured, so a
 * window (before / during a migration) can be cut out of one run.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startSipp, type SippPeer } from './sipp.js';

/** One call's set-up time. */
export interface SetupSample {
  /** When SIPp measured it (ms since the epoch, ± the few ms SIPp took to start). */
  at: number;
  /** INVITE → 200, ms. */
  ms: number;
}

/** Counts and set-up times of a {@link CallLoad} so far. */
export interface CallLoadStats {
  ok: number;
  failed: number;
  samples: SetupSample[];
}

/** Options of {@link startCallLoad}. */
export interface CallLoadOptions {
  /** The UAC scenario (its 200 carries `rtd="true"`). */
  scenario: string;
  /** `host:port` of the server. */
  target: string;
  /** The number called (`-s`), the routing point. */
  service: string;
  /** Calls per second. */
  rate: number;
  /** Talk time (`-d`, ms). */
  pauseMs: number;
  /** Calls placed at most (`-m`; default: until {@link CallLoad.stop}). */
  calls?: number;
}

/** The `p`th percentile of sorted values (NaN when empty). */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** p`p` of the set-up times measured in [from, to) (ms since the epoch). */
export function setupPercentile(samples: readonly SetupSample[], p: number, from = 0, to = Infinity): number {
  const ms = samples
    .filter((s) => s.at >= from && s.at < to)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  return percentileOf(ms, p);
}

/** A running call load. */
export class CallLoad {
  constructor(
    readonly peer: SippPeer,
    /** When SIPp was started (ms since the epoch): its `-trace_rtt` dates count from about then. */
    readonly startedAt: number,
  ) {}

  /** The set-up times recorded so far (SIPp flushes them every call). */
  samples(): SetupSample[] {
    const out: SetupSample[] = [];
    for (const f of readdirSync(this.peer.dir).filter((n) => n.endsWith('_rtt.csv'))) {
      for (const line of readFileSync(join(this.peer.dir, f), 'utf8').split('\n').slice(1)) {
        const [at, ms] = line.split(';').map(Number);
        if (line.trim() && Number.isFinite(at) && Number.isFinite(ms)) out.push({ at: this.startedAt + at!, ms: ms! });
      }
    }
    return out;
  }

  /** Successful and failed calls at SIPp's last statistics dump (every second). */
  counts(): { ok: number; failed: number } {
    let text = '';
    for (const f of readdirSync(this.peer.dir).filter((n) => n.endsWith('.csv') && !n.endsWith('_rtt.csv')))
      text = readFileSync(join(this.peer.dir, f), 'utf8');
    const lines = text.trim().split('\n');
    if (lines.length < 2) return { ok: 0, failed: 0 };
    const head = lines[0]!.split(';');
    const last = lines[lines.length - 1]!.split(';');
    return {
      ok: Number(last[head.indexOf('SuccessfulCall(C)')]),
      failed: Number(last[head.indexOf('FailedCall(C)')]),
    };
  }

  /** p`p` of the set-up times measured so far in [from, to) (ms since the epoch). */
  setupPercentile(p: number, from = 0, to = Infinity): number {
    return setupPercentile(this.samples(), p, from, to);
  }

  /**
   * Stop placing calls (SIGUSR1: SIPp lets the calls in progress end), wait for SIPp to exit and
   * return the final counts and samples; the scratch directory is removed.
   */
  async stop(timeoutMs = 20_000): Promise<CallLoadStats> {
    if (this.peer.running) {
      this.peer.child.kill('SIGUSR1');
      await this.peer.waitExit(timeoutMs).catch(() => this.peer.child.kill('SIGKILL'));
    }
    const stats = { ...this.counts(), samples: this.samples() };
    await this.peer.stop();
    return stats;
  }
}

/** Start the load; resolves once SIPp runs (its first calls may still be on their way). */
export async function startCallLoad(o: CallLoadOptions): Promise<CallLoad> {
  const startedAt = Date.now();
  const peer = await startSipp({
    scenario: o.scenario,
    target: o.target,
    service: o.service,
    rate: o.rate,
    ...(o.calls !== undefined ? { calls: o.calls } : {}),
    limit: Math.max(50, o.rate * 20),
    pauseMs: o.pauseMs,
    traceMessages: false,
    args: ['-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1'],
  });
  return new CallLoad(peer, startedAt);
}
