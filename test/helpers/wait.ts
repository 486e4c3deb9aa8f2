/**
 * The one polling helper of the tests: wait until a condition holds, with a bounded wait and an
 * error that names what was awaited (and, optionally, what was seen instead).
 */

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** What is awaited, for the error message ("the Softswitch in service"). */
  what: string;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Time between two checks (default 50 ms). */
  intervalMs?: number;
  /** Appended to the error on timeout: what was there instead (a log tail, a state). */
  detail?: () => string;
}

/** Falsy results that mean "not yet" (0 and '' are values a predicate may well want to return). */
type NotYet = undefined | null | false;

/**
 * Check `predicate` every `intervalMs` until it returns a value other than `undefined`, `null` or
 * `false`, and return that value. A predicate that throws counts as "not yet" (the last error is
 * reported on timeout). Rejects after `timeoutMs` with "timed out after N ms waiting for WHAT".
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: WaitOptions | string,
): Promise<Exclude<T, NotYet>> {
  const o: WaitOptions = typeof opts === 'string' ? { what: opts } : opts;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const intervalMs = o.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v !== undefined && v !== null && v !== false) return v as Exclude<T, NotYet>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const parts = [`timed out after ${timeoutMs} ms waiting for ${o.what}`];
      if (lastError !== undefined)
        parts.push(`last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
      if (o.detail) {
        let d: string;
        try {
          d = o.detail();
        } catch (e) {
          d = `(detail failed: ${String(e)})`;
        }
        parts.push(d);
      }
      throw new Error(parts.join('; '));
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, left)));
  }
}

/** Options of {@link holdsFor}. */
export interface HoldOptions {
  /** What must stay true, for the error message ("no INVITE to the PBX"). */
  what: string;
  /** How long it must hold (the observation window of a negative assertion). */
  forMs: number;
  /** Time between two checks (default 50 ms). */
  intervalMs?: number;
  /** Appended to the error: what was seen instead. */
  detail?: () => string;
}

/**
 * The other half of {@link waitFor}, for a negative assertion ("no stale call is delivered"):
 * `check` must hold at every check during `forMs`; rejects at the first check that fails. Nothing
 * signals that something did not happen, so this always takes `forMs`: use it after the event
 * that would have caused the unwanted effect (it is an observation window, not a readiness wait).
 */
export async function holdsFor(check: () => boolean | Promise<boolean>, opts: HoldOptions): Promise<void> {
  const intervalMs = opts.intervalMs ?? 50;
  const end = Date.now() + opts.forMs;
  for (;;) {
    if (!(await check())) throw new Error(`no longer true: ${opts.what}${opts.detail ? `; ${opts.detail()}` : ''}`);
    const left = end - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, left)));
  }
}
