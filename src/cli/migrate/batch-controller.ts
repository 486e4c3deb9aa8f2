/**
 * Batch sizing (behaviour §13: "apply in staggered batches of 50–100 DNs; grow the batch size only
 * if there is spare capacity"). Pure: fed the server load read after each batch, it says how big
 * the next batch is and how long to wait before it.
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
  /** Wait after an overloaded reading (default 1000 ms), doubled while overload lasts, up to 8×. */
  backoffMs?: number;
}

/** The load the server reported (`GET /api/status` `load`); null = not reported. */
export interface LoadReading {
  cpu: number | null;
  lag: number | null;
}

/** Decision for the next batch. */
export interface BatchDecision {
  size: number;
  waitMs: number;
  /** Why the size changed (or not), for the progress line. */
  reason: 'grow' | 'max' | 'shrink' | 'hold';
}

/** Doubles the batch while CPU and lag are under their limits; halves it and waits when they are not. */
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
    if (load.cpu === null && load.lag === null) return { size: this.current, waitMs: 0, reason: 'hold' };
    if (this.current >= this.limits.max) return { size: this.current, waitMs: 0, reason: 'max' };
    this.current = Math.min(this.limits.max, this.current * 2);
    return { size: this.current, waitMs: 0, reason: 'grow' };
  }
}
