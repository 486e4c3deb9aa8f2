/**
 * The configuration change-set queue (behaviour §13, docs/admin-api.md "Change-set queue"):
 * change-sets from the admin API are applied one at a time in arrival order; the one at the
 * head waits while the event-loop lag is over `config-apply-max-lag` (at most
 * `config-apply-max-wait` from its arrival, then it is applied anyway), and a change-set that
 * arrives when `config-queue-size` are already waiting is refused ({@link QueueFullError}).
 */
import { performance } from 'node:perf_hooks';
import type { ConfigStoreStatus } from '../../config/config-writer.js';

/** The limits, read at every decision (they are application options: a change applies at once). */
export interface ChangeSetQueueSettings {
  /** Event-loop lag (ms) above which the head waits; 0 = never wait. */
  maxLagMs: number;
  /** Longest wait (ms) from arrival before a change-set is applied regardless of the lag. */
  maxWaitMs: number;
  /** Change-sets that may wait at once; one more is refused. */
  size: number;
}

/** Dependencies of {@link ChangeSetQueue}. */
export interface ChangeSetQueueOptions {
  /** The lag now (ms), e.g. `LoadMeter.recentLagMs`. */
  lagMs: () => number;
  settings: () => ChangeSetQueueSettings;
  /** The configuration version now (for {@link ChangeSetQueue.status}). */
  version: () => number;
  /** How often a held head looks at the lag again (default 20 ms). */
  pollMs?: number;
  /** The store of record's state (for {@link ChangeSetQueue.status}); absent: not reported. */
  store?: () => ConfigStoreStatus;
}

/** The `config` section of `GET /api/status`. */
export interface ConfigQueueStatus {
  /** Version of the last committed change-set. */
  version: number;
  /** Change-sets accepted and not applied yet (the one held at the lag gate included). */
  queueDepth: number;
  /** True while the head change-set is held at the lag gate or being applied. */
  applying: boolean;
  /**
   * Time the last change-set the queue ran held the event loop to validate, store and deliver
   * it (ms), all its turns together.
   */
  lastApplyMs: number;
  /**
   * Its longest single turn of the event loop (ms): what SIP messages arriving meanwhile may
   * wait. The same as `lastApplyMs` for a change-set applied in one turn.
   */
  lastApplyLongestTurnMs: number;
  /** Change-sets applied through the queue since the server started. */
  appliedChangeSets: number;
  /** Which store runs, whether it is reachable and the version of its log (docs/cluster.md). */
  store?: ConfigStoreStatus;
}

/** Thrown (as a rejection) by {@link ChangeSetQueue.submit} when the queue is full: answer 503. */
export class QueueFullError extends Error {
  constructor(readonly size: number) {
    super('configuration queue full');
  }
}

/** Rejection of what waits, or arrives, once the queue is closed (server stopping): answer 503. */
export class QueueClosedError extends Error {
  constructor() {
    super('the server is stopping');
  }
}

/** Observer of the queue (the `/metrics` figures). */
export interface ChangeSetQueueObserver {
  /** A change-set left the queue: how long it waited (s) and how long it ran (s). */
  onRun(waitSeconds: number, runSeconds: number): void;
  /** A change-set was refused because the queue was full. */
  onFull(): void;
}

interface Job {
  run: () => unknown;
  arrivedAt: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * How long a job's result says it held the event loop (`busyMs`, all turns) and its longest
 * turn (`longestTurnMs`), as `ConfigStore.applyAsync` reports them; undefined when it does not.
 */
function turnsOf(v: unknown): { busyMs: number; longestTurnMs: number } | undefined {
  const r = v as { busyMs?: unknown; longestTurnMs?: unknown } | null | undefined;
  return typeof r?.busyMs === 'number' && typeof r.longestTurnMs === 'number'
    ? { busyMs: r.busyMs, longestTurnMs: r.longestTurnMs }
    : undefined;
}

const isPromise = (v: unknown): v is Promise<unknown> =>
  typeof (v as { then?: unknown } | null | undefined)?.then === 'function';

/** Applies submitted jobs one at a time, in arrival order, behind the lag gate. */
export class ChangeSetQueue {
  private readonly jobs: Job[] = [];
  private timer: NodeJS.Timeout | undefined;
  private holding = false;
  private closed = false;
  private lastApplyMs = 0;
  private lastApplyLongestTurnMs = 0;
  private applied = 0;
  private readonly observers = new Set<ChangeSetQueueObserver>();
  private readonly pollMs: number;

