import type { Clock } from '../../util/clock.js';

/**
 * Slows password guessing on `RequestOpen`: after `maxFailures` failed opens from one remote
 * address within `windowMs`, further opens from it are refused without checking for
 * `windowMs`. Bounded: at most `maxAddresses` addresses are tracked (oldest forgotten first).
 */
export class OpenFailureLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 10_000,
  ) {}

  /** True when opens from `address` are currently refused. */
  blocked(address: string | undefined): boolean {
    if (address === undefined) return false;
    const f = this.failures.get(address);
    if (!f) return false;
    if (this.clock.now() - f.since >= this.windowMs) {
      this.failures.delete(address);
      return false;
    }
    return f.count >= this.maxFailures;
  }

  /** Records a failed open from `address`. */
  fail(address: string | undefined): void {
    if (address === undefined) return;
    const now = this.clock.now();
    const f = this.failures.get(address);
    if (f && now - f.since < this.windowMs) {
      f.count++;
      return;
    }
    this.failures.delete(address);
    if (this.failures.size >= this.maxAddresses) {
      const oldest = this.failures.keys().next();
      if (!oldest.done) this.failures.delete(oldest.value);
    }
    this.failures.set(address, { count: 1, since: now });
  }

  /** Forgets the failures of `address` (after a successful open). */
  succeed(address: string | undefined): void {
    if (address !== undefined) this.failures.delete(address);
  }
}
