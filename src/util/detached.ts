/**
 * Owners for fire-and-forget work. A promise nobody awaits must still have someone who hears its
 * failure: {@link runDetached} starts the work, catches a synchronous throw as well as a
 * rejection, and hands the error to `onError` (for a call: log it and release that call) so one
 * bad call never reaches the process's `unhandledRejection` / `uncaughtException` (docs/calls.md,
 * "Resilience").
 */
import type { Logger } from './logger.js';

/**
 * Run `work` (a function, or a promise already started) without awaiting it. A throw or a
 * rejection goes to `onError`, which owns it (logs it, releases what it concerns); without
 * `onError` it is logged at `error` with `what`. An error thrown by `onError` itself is logged
 * and goes no further.
 */
export function runDetached(
  logger: Pick<Logger, 'error'>,
  what: string,
  work: Promise<unknown> | (() => unknown),
  onError?: (err: unknown) => void,
): void {
  const fail = (err: unknown): void => {
    if (!onError) {
      logger.error({ err, what }, 'detached work failed');
      return;
    }
    try {
      onError(err);
    } catch (err2) {
      logger.error({ err: err2, what }, 'error handler of detached work failed');
    }
  };
  let p: unknown;
  try {
    p = typeof work === 'function' ? work() : work;
  } catch (err) {
    fail(err);
    return;
  }
  if (p instanceof Promise) p.catch(fail);
}
