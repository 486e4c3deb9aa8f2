/**
 * The configuration store (behaviour §2.3, §13): embedded SQLite (WAL) in the data directory
 * is the source of truth; every change is part of a versioned change-set applied atomically
 * in one SQLite transaction; committed change-sets go to in-process subscribers once, in
 * order, and stay readable as a change feed.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import type { ConfigInput } from './config-model.js';
import {
  ChangeSetError,
  type AppliedChange,
  type ChangeProblem,
  type ChangeRequest,
  type CommittedChangeSet,
} from './change-set.js';
import type { ConfigState } from './config-state.js';
import type { PlanOptions } from './change-planner.js';
import { diffModels } from './config-diff.js';
import { ChangeDelivery, readChangeSets, type ChangeSubscriber } from './change-feed.js';
import { ConfigView } from './config-view.js';
import { parseReconciledSource, RECONCILED_SOURCE_KEY, type ReconciledSource } from './reconciled-source.js';
import {
  loadState,
  openDatabase,
  prepareStatements,
  STORE_FILE,
  writeRows,
  writeServerRow,
  type StoreStatements,
} from './store-database.js';
import { stringifySteps, TurnSlicer } from './turn-slicer.js';
import { WalCheckpointer } from './wal-checkpointer.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  logger?: Logger;
  /** Open an existing store for reading only (CLI `config export`/`diff`). */
  readonly?: boolean;
}

/** Options of {@link ConfigStore.apply}. */
export interface ApplyOptions {
  /** Who makes the change (`api`, `reconcile`, `migrate`…); kept in the change feed. */
  origin?: string;
  /** Called inside the transaction every `progressEvery` rows written (progress bars, tests). */
  onProgress?: (rowsWritten: number, total: number) => void;
  progressEvery?: number;
}

/** What an applied change-set gave. */
export interface ApplyResult {
  /** The new version, or the current one when nothing changed. */
  version: number;
  changes: AppliedChange[];
  warnings: ChangeProblem[];
}

/** Options of {@link ConfigStore.applyAsync}. */
export interface ApplyAsyncOptions extends ApplyOptions {
  /** How long one turn of the event loop may last before the apply yields (ms, default 1). */
  sliceMs?: number;
  /**
   * Called once the change-set is planned and its rows written, before the SQLite commit, with
   * the change-set as it will be committed and its changes as JSON (the PostgreSQL log appends it
   * here). If it throws or rejects, nothing is applied and the error is the apply's.
   */
  beforeCommit?: (changeSet: CommittedChangeSet, changesJson: string) => Promise<void>;
}

/** What {@link ConfigStore.applyAsync} gave, with how long it held the event loop. */
export interface AsyncApplyResult extends ApplyResult {
  /** Time spent on the event loop, all turns together (ms). */
  busyMs: number;
  /** The longest single turn (ms): the last one, which commits and delivers, as a rule. */
  longestTurnMs: number;
}

/** Default {@link ApplyAsyncOptions.sliceMs}. */
export const DEFAULT_SLICE_MS = 1;

/** Receives apply/reject figures (the `/metrics` counters). */
export interface StoreObserver {
  onApplied(changeSet: CommittedChangeSet, seconds: number): void;
  onRejected(problems: number): void;
}

/**
 * Opens (creating if needed) the store in `dataDir`. The in-memory configuration and its
 * indexes are loaded from the database.
 */
export function openStore(dataDir: string, options: OpenStoreOptions = {}): ConfigStore {
  return new ConfigStore(dataDir, options);
}

/** The configuration store. Objects it hands out are shared: treat them as read-only. */
export class ConfigStore extends ConfigView {
  private readonly db: Database.Database;
  private readonly observers = new Set<StoreObserver>();
  private readonly delivery: ChangeDelivery;
  /** True while an {@link ConfigStore.applyAsync} runs: its planning and its write transaction span turns. */
  private applyingAsync = false;
  private checkpointer: WalCheckpointer | undefined;
  private readonly logger: Logger;
  private readonly stmt: StoreStatements;
  /** What changes are planned with: the change feed for `create` with `restoreFrom`. */
  private readonly planOptions: PlanOptions = { changeSetAt: (v) => this.changeSetAt(v) };

