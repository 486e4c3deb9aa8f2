/**
 * Timer values of the transaction layer (RFC 3261 §17.1.1.1, §17.1.2.1, §17.2.1, §17.2.2,
 * table in Appendix A).
 */

/** The base values an operator may tune, in milliseconds. */
export interface TimerSettings {
  /** RTT estimate, default 500 ms (RFC 3261 §17.1.1.1). */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  t2: number;
  /** Maximum duration a message stays in the network, default 5 s. */
  t4: number;
  /** Timer D (wait time for response retransmits, unreliable transport), at least 32 s (RFC 3261 §17.1.1.2). */
  timerD: number;
  /**
   * Delay before an INVITE server transaction sends 100 Trying on its own when the TU has not
   * answered yet (RFC 3261 §17.2.1: "unless it knows that the TU will generate a provisional or
   * final response within 200 ms"). 0 sends it at once.
   */
  trying100Delay: number;
}

/** RFC 3261 defaults. */
export const defaultTimerSettings: Readonly<TimerSettings> = Object.freeze({
  t1: 500,
  t2: 4000,
  t4: 5000,
  timerD: 32_000,
  trying100Delay: 200,
});

/** Merge partial settings over the defaults and check they make sense. */
export function resolveTimerSettings(partial?: Partial<TimerSettings>): TimerSettings {
  const s: TimerSettings = { ...defaultTimerSettings, ...(partial ?? {}) };
  for (const [k, v] of Object.entries(s)) {
    if (!Number.isFinite(v) || v < 0)
      throw new RangeError(`timer ${k} must be a non-negative number, got ${String(v)}`);
  }
  if (s.t1 <= 0) throw new RangeError('timer t1 must be positive');
  if (s.t2 < s.t1) throw new RangeError('timer t2 must be >= t1');
  return s;
}