  constructor(private readonly options: ChangeSetQueueOptions) {
    this.pollMs = options.pollMs ?? 20;
  }

  /** Change-sets accepted and not applied yet. */
  get depth(): number {
    return this.jobs.length;
  }

  /**
   * Queues `run` (which applies one change-set and throws, or rejects, when it is refused) and
   * resolves with its result once it ran. `run` may return a promise (`ConfigStore.applyAsync`):
   * the next change-set starts only once it settled. Rejects with {@link QueueFullError} at once
   * when `size` change-sets are already waiting; with `run`'s error when it fails.
   */
  submit<T>(run: () => T | Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    const { size } = this.options.settings();
    if (this.jobs.length >= size) {
      for (const o of this.observers) o.onFull();
      return Promise.reject(new QueueFullError(size));
    }
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({ run, arrivedAt: performance.now(), resolve: resolve as (v: unknown) => void, reject });
      if (this.jobs.length === 1) this.schedule(0);
    });
  }

  /** The `config` section of `GET /api/status`. */
  status(): ConfigQueueStatus {
    return {
      version: this.options.version(),
      queueDepth: this.jobs.length,
      applying: this.holding,
      lastApplyMs: this.lastApplyMs,
      lastApplyLongestTurnMs: this.lastApplyLongestTurnMs,
      appliedChangeSets: this.applied,
      ...(this.options.store ? { store: this.options.store() } : {}),
    };
  }

  /** Registers an observer; returns the detach function. */
  observe(o: ChangeSetQueueObserver): () => void {
    this.observers.add(o);
    return () => this.observers.delete(o);
  }

  /** Refuses what is still waiting and stops (server shutdown). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const j of this.jobs.splice(0)) j.reject(new QueueClosedError());
    this.holding = false;
  }

  private schedule(ms: number): void {
    this.holding = true;
    // setImmediate-like for 0: the submitting request's handler returns first.
    this.timer = setTimeout(() => this.drain(), ms);
  }

  /**
   * Runs the head if the gate lets it through, one change-set per turn of the event loop (the
   * answers go out and the lag is measured again in between); re-arms itself while jobs wait.
   */
  private drain(): void {
    this.timer = undefined;
    const head = this.jobs[0];
    if (!head) {
      this.holding = false;
      return;
    }
    const { maxLagMs, maxWaitMs } = this.options.settings();
    const waited = performance.now() - head.arrivedAt;
    if (maxLagMs > 0 && waited < maxWaitMs && this.options.lagMs() > maxLagMs) {
      this.schedule(Math.min(this.pollMs, Math.max(1, maxWaitMs - waited)));
      return;
    }
    this.jobs.shift();
    const t0 = performance.now();
    let v: unknown;
    try {
      v = head.run();
    } catch (e) {
      this.finish(head, t0, undefined, true, e);
      return;
    }
    if (isPromise(v))
      v.then(
        (r) => this.finish(head, t0, r),
        (e: unknown) => this.finish(head, t0, undefined, true, e),
      );
    else this.finish(head, t0, v);
  }

  /**
   * A job ended: its figures, its answer, then the next one. `lastApplyMs` is the time the job
   * held the event loop and `lastApplyLongestTurnMs` its longest turn, as the job reports them
   * (an apply spread over turns), else the time it ran (one turn).
   */
  private finish(head: Job, t0: number, v: unknown, failed = false, err?: unknown): void {
    const runMs = performance.now() - t0;
    if (!failed) this.applied++;
    const turns = failed ? undefined : turnsOf(v);
    this.lastApplyMs = Math.round((turns?.busyMs ?? runMs) * 100) / 100;
    this.lastApplyLongestTurnMs = Math.round((turns?.longestTurnMs ?? runMs) * 100) / 100;
    for (const o of this.observers) o.onRun((t0 - head.arrivedAt) / 1000, runMs / 1000);
    if (failed) head.reject(err);
    else head.resolve(v);
    if (this.closed) return;
    if (this.jobs.length > 0) this.schedule(0);
    else this.holding = false;
  }
}