  /** Prefer {@link openStore}. */
  constructor(
    readonly dataDir: string,
    options: OpenStoreOptions = {},
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.delivery = new ChangeDelivery(this.logger);
    const ro = options.readonly === true;
    this.db = openDatabase(dataDir, ro);
    this.stmt = prepareStatements(this.db, ro);
    this.load();
  }

  private load(): void {
    const t0 = performance.now();
    this.currentVersion = loadState(this.db, this.state);
    this.logger.debug(
      { version: this.currentVersion, dns: this.state.dns.size, ms: Math.round(performance.now() - t0) },
      'configuration store loaded',
    );
  }

  /**
   * Moves the WAL checkpoints off the event loop (the server's store): the commits no longer
   * checkpoint; a worker thread does, after each commit ({@link WalCheckpointer}). If the worker
   * fails, the commits checkpoint again (SQLite's default, every 1,000 WAL pages).
   */
  checkpointInWorker(): void {
    if (this.db.readonly || this.checkpointer) return;
    this.checkpointer = new WalCheckpointer(join(this.dataDir, STORE_FILE), {
      logger: this.logger,
      onFailure: () => {
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      },
    });
    this.db.pragma('wal_autocheckpoint = 0');
  }

  /** Validates a change-set without applying it. */
  check(changes: readonly ChangeRequest[]): {
    errors: ChangeProblem[];
    warnings: ChangeProblem[];
    changes: AppliedChange[];
  } {
    const plan = this.state.plan(changes, this.planOptions);
    return { errors: plan.errors, warnings: plan.warnings, changes: plan.applied };
  }

  /**
   * Validates `changes` against the resulting configuration as a whole and applies them as
   * one change-set in one SQLite transaction. Throws {@link ChangeSetError} listing every
   * problem (nothing applied). Subscribers are called before this returns. Throws while an
   * {@link applyAsync} is under way.
   */
  apply(changes: readonly ChangeRequest[], options: ApplyOptions = {}): ApplyResult {
    this.checkWritable();
    const t0 = performance.now();
    const plan = this.state.plan(changes, this.planOptions);
    if (plan.errors.length) this.reject(plan.errors, plan.warnings);
    if (plan.applied.length === 0) return { version: this.currentVersion, changes: [], warnings: plan.warnings };
    const version = this.currentVersion + 1;
    const time = new Date().toISOString();
    const s = this.stmt;
    const tx = this.db.transaction(() => {
      this.checkSoleWriter(version);
      for (let rows = writeRows(this.stmt, plan.applied, options), r = rows.next(); !r.done; r = rows.next());
      writeServerRow(this.stmt, plan.applied);
      s.insertChangeSet.run(version, time, options.origin ?? null, JSON.stringify(plan.applied));
    });
    // BEGIN IMMEDIATE: take the write lock up front (no lock upgrade, no SQLITE_BUSY half-way).
    tx.immediate();
    return this.committed(version, time, options, plan.applied, plan.warnings, t0);
  }

