/**
 * Common machinery of the four transaction state machines (RFC 3261 §17): state, named timers
 * on the injected clock, termination.
 */
import type { TimerHandle } from '../../util/clock.js';
import type { SipRequest } from '../message/types.js';
import { TransactionState, type TransactionKind } from './transaction-state.js';
import type { TerminationHook, TransactionContext } from './transaction-types.js';

/** Names of the RFC 3261 timers (plus L and M of RFC 6026 §8.4) a transaction can run. */
export type TimerName = 'A' | 'B' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L' | 'M' | 'Trying';

/** Base class of client and server transactions. */
export abstract class Transaction {
  /** Which of the four state machines this is. */
  abstract readonly kind: TransactionKind;
  /** Transaction id used by the manager's table (branch-based or RFC 2543 key). */
  readonly id: string;
  private requestRef: SipRequest | undefined;
  protected stateValue: TransactionState;
  /** Running timers by name, created with the first one (a small object, no Map per transaction). */
  private timerHandles: { [K in TimerName]?: TimerHandle } | undefined;
  /** Termination hooks: the first (usually the only one, the manager's) in a field, more in a list. */
  private firstHook: TerminationHook | undefined;
  private moreHooks: TerminationHook[] | undefined;

  protected constructor(
    protected readonly ctx: TransactionContext,
    request: SipRequest,
    id: string,
    initial: TransactionState,
  ) {
    this.requestRef = request;
    this.id = id;
    this.stateValue = initial;
  }

  /**
   * The request that created the transaction. A non-INVITE server transaction releases it
   * once Completed (it then only absorbs retransmissions); reading it after that throws.
   */
  get request(): SipRequest {
    if (!this.requestRef) throw new Error(`transaction ${this.id}: request released`);
    return this.requestRef;
  }

  /** Drop the reference to the request (memory of long-lived Completed transactions). */
  protected releaseRequest(): void {
    this.requestRef = undefined;
  }

  /** Current state. */
  get state(): TransactionState {
    return this.stateValue;
  }

  /** Names of the timers currently running (for tests and diagnostics). */
  get runningTimers(): TimerName[] {
    const hs = this.timerHandles;
    if (hs === undefined) return [];
    return (Object.keys(hs) as TimerName[]).filter((n) => hs[n] !== undefined);
  }

  /** Register a callback run once when the transaction reaches Terminated. */
  onTermination(hook: TerminationHook): void {
    if (this.stateValue === TransactionState.Terminated) hook(this);
    else if (this.firstHook === undefined && this.moreHooks === undefined) this.firstHook = hook;
    else (this.moreHooks ??= []).push(hook);
  }

  /** Stop every timer and go to Terminated at once (stack shutdown). */
  dispose(): void {
    this.terminate();
  }

  protected setState(next: TransactionState): void {
    this.stateValue = next;
  }

  /**
   * Start timer `name`: when it fires, `fn` runs; without `fn` the transaction terminates (timers
   * D, I, J, K, L, M), through one small closure (these run for 32 s after every call).
   */
  protected startTimer(name: TimerName, ms: number, fn?: () => void): void {
    this.stopTimer(name);
    const cb = fn === undefined ? this.terminator() : this.timerCallback(name, fn);
    (this.timerHandles ??= {})[name] = this.ctx.clock.setTimeout(cb, ms);
  }

  private timerCallback(name: TimerName, fn: () => void): () => void {
    return () => {
      if (this.timerHandles !== undefined) this.timerHandles[name] = undefined;
      fn();
    };
  }

  /** A callback that ends the transaction (terminate stops and forgets every timer). */
  private terminator(): () => void {
    return () => this.terminate();
  }

  protected stopTimer(name: TimerName): void {
    const hs = this.timerHandles;
    const h = hs?.[name];
    if (hs !== undefined && h !== undefined) {
      this.ctx.clock.clearTimeout(h);
      hs[name] = undefined;
    }
  }

  protected stopAllTimers(): void {
    const hs = this.timerHandles;
    if (hs === undefined) return;
    for (const n of Object.keys(hs) as TimerName[]) {
      const h = hs[n];
      if (h !== undefined) {
        this.ctx.clock.clearTimeout(h);
        hs[n] = undefined;
      }
    }
  }

  /** Enter Terminated: stop timers, tell the manager and subclass. Idempotent. */
  protected terminate(): void {
    if (this.stateValue === TransactionState.Terminated) return;
    this.stopAllTimers();
    this.stateValue = TransactionState.Terminated;
    this.onTerminated();
    const first = this.firstHook;
    const more = this.moreHooks;
    this.firstHook = undefined;
    this.moreHooks = undefined;
    if (first !== undefined) first(this);
    if (more !== undefined) for (const h of more) h(this);
  }

  /** Subclass hook called once on termination, before the manager's hooks. */
  protected onTerminated(): void {
    /* nothing by default */
  }
}
