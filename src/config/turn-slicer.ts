/**
 * Runs long work in short turns of the event loop: a {@link TurnSlicer} drives generators step
 * by step and yields to the event loop (`setImmediate`: pending I/O such as SIP datagrams runs
 * first) once the current turn has lasted `sliceMs`. It also measures the turns, so that a
 * caller can report how long the work held the event loop in all and at most at once.
 */
import { performance } from 'node:perf_hooks';

/** Yields to the event loop: resolves after the I/O that is pending now has run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Drives generators in turns of about `sliceMs` and measures the turns. */
export class TurnSlicer {
  private turnStart = performance.now();
  private busy = 0;
  private longest = 0;

  /** @param sliceMs how long one turn may last before the slicer yields (ms) */
  constructor(private readonly sliceMs: number) {}

  /** Runs `steps` to its end, yielding to the event loop between its steps when the turn is over. */
  async run<T>(steps: Generator<void, T, void>): Promise<T> {
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (performance.now() - this.turnStart >= this.sliceMs) await this.yield();
    }
  }

  /** Ends the current turn and resolves at the start of the next one. */
  async yield(): Promise<void> {
    this.endTurn();
    await nextTurn();
    this.turnStart = performance.now();
  }

  /** Ends the current turn (call once the work is done, before reading the figures). */
  endTurn(): void {
    const ms = performance.now() - this.turnStart;
    this.busy += ms;
    if (ms > this.longest) this.longest = ms;
    this.turnStart = performance.now();
  }

  /** The time the work held the event loop, all turns together (ms). */
  get busyMs(): number {
    return this.busy;
  }

  /** The longest turn (ms). */
  get longestTurnMs(): number {
    return this.longest;
  }
}

/**
 * `JSON.stringify(items)` in steps of `every` items: the generator yields between them and
 * returns the same text as one `JSON.stringify` call.
 */
export function* stringifySteps(items: readonly unknown[], every = 64): Generator<void, string, void> {
  const parts: string[] = [];
  for (let i = 0; i < items.length; i += every) {
    const chunk = JSON.stringify(items.slice(i, i + every));
    parts.push(chunk.slice(1, -1));
    yield;
  }
  return `[${parts.join(',')}]`;
}