  /**
   * {@link apply} in short turns of the event loop (behaviour §13), for change-sets that arrive
   * while calls are handled (the admin API's change-set route). The same validation against the
   * whole resulting configuration runs in slices of about `sliceMs`; the SQLite transaction is
   * opened with BEGIN IMMEDIATE and its rows, the change feed's among them, written across turns
   * (nobody reads them before the commit: {@link changesSince} stops at the current version);
   * the last turn commits, updates the in-memory configuration and delivers to the subscribers,
   * so that nothing is ever visible half-applied.
   * One at a time: {@link apply} and another `applyAsync` throw meanwhile (the change-set queue
   * runs one change-set at a time). A crash before the commit leaves the store as it was.
   */
  async applyAsync(changes: readonly ChangeRequest[], options: ApplyAsyncOptions = {}): Promise<AsyncApplyResult> {
    this.checkWritable();
    this.applyingAsync = true;
    const t0 = performance.now();
    const slicer = new TurnSlicer(options.sliceMs ?? DEFAULT_SLICE_MS);
    let done: { version: number; time: string; plan: ReturnType<ConfigState['plan']> } | undefined;
    try {
      const plan = await slicer.run(this.state.planSteps(changes, this.planOptions));
      if (plan.errors.length) this.reject(plan.errors, plan.warnings);
      if (plan.applied.length === 0) {
        slicer.endTurn();
        return { version: this.currentVersion, changes: [], warnings: plan.warnings, ...figures(slicer) };
      }
      const feed = await slicer.run(stringifySteps(plan.applied));
      const version = this.currentVersion + 1;
      const time = new Date().toISOString();
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.checkSoleWriter(version);
        await slicer.run(writeRows(this.stmt, plan.applied, options));
        // The feed's row: changesSince reads only versions up to the current one.
        this.stmt.insertChangeSet.run(version, time, options.origin ?? null, feed);
        if (options.beforeCommit) {
          const cs: CommittedChangeSet = { version, time, changes: plan.applied };
          if (options.origin) cs.origin = options.origin;
          await options.beforeCommit(cs, feed);
        }
        // The last turn starts afresh: commit, in-memory commit, delivery.
        await slicer.yield();
        writeServerRow(this.stmt, plan.applied);
        this.db.exec('COMMIT');
      } finally {
        if (this.db.open && this.db.inTransaction) this.db.exec('ROLLBACK');
      }
      done = { version, time, plan };
    } finally {
      this.applyingAsync = false;
    }
    const r = this.committed(done.version, done.time, options, done.plan.applied, done.plan.warnings, t0);
    slicer.endTurn();
    return { ...r, ...figures(slicer) };
  }

  /**
   * Applies a change-set committed elsewhere (the PostgreSQL log of record, docs/cluster.md) with
   * its own version, time and origin: `changeSet.version` must be the next version. The changes
   * were validated where they were made, against the same configuration, so they are written as
   * they are, in one SQLite transaction; subscribers get them as for {@link apply}.
   */
  applyCommitted(changeSet: CommittedChangeSet): void {
    this.checkWritable();
    const t0 = performance.now();
    const { version, time, changes } = changeSet;
    if (version !== this.currentVersion + 1)
      throw new Error(`change-set ${version} does not follow the store's version ${this.currentVersion}`);
    const origin = changeSet.origin === undefined ? {} : { origin: changeSet.origin };
    const tx = this.db.transaction(() => {
      this.checkSoleWriter(version);
      for (let rows = writeRows(this.stmt, changes, {}), r = rows.next(); !r.done; r = rows.next());
      writeServerRow(this.stmt, changes);
      this.stmt.insertChangeSet.run(version, time, changeSet.origin ?? null, JSON.stringify(changes));
    });
    tx.immediate();
    this.committed(version, time, origin, changes, [], t0);
  }

  private checkWritable(): void {
    if (this.db.readonly) throw new Error('the configuration store was opened read-only');
    if (this.applyingAsync) throw new Error('a change-set is being applied: one at a time (the change-set queue)');
  }

  private reject(errors: ChangeProblem[], warnings: ChangeProblem[]): never {
    for (const o of this.observers) o.onRejected(errors.length);
    throw new ChangeSetError(errors, warnings);
  }

  /** One writer: if another process committed meanwhile, our in-memory state is stale. */
  private checkSoleWriter(version: number): void {
    const latest = (this.stmt.maxVersion.get() as { v: number }).v;
    if (latest !== version - 1) {
      throw new Error(
        `the configuration store in ${this.dataDir} was changed by another process (version ${latest}, expected ${version - 1}); restart to reload it`,
      );
    }
  }

  /** After the SQLite commit: the in-memory configuration, the log, the subscribers, the observers. */
  private committed(
    version: number,
    time: string,
    options: ApplyOptions,
    applied: AppliedChange[],
    warnings: ChangeProblem[],
    t0: number,
  ): ApplyResult {
    this.checkpointer?.request();
    this.currentVersion = version;
    this.state.commit(applied);
    const cs: CommittedChangeSet = { version, time, changes: applied };
    if (options.origin) cs.origin = options.origin;
    this.logger.info({ version, changes: applied.length, origin: options.origin }, 'configuration change-set applied');
    for (const w of warnings) this.logger.warn({ version, change: w.index }, w.message);
    this.delivery.deliver(cs);
    const seconds = (performance.now() - t0) / 1000;
    for (const o of this.observers) o.onApplied(cs, seconds);
    return { version, changes: applied, warnings };
  }

  /**
   * Makes the store equal to `model` (interfaces §1 `start --config`): the difference is
   * applied as one change-set. Returns the version and the applied changes (none when the
   * store already matched). Secrets `model` leaves out (an export without secrets) keep their
   * stored values (docs/admin-api.md "Secrets").
   */
  reconcile(model: ConfigInput, options: ApplyOptions = {}): ApplyResult {
    const changes = diffModels(this.state.toModel(), model);
    return this.apply(changes, { origin: 'reconcile', ...options });
  }

  /** The changes that {@link reconcile} would apply. */
  diff(model: ConfigInput): ChangeRequest[] {
    return diffModels(this.state.toModel(), model);
  }

  /** Committed change-sets after `version`, oldest first (at most `limit`). */
  changesSince(version: number, limit = Number.MAX_SAFE_INTEGER): CommittedChangeSet[] {
    // Up to the current version: an applyAsync under way has written its row, not committed it.
    return readChangeSets(this.stmt.since, version, this.currentVersion, limit);
  }

  /**
   * The committed change-set of `version` with its full objects, secrets included (never send
   * them out: the change feed route redacts them, src/config/secrets.ts); undefined when there is none.
   * A restore (`create` with `restoreFrom`) takes the removed object from here.
   */
  changeSetAt(version: number): CommittedChangeSet | undefined {
    if (!Number.isInteger(version) || version < 1) return undefined;
    const [cs] = this.changesSince(version - 1, 1);
    return cs?.version === version ? cs : undefined;
  }

  /**
   * Registers a subscriber: it receives every change-set committed from now on, exactly once
   * and in version order (a change-set applied by a subscriber is delivered after the current
   * one). Returns the unsubscribe function. A throwing subscriber is logged and skipped.
   */
  subscribe(fn: ChangeSubscriber): () => void {
    return this.delivery.subscribe(fn);
  }

  /** Registers an observer of apply/reject figures. */
  observe(o: StoreObserver): () => void {
    this.observers.add(o);
    return () => this.observers.delete(o);
  }

  /** A value kept in the store's meta table (e.g. the generated admin token). */
  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  /** Keeps a value in the store's meta table (e.g. the identity of the PostgreSQL log it caches). */
  setMeta(key: string, value: string): void {
    this.checkWritable();
    this.stmt.setMeta.run(key, value);
  }

  /** The file the store was last reconciled to, if recorded (see {@link recordReconciledSource}). */
  reconciledSource(): ReconciledSource | undefined {
    return parseReconciledSource(this.getMeta(RECONCILED_SOURCE_KEY));
  }

  /**
   * Records that the store, at its current version, matches the file with this content hash
   * (after a successful {@link reconcile}). A later change-set (API, CLI, another reconcile)
   * moves the version on, so the record no longer matches and the next start reconciles again.
   */
  recordReconciledSource(hash: string, warnings: readonly string[] = []): void {
    this.checkWritable();
    const rec: ReconciledSource = { hash, version: this.currentVersion, warnings: [...warnings] };
    this.stmt.setMeta.run(RECONCILED_SOURCE_KEY, JSON.stringify(rec));
  }

  /** Closes the database. */
  close(): void {
    this.checkpointer?.close();
    this.checkpointer = undefined;
    if (this.db.open) this.db.close();
  }
}

function figures(slicer: TurnSlicer): { busyMs: number; longestTurnMs: number } {
  return { busyMs: round2(slicer.busyMs), longestTurnMs: round2(slicer.longestTurnMs) };
}

const round2 = (ms: number): number => Math.round(ms * 100) / 100;
