/**
 * The configuration store (behaviour §2.3, §13): embedded SQLite (WAL) in the data directory
 * is the source of truth; every change is part of a versioned change-set applied atomically
 * in one SQLite transaction; committed change-sets go to in-process subscribers once, in
 * order, and stay readable as a change feed.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import type {
  AgentConfig,
  AgentGroupConfig,
  ConfigInput,
  ConfigModel,
  DnConfig,
  ServerConfig,
} from './config-model.js';
import { defaultServerConfig } from './config-model.js';
import {
  ChangeSetError,
  type AppliedChange,
  type ChangeProblem,
  type ChangeRequest,
  type CommittedChangeSet,
} from './change-set.js';
import { ConfigState } from './config-state.js';
import type { PlanOptions } from './change-planner.js';
import type { ResolvedOption } from './option-resolution.js';
import { diffModels } from './config-diff.js';
import type { SoftswitchCandidate } from './softswitch-prefix-table.js';
import { stringifySteps, TurnSlicer } from './turn-slicer.js';
import { WalCheckpointer } from './wal-checkpointer.js';

/** File name of the database inside the data directory. */
export const STORE_FILE = 'config.sqlite';

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
  /** How long one turn of the event loop may last before the apply yields (ms, default 2). */
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
export const DEFAULT_SLICE_MS = 2;

/** Rows written between two checks of the turn's length. */
const WRITE_STEP = 32;

/** A subscriber: gets each committed change-set once, in version order. */
export type ChangeSubscriber = (changeSet: CommittedChangeSet) => void;

/** Receives apply/reject figures (the `/metrics` counters). */
export interface StoreObserver {
  onApplied(changeSet: CommittedChangeSet, seconds: number): void;
  onRejected(problems: number): void;
}

/** Meta key of the {@link ReconciledSource} record. */
export const RECONCILED_SOURCE_KEY = 'reconciled-source';

/**
 * The configuration file the store was last reconciled to (interfaces §1 `start --config`):
 * while the store's version is still `version` and the file still has `hash`, the store matches
 * the file and a start can skip parsing and diffing it.
 */
export interface ReconciledSource {
  /** Content hash of the file, as the caller computed it (opaque here). */
  hash: string;
  /** The store version right after that reconcile. */
  version: number;
  /** The file's warnings (`FILE:LINE: warning: …`), logged again at a start that skips it. */
  warnings: string[];
}

function parseReconciledSource(value: string | undefined): ReconciledSource | undefined {
  if (value === undefined) return undefined;
  try {
    const v = JSON.parse(value) as Partial<ReconciledSource>;
    if (typeof v.hash !== 'string' || typeof v.version !== 'number' || !Array.isArray(v.warnings)) return undefined;
    return { hash: v.hash, version: v.version, warnings: v.warnings.filter((w): w is string => typeof w === 'string') };
  } catch {
    return undefined;
  }
}

/**
 * Reads the {@link ReconciledSource} record and the current version of the store in `dataDir`
 * without loading the configuration (one read-only SQLite query each). Undefined when there is
 * no store yet or it cannot be read.
 */
