import type { Clock } from '../util/clock.js';

/** Options of {@link AuthFailureLimiter}. */
export interface AuthFailureLimiterOptions {
  clock: Clock;
  /** Failures allowed in a burst per source address (default 20). */
  burst?: number;
  /** Failures forgiven per second (default 0.2, i.e. one every 5 s). */
  refillPerSecond?: number;
  /** Maximum number of source addresses remembered (default 10 000, least recently used dropped). */
  maxSources?: number;
}

/**
 * Token bucket per source IP for failed authentications and unknown-number registrations
 * (RFC 3261 §26.3.2.4 advises against brute force; Kamailio's `pike`/`htable` do the same).
 * Memory is bounded by `maxSources`; an evicted source simply starts with a full bucket.
 */
export class AuthFailureLimiter {
  private readonly clock: Clock;
  private readonly burst: number;
  private readonly refill: number;
  private readonly maxSources: number;
  /** ip → bucket; Map order = least recently used first. */
  private readonly buckets = new Map<string, { tokens: number; at: number; until: number }>();

  constructor(opts: AuthFailureLimiterOptions) {
    this.clock = opts.clock;
    this.burst = opts.burst ?? 20;
    this.refill = opts.refillPerSecond ?? 0.2;
    this.maxSources = opts.maxSources ?? 10_000;
  }

  /** Number of sources tracked (bounded by `maxSources`). */
  get tracked(): number {
    return this.buckets.size;
  }

  /**
   * Seconds the source must wait before it is served again, or 0 if it may be served now. A
   * source whose bucket ran dry is locked out for one refill period (1 / refillPerSecond s).
   * Use it as `Retry-After` of a 503 (RFC 3261 §21.5.4, §20.33).
   */
  blockedFor(ip: string): number {
    const b = this.buckets.get(ip);
    if (!b) return 0;
    const left = b.until - this.clock.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Record one failure from `ip`. */
  fail(ip: string): void {
    const now = this.clock.now();
    let b = this.buckets.get(ip);
    if (b) {
      b.tokens = this.current(b);
      b.at = now;
      this.buckets.delete(ip);
    } else {
      b = { tokens: this.burst, at: now, until: 0 };
    }
    b.tokens = Math.max(-this.burst, b.tokens - 1);
    // Out of tokens: locked out for the time one token takes to come back, in whole seconds.
    if (b.tokens < 1) b.until = now + Math.ceil(1 / this.refill) * 1000;
    this.buckets.set(ip, b);
    while (this.buckets.size > this.maxSources) {
      const oldest = this.buckets.keys().next();
      if (oldest.done) break;
      this.buckets.delete(oldest.value);
    }
  }

  private current(b: { tokens: number; at: number; until: number }): number {
    return Math.min(this.burst, b.tokens + ((this.clock.now() - b.at) / 1000) * this.refill);
  }
}
