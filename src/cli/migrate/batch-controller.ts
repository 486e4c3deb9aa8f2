/**
 * Batch sizing (behaviour §13: "apply in staggered batches of 50–100 DNs; grow the batch size only
 * if there is spare capacity"). Pure: fed the server load read after each batch, it says how big
 * the next batch is and how long to wait before it.
 *
 * Besides CPU and lag (the server's state over the last second), the size is held to what the
 * server applies within `maxApplyMs` at once (`config.lastApplyLongestTurnMs` of `/api/status`,
 * else `config.lastApplyMs`): the server applies a change-set in short turns of its event loop,
 * but the last one, which commits and delivers the whole change-set (about 4 µs per change),
 * grows with the batch and delays the SIP messages that arrive meanwhile.
 */

/** Limits of {@link BatchController}. */
export interface BatchLimits {
  /** First batch size (`--batch`, default 50). */
  initial: number;
  /** Largest batch (`--max-batch`, default 1000). */
  max: number;
  /** Server CPU % at or over which the batch shrinks (`--max-cpu`, default 70). */
  maxCpu: number;
  /** Event-loop lag (ms) at or over which the batch shrinks (`--max-lag`, default 50). */
  maxLag: number;
  /** Longest the server should hold its event loop at once applying one batch, ms (`--max-apply-ms`); absent: no bound. */
  maxApplyMs?: number;
  /** Wait after an overloaded reading (default 1000 ms), doubled while overload lasts, up to 8×. */
  backoffMs?: number;
}

/** The load the server reported (`GET /api/status` `load`); null = not reported. */
export interface LoadReading {
  cpu: number | null;
  lag: number | null;
  /** The longest the server held its event loop at once applying the last change-set (ms); null or absent = not reported. */
  applyMs?: number | null;
}

/** Decision for the next batch. */
export interface BatchDecision {
  size: number;
  waitMs: number;
  /** Why the size changed (or not), for the progress line. */
  reason: 'grow' | 'max' | 'shrink' | 'hold';
}

/**
 * Doubles the batch while CPU, lag and apply time are under their limits; halves it and waits when
 * CPU or lag are not; scales it to the apply-time bound (at most halving) when the apply took longer.
 */
export class BatchController {
  private current: number;
  private overloads = 0;

  constructor(private readonly limits: BatchLimits) {
    if (limits.initial < 1 || limits.max < limits.initial)
      throw new Error('batch sizes: need 1 <= --batch <= --max-batch');
    this.current = limits.initial;
  }

  /** The size of the next batch. */
  get size(): number {
    return this.current;
  }

  /** Feeds the load read after a batch; returns the next batch's size and the wait before it. */
  next(load: LoadReading): BatchDecision {
    const over =
      (load.cpu !== null && load.cpu >= this.limits.maxCpu) || (load.lag !== null && load.lag >= this.limits.maxLag);
    if (over) {
      this.overloads++;
      this.current = Math.max(1, Math.floor(this.current / 2));
      const base = this.limits.backoffMs ?? 1000;
      return { size: this.current, waitMs: base * Math.min(8, 2 ** (this.overloads - 1)), reason: 'shrink' };
    }
    this.overloads = 0;
    const applyMs = load.applyMs ?? null;
    if (load.cpu === null && load.lag === null && applyMs === null)
      return { size: this.current, waitMs: 0, reason: 'hold' };
    const cap = this.limits.maxApplyMs;
    // The size that would take `cap` to apply, at this batch's cost per agent; between half and double.
    const fit =
      cap !== undefined && applyMs !== null && applyMs > 0 ? Math.floor((this.current * cap) / applyMs) : Infinity;
    const next = Math.max(1, Math.floor(this.current / 2), Math.min(this.limits.max, this.current * 2, fit));
    const reason =
      next > this.current ? 'grow' : next < this.current ? 'shrink' : next >= this.limits.max ? 'max' : 'hold';
    this.current = next;
    return { size: next, waitMs: 0, reason };
  }
}
