/**
 * The load of the server process (behaviour §13: what a bulk reconfiguration throttles on): CPU
 * use and event-loop lag, sampled continuously in short slots so that every reader sees the
 * same sliding window however often it polls (`GET /api/status` every 200 ms, the change-set
 * queue's lag gate every 20 ms).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Options of {@link LoadMeter}. */
export interface LoadMeterOptions {
  /** Length of one sample slot (default 100 ms). */
  slotMs?: number;
  /** Slots in the reported window (default 10: about the last second). */
  slots?: number;
}

interface Slot {
  cpuUs: number;
  elapsedUs: number;
  /** Sum of the event-loop delay samples (ns) and their count. */
  lagSumNs: number;
  lagCount: number;
  lagMaxNs: number;
}

/** The event-loop delay sampling interval (ms): reported lag is the delay beyond it. */
const RESOLUTION_MS = 10;

/** CPU and event-loop lag over a sliding window of about one second. */
export class LoadMeter {
  private readonly hist: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private readonly slotMs: number;
  private readonly maxSlots: number;
  private readonly window: Slot[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  constructor(options: LoadMeterOptions = {}) {
    this.slotMs = options.slotMs ?? 100;
    this.maxSlots = options.slots ?? 10;
  }

  /** Starts sampling (idempotent). */
  start(): void {
    if (this.timer) return;
    this.hist.enable();
    this.lastCpu = process.cpuUsage();
    this.lastAt = process.hrtime.bigint();
    this.timer = setInterval(() => this.sample(), this.slotMs);
    this.timer.unref();
  }

  /** Stops sampling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.hist.disable();
  }

  private sample(): void {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    const count = this.hist.count;
    this.window.push({
      cpuUs: cpu.user + cpu.system,
      elapsedUs: Number(now - this.lastAt) / 1000,
      lagSumNs: count > 0 ? this.hist.mean * count : 0,
      lagCount: count,
      lagMaxNs: count > 0 ? this.hist.max : 0,
    });
    this.lastAt = now;
    this.hist.reset();
    if (this.window.length > this.maxSlots) this.window.shift();
  }

  /** CPU use of the process over the window, percent of one core (one decimal). */
  cpuPercent(): number {
    let cpu = 0;
    let elapsed = 0;
    for (const s of this.window) {
      cpu += s.cpuUs;
      elapsed += s.elapsedUs;
    }
    return elapsed > 0 ? Math.round((cpu / elapsed) * 1000) / 10 : 0;
  }

  /** Mean event-loop delay beyond the 10 ms sampling interval over the window (ms, two decimals). */
  eventLoopLagMs(): number {
    return lagOf(this.window);
  }

  /** Largest single event-loop delay beyond the sampling interval over the window (ms). */
  eventLoopLagMaxMs(): number {
    let max = 0;
    for (const s of this.window) max = Math.max(max, s.lagMaxNs);
    return max > 0 ? round2(Math.max(0, max / 1e6 - RESOLUTION_MS)) : 0;
  }

  /**
   * The lag now: the mean delay of the last slot (about the last 100 ms), or of the samples
   * taken since, when that is higher. What the change-set queue's lag gate compares with
   * `config-apply-max-lag`.
   */
  recentLagMs(): number {
    const last = this.window.length ? lagOf(this.window.slice(-1)) : 0;
    const current =
      this.hist.count > 0 ? lagOf([{ lagSumNs: this.hist.mean * this.hist.count, lagCount: this.hist.count }]) : 0;
    return Math.max(last, current);
  }
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function lagOf(slots: readonly Pick<Slot, 'lagSumNs' | 'lagCount'>[]): number {
  let sum = 0;
  let n = 0;
  for (const s of slots) {
    sum += s.lagSumNs;
    n += s.lagCount;
  }
  if (n === 0) return 0;
  const ms = sum / n / 1e6 - RESOLUTION_MS;
  return Number.isFinite(ms) ? round2(Math.max(0, ms)) : 0;
}