export function peekReconciledSource(
  dataDir: string,
): { source: ReconciledSource | undefined; version: number } | undefined {
  const file = join(dataDir, STORE_FILE);
  if (!existsSync(file)) return undefined;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const version = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM change_sets').get() as { v: number }).v;
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(RECONCILED_SOURCE_KEY) as
      { value: string } | undefined;
    return { source: parseReconciledSource(row?.value), version };
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/**
 * Opens (creating if needed) the store in `dataDir`. The in-memory configuration and its
 * indexes are loaded from the database.
 */
export function openStore(dataDir: string, options: OpenStoreOptions = {}): ConfigStore {
  return new ConfigStore(dataDir, options);
}

/** The configuration store. Objects it hands out are shared: treat them as read-only. */
export class ConfigStore {
  private readonly db: Database.Database;
  private readonly state = new ConfigState();
  private currentVersion = 0;
  private readonly subscribers = new Set<ChangeSubscriber>();
  private readonly observers = new Set<StoreObserver>();
  private readonly queue: CommittedChangeSet[] = [];
  private delivering = false;
  /** True while an {@link ConfigStore.applyAsync} runs: its planning and its write transaction span turns. */
  private applyingAsync = false;
  private checkpointer: WalCheckpointer | undefined;
  private readonly logger: Logger;
  private readonly stmt: {
    upsertDn: Database.Statement;
    deleteDn: Database.Statement;
    upsertAgent: Database.Statement;
    deleteAgent: Database.Statement;
    upsertGroup: Database.Statement;
    deleteGroup: Database.Statement;
    setMeta: Database.Statement;
    insertChangeSet: Database.Statement;
    since: Database.Statement;
    maxVersion: Database.Statement;
  };
  /** What changes are planned with: the change feed for `create` with `restoreFrom`. */
  private readonly planOptions: PlanOptions = { changeSetAt: (v) => this.changeSetAt(v) };

  /** Prefer {@link openStore}. */
  constructor(
    readonly dataDir: string,
    options: OpenStoreOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    const file = join(dataDir, STORE_FILE);
    if (options.readonly) {
      if (!existsSync(file)) throw new Error(`no configuration store in ${dataDir}`);
      this.db = new Database(file, { readonly: true, fileMustExist: true });
    } else {
      mkdirSync(dataDir, { recursive: true });
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a commit survives a process crash (SIGKILL); only an OS crash may
      // lose the last transactions, never leave a half-applied one.
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS dns (number TEXT PRIMARY KEY, type TEXT NOT NULL, options TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS agents (id TEXT PRIMARY KEY, data TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS agent_groups (name TEXT PRIMARY KEY, agents TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS change_sets (version INTEGER PRIMARY KEY, time TEXT NOT NULL,
          origin TEXT, changes TEXT NOT NULL);
      `);
    }
    this.db.pragma('busy_timeout = 5000');
    const ro = options.readonly === true;
    const prep = (sql: string): Database.Statement =>
      ro ? (undefined as unknown as Database.Statement) : this.db.prepare(sql);
    this.stmt = {
      upsertDn: prep(
        'INSERT INTO dns (number, type, options) VALUES (?, ?, ?) ON CONFLICT(number) DO UPDATE SET type = excluded.type, options = excluded.options',
      ),
      deleteDn: prep('DELETE FROM dns WHERE number = ?'),
      upsertAgent: prep(
        'INSERT INTO agents (id, data) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data',
      ),
      deleteAgent: prep('DELETE FROM agents WHERE id = ?'),
      upsertGroup: prep(
        'INSERT INTO agent_groups (name, agents) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET agents = excluded.agents',
      ),
      deleteGroup: prep('DELETE FROM agent_groups WHERE name = ?'),
      setMeta: prep(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      insertChangeSet: prep('INSERT INTO change_sets (version, time, origin, changes) VALUES (?, ?, ?, ?)'),
      since: this.db.prepare(
        'SELECT version, time, origin, changes FROM change_sets WHERE version > ? AND version <= ? ORDER BY version LIMIT ?',
      ),
      maxVersion: this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM change_sets'),
    };
    this.load();
  }

  private load(): void {
    const t0 = performance.now();
    const row = this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM change_sets').get() as { v: number };
    this.currentVersion = row.v;
    const server = this.db.prepare("SELECT value FROM meta WHERE key = 'server'").get() as
      { value: string } | undefined;
    this.state.server = server ? (JSON.parse(server.value) as ServerConfig) : defaultServerConfig();
    for (const r of this.db
      .prepare('SELECT number, type, options FROM dns ORDER BY rowid')
      .iterate() as IterableIterator<{
      number: string;
      type: DnConfig['type'];
      options: string;
    }>) {
      this.state.loadUnchecked({
        number: r.number,
        type: r.type,
        options: r.options === '{}' ? {} : (JSON.parse(r.options) as DnConfig['options']),
      });
    }
    for (const r of this.db.prepare('SELECT data FROM agents ORDER BY rowid').iterate() as IterableIterator<{
      data: string;
    }>) {
      this.state.loadAgentUnchecked(JSON.parse(r.data) as AgentConfig);
    }
    for (const r of this.db
      .prepare('SELECT name, agents FROM agent_groups ORDER BY rowid')
      .iterate() as IterableIterator<{ name: string; agents: string }>) {
      this.state.loadGroupUnchecked({ name: r.name, agents: JSON.parse(r.agents) as string[] });
    }
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

  /** The version of the last committed change-set (0 for a new store). */
  get version(): number {
    return this.currentVersion;
  }

  /** The server section. */
  get server(): ServerConfig {
    return this.state.server;
  }

  /** A DN by number, as written or normalised. */
  getDn(number: string): DnConfig | undefined {
    return this.state.dns.get(number);
  }

  /** An agent by id (includes the password: never send it out). */
  getAgent(id: string): AgentConfig | undefined {
    return this.state.agents.get(id);
  }

  /** An agent group by name. */
  getAgentGroup(name: string): AgentGroupConfig | undefined {
    return this.state.groups.get(name);
  }

  /** Number of DNs. */
  get dnCount(): number {
    return this.state.dns.size;
  }

  /** DNs in configuration order, a page at a time. */
  listDns(offset = 0, limit = 1000): { items: DnConfig[]; total: number } {
    return page(this.state.dns.values(), this.state.dns.size, offset, limit);
  }

  /**
   * DNs whose number or type contains `q` (case-insensitive; spaces in `q` ignored for the
   * number), in configuration order, a page at a time; `total` counts every match.
   */
  searchDns(q: string, offset = 0, limit = 1000): { items: DnConfig[]; total: number } {
    const needle = q.trim().toLowerCase();
    const compact = needle.replace(/\s+/g, '');
    const items: DnConfig[] = [];
    let total = 0;
    for (const d of this.state.dns.values()) {
      const n = d.number.toLowerCase();
      if (!(n.includes(compact) || n.includes(needle) || d.type.toLowerCase().includes(needle))) continue;
      if (total++ >= offset && items.length < limit) items.push(d);
    }
    return { items, total };
  }

  /** Agents in configuration order, a page at a time. */
  listAgents(offset = 0, limit = 1000): { items: AgentConfig[]; total: number } {
    return page(this.state.agents.values(), this.state.agents.size, offset, limit);
  }

  /** Agent groups in configuration order, a page at a time. */
  listAgentGroups(offset = 0, limit = 1000): { items: AgentGroupConfig[]; total: number } {
    return page(this.state.groups.values(), this.state.groups.size, offset, limit);
  }

  /** Agents whose default DN is `dn`. */
  agentsOfDn(dn: string): AgentConfig[] {
    return [...this.state.agentsOfDn(dn)].map((id) => this.state.agents.get(id)!).filter(Boolean);
  }

  /** The whole configuration. */
  exportModel(): ConfigModel {
    return this.state.toModel();
  }

  /**
   * The effective value of an option for a DN (behaviour §2.2): DN → softswitch (DNs without
   * contact) → application → default. O(longest prefix): read it at every call or login so
   * that changes take effect at the next one (behaviour §2.3).
   */
  effectiveOption(dnNumber: string, name: string): string | undefined {
    return this.state.resolveOption(dnNumber, name)?.value;
  }

  /** Like {@link effectiveOption}, with where the value came from. */
  resolveOption(dnNumber: string, name: string): ResolvedOption | undefined {
    return this.state.resolveOption(dnNumber, name);
  }

  /** Softswitches that may serve `number`, best first (behaviour §3.3), ignoring OOS state. */
  softswitchCandidates(number: string): SoftswitchCandidate[] {
    return this.state.prefixTable.candidates(number);
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
      for (let rows = this.writeRows(plan.applied, options), r = rows.next(); !r.done; r = rows.next());
      this.writeServerRow(plan.applied);
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
        await slicer.run(this.writeRows(plan.applied, options));
        // The feed's row: changesSince reads only versions up to the current one.
        this.stmt.insertChangeSet.run(version, time, options.origin ?? null, feed);
        if (options.beforeCommit) {
          const cs: CommittedChangeSet = { version, time, changes: plan.applied };
          if (options.origin) cs.origin = options.origin;
          await options.beforeCommit(cs, feed);
        }
        // The last turn starts afresh: commit, in-memory commit, delivery.
        await slicer.yield();
        this.writeServerRow(plan.applied);
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
      for (let rows = this.writeRows(changes, {}), r = rows.next(); !r.done; r = rows.next());
      this.writeServerRow(changes);
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

  /** Writes the object rows of `applied` (not the server row), yielding every {@link WRITE_STEP} rows. */
  private *writeRows(applied: readonly AppliedChange[], options: ApplyOptions): Generator<void, void, void> {
    const every = options.progressEvery ?? 1000;
    const progress = options.onProgress;
    const s = this.stmt;
    let n = 0;
    for (const c of applied) {
      switch (c.kind) {
        case 'dn':
          if (c.new) s.upsertDn.run(c.key, c.new.type, JSON.stringify(c.new.options));
          else s.deleteDn.run(c.key);
          break;
        case 'agent':
          if (c.new) s.upsertAgent.run(c.key, JSON.stringify(c.new));
          else s.deleteAgent.run(c.key);
          break;
        case 'agent-group':
          if (c.new) s.upsertGroup.run(c.key, JSON.stringify(c.new.agents));
          else s.deleteGroup.run(c.key);
          break;
        case 'server':
          break; // writeServerRow, with the commit
      }
      n++;
      if (progress && n % every === 0) progress(n, applied.length);
      if (n % WRITE_STEP === 0) yield;
    }
  }

  /** The server section's row (the last server change of `applied`), if any. */
  private writeServerRow(applied: readonly AppliedChange[]): void {
    for (let i = applied.length - 1; i >= 0; i--) {
      const c = applied[i];
      if (c.kind === 'server') {
        this.stmt.setMeta.run('server', JSON.stringify(c.new));
        return;
      }
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
    this.deliver(cs);
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
    const rows = this.stmt.since.all(version, this.currentVersion, limit) as {
      version: number;
      time: string;
      origin: string | null;
      changes: string;
    }[];
    return rows.map((r) => {
      const cs: CommittedChangeSet = {
        version: r.version,
        time: r.time,
        changes: JSON.parse(r.changes) as AppliedChange[],
      };
      if (r.origin) cs.origin = r.origin;
      return cs;
    });
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
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Registers an observer of apply/reject figures. */
  observe(o: StoreObserver): () => void {
    this.observers.add(o);
    return () => this.observers.delete(o);
  }

  private deliver(cs: CommittedChangeSet): void {
    this.queue.push(cs);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        for (const fn of [...this.subscribers]) {
          try {
            fn(next);
          } catch (e) {
            this.logger.error({ err: e, version: next.version }, 'configuration subscriber failed');
          }
        }
      }
    } finally {
      this.delivering = false;
    }
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

function page<T>(it: IterableIterator<T>, total: number, offset: number, limit: number): { items: T[]; total: number } {
  const items: T[] = [];
  let i = 0;
  for (const v of it) {
    if (i++ < offset) continue;
    if (items.length >= limit) break;
    items.push(v);
  }
  return { items, total };
}
