/**
 * The configuration with PostgreSQL as the store of record (`start --store postgres://…`,
 * docs/cluster-store.md): the log of record is {@link PgConfigLog}; the node's SQLite
 * {@link ConfigStore} in `--data` is its cache, with the same versions, that every layer reads
 * synchronously. A write is validated against the cache, appended to the log at the next version
 * (conflict: catch up, re-validate, retry) and then committed locally. Other nodes' change-sets
 * arrive by catch-up from the log: woken by LISTEN/NOTIFY, by a reconnect, and every
 * `checkIntervalMs` as a safety net, so a missed notification only delays them.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Logger } from '../../util/logger.js';
import { ChangeSetError, type ChangeRequest, type CommittedChangeSet } from '../change-set.js';
import type { ConfigInput } from '../config-model.js';
import {
  DEFAULT_SLICE_MS,
  openStore,
  type ApplyAsyncOptions,
  type AsyncApplyResult,
  type ConfigStore,
} from '../config-store.js';
import { StoreUnavailableError, type ConfigBackend, type ConfigStoreStatus } from '../config-writer.js';
import { CommitOutcomeUnknownError, CONFIG_CHANNEL, LogConflictError, PgConfigLog } from './pg-config-log.js';
import { checkCacheAgainstLog, LOG_ID_KEY, StoreStartError } from './pg-cache-identity.js';
import { NodeListPresence, type NodeListEntry } from './pg-node-list.js';
import { redactUrl } from '../../util/url.js';

export { StoreStartError } from './pg-cache-identity.js';

/** Options of {@link openPgConfigBackend}. */
export interface PgConfigBackendOptions {
  /** `postgres://user:password@host:port/db` (libpq URL, as `pg` takes it). */
  url: string;
  /** The node's data directory: the SQLite cache lives there. */
  dataDir: string;
  /** A validated configuration (`start --config FILE`) to reconcile through the log as one change-set. */
  model?: ConfigInput;
  logger: Logger;
  /** Safety-net catch-up period (ms, default 2000). */
  checkIntervalMs?: number;
  /** Name recorded with this node's change-sets in the log (default `host:pid`). */
  node?: string;
}

/** Change-sets read from the log per query while catching up. */
const PAGE = 500;
/** Reconnect back-off bounds of the LISTEN connection (ms). */
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
/** Longest wait at close for a write or catch-up under way (ms). */
const CLOSE_WAIT_MS = 3000;
/** Conflicting appends retried (another node wrote meanwhile) before the write gives up. */
const MAX_CONFLICT_RETRIES = 10;

/** Checks that `url` is a PostgreSQL URL; throws {@link StoreStartError} saying what is expected. */
export function checkStoreUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreStartError(`--store "${url}" is not a URL: give postgres://USER:PASSWORD@HOST:PORT/DATABASE`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new StoreStartError(`--store ${redactUrl(url)}: only postgres:// URLs are supported`);
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The 503 of a write while PostgreSQL cannot be reached. */
const unreachable = (e: unknown): StoreUnavailableError =>
  new StoreUnavailableError(
    `the configuration store of record (PostgreSQL) is unreachable: ${errText(e)}; nothing was applied, try again later`,
    false,
    e,
  );

/**
 * Opens the local cache, connects to the log and brings the cache up to date (see the module
 * comment). Throws {@link StoreStartError} when PostgreSQL is unreachable and the cache is empty,
 * or when the cache belongs to another log; with a cache, an unreachable PostgreSQL is a warning
 * and the node starts from the cache.
 */
export async function openPgConfigBackend(options: PgConfigBackendOptions): Promise<PgConfigBackend> {
  checkStoreUrl(options.url);
  const store = openStore(options.dataDir, { logger: options.logger.child({ layer: 'config' }) });
  const backend = new PgConfigBackend(store, options);
  try {
    await backend.open(options.model);
  } catch (e) {
    await backend.close();
    throw e;
  }
  return backend;
}

/** See the module comment; build it with {@link openPgConfigBackend}. */
export class PgConfigBackend implements ConfigBackend {
  readonly writer = { apply: this.applyAsync.bind(this), applyAsync: this.applyAsync.bind(this) };
  private readonly pool: pg.Pool;
  private readonly log: PgConfigLog;
  private readonly logger: Logger;
  private listener: pg.Client | undefined;
  private listenerUp = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = BACKOFF_MIN_MS;
  private checkTimer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private catchUpPending = false;
  private connected = false;
  private lastError: string | undefined;
  private logVersion = 0;
  private closed = false;
  /** Whether the cache was checked against the log (not yet after a start with PostgreSQL down). */
  private verified = false;
  /** Why this node no longer follows the log (its cache belongs to another one): writes are refused. */
  private refused: string | undefined;
  /** This node's row in the cluster node list (pg-node-list.ts), once announced. */
  private readonly nodeList: NodeListPresence;

  constructor(
    readonly store: ConfigStore,
    private readonly options: PgConfigBackendOptions,
  ) {
    this.logger = options.logger.child({ layer: 'config-store' });
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: 3,
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 30_000,
      query_timeout: 15_000,
      application_name: 'sipserver',
    });
    // An idle connection that breaks (PostgreSQL restarted) is dropped by the pool; the next query reconnects.
    this.pool.on('error', (e) => this.down(e));
    this.log = new PgConfigLog(this.pool, options.node ?? `${process.env.HOSTNAME ?? 'node'}:${process.pid}`);
    this.nodeList = new NodeListPresence(this.pool, options.logger.child({ layer: 'node-list' }));
    this.logVersion = store.version;
  }

  /** Start-up: identity check, seeding, catch-up, the file's reconcile, then LISTEN and the periodic check. */
  async open(model: ConfigInput | undefined): Promise<void> {
    const where = redactUrl(this.options.url);
    let logId: string;
    try {
      logId = (await this.log.ensureSchema()).logId;
    } catch (e) {
      if (this.store.version === 0 && this.store.getMeta(LOG_ID_KEY) === undefined)
        throw new StoreStartError(`cannot reach the configuration store at ${where}: ${errText(e)}`);
      this.down(e);
      this.logger.warn(
        { store: where, version: this.store.version, err: errText(e) },
        'configuration store of record unreachable: starting from the local cache, retrying in the background',
      );
      if (model && this.store.diff(model).length > 0)
        throw new StoreStartError(
          `cannot reconcile the configuration file through ${where} (unreachable: ${errText(e)}); start without --config to run from the local cache`,
        );
      this.startFollowing();
      return;
    }
    await checkCacheAgainstLog(this.store, this.log, logId, this.options.dataDir, this.logger);
    this.verified = true;
    this.up();
    await this.serial(() => this.catchUpLocked()).catch((e: unknown) => {
      throw e instanceof StoreUnavailableError ? new StoreStartError(`${e.message} (${where})`) : e;
    });
    if (model) {
      const changes = this.store.diff(model);
      if (changes.length > 0) {
        const r = await this.applyAsync(changes, { origin: 'reconcile' }).catch((e: unknown) => {
          throw e instanceof StoreUnavailableError
            ? new StoreStartError(`cannot reconcile the configuration file: ${e.message}`)
            : e;
        });
        this.logger.info({ version: r.version, applied: r.changes.length }, 'configuration reconciled to the file');
      } else this.logger.info({ version: this.store.version }, 'configuration store already matches the file');
    }
    this.startFollowing();
    this.logger.info({ store: where, version: this.store.version }, 'following the configuration store of record');
  }

  /**
   * A change-set through the log: validated against the cache, appended at the next version,
   * then committed locally. Throws {@link ChangeSetError} (nothing applied) for invalid changes
   * and {@link StoreUnavailableError} when PostgreSQL cannot take it.
   */
  applyAsync(changes: readonly ChangeRequest[], options: ApplyAsyncOptions = {}): Promise<AsyncApplyResult> {
    return this.serial(async () => {
      if (!this.verified || this.refused) {
        // Invalid input is 422 whatever the state of PostgreSQL.
        const { errors, warnings } = this.store.check(changes);
        if (errors.length) throw new ChangeSetError(errors, warnings);
        await this.catchUpLocked().catch((e: unknown) => {
          if (!(e instanceof StoreUnavailableError) || this.refused) throw e;
          this.down(e.cause ?? e);
          throw unreachable(e.cause ?? e);
        });
      }
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await this.store.applyAsync(changes, {
            ...options,
            beforeCommit: (cs, json) => this.append(cs, json),
          });
          this.up();
          this.logVersion = Math.max(this.logVersion, r.version);
          return r;
        } catch (e) {
          if (e instanceof ChangeSetError) throw e;
          if (e instanceof LogConflictError && attempt < MAX_CONFLICT_RETRIES) {
            this.logVersion = Math.max(this.logVersion, e.logVersion);
            await this.catchUpLocked();
            continue;
          }
          if (e instanceof CommitOutcomeUnknownError) {
            this.down(e);
            throw new StoreUnavailableError(
              `${e.message}; the change feed (GET /api/config/changes) will show whether it was applied`,
              true,
            );
          }
          if (e instanceof LogConflictError) throw new StoreUnavailableError(e.message);
          if (e instanceof StoreUnavailableError) this.down(e.cause ?? e);
          throw e;
        }
      }
    });
  }

  /** Appends to the log; a failure to reach PostgreSQL becomes a {@link StoreUnavailableError}. */
  private async append(cs: CommittedChangeSet, json: string): Promise<void> {
    try {
      await this.log.append(cs, json);
    } catch (e) {
      if (e instanceof LogConflictError || e instanceof CommitOutcomeUnknownError) throw e;
      throw unreachable(e);
    }
  }

  /** The store part of the `config` status section. */
  status(): ConfigStoreStatus {
    const logVersion = Math.max(this.logVersion, this.store.version);
    const s: ConfigStoreStatus = {
      kind: 'postgres',
      connected: this.connected,
      logVersion,
      lagVersions: logVersion - this.store.version,
    };
    if (!this.connected && this.lastError) s.error = this.lastError;
    return s;
  }

  /** Wakes a catch-up (coalesced with one already waiting). */
  catchUp(): Promise<void> {
    if (this.catchUpPending) return Promise.resolve();
    this.catchUpPending = true;
    return this.serial(async () => {
      this.catchUpPending = false;
      try {
        await this.catchUpLocked();
        this.up();
      } catch (e) {
        if (e instanceof StoreUnavailableError) this.down(e.cause ?? e);
        else
          this.logger.error({ err: e, version: this.store.version }, 'cannot apply the log to the configuration cache');
      }
    });
  }

  /**
   * Puts this node in the cluster node list that Kamailio reads (pg-node-list.ts), once it
   * listens: written now, or as soon as PostgreSQL answers (checked every `checkIntervalMs`), and
   * written again after each reconnection of the LISTEN connection. Never throws.
   */
  announceNode(entry: NodeListEntry): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.nodeList.announce(entry);
  }

  /**
   * Takes this node out of the node list (a clean stop: call it before the SIP side stops, so
   * that Kamailio stops sending to it first). {@link close} does it too. Never throws.
   */
  withdrawNode(): Promise<void> {
    return this.nodeList.withdraw();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.checkTimer);
    clearTimeout(this.reconnectTimer);
    // The node's row first, then a write or catch-up under way (bounded: PostgreSQL may be hanging).
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([this.nodeList.withdraw(), this.chain]),
      new Promise((r) => (t = setTimeout(r, CLOSE_WAIT_MS))),
    ]);
    clearTimeout(t);
    const l = this.listener;
    this.listener = undefined;
    await Promise.allSettled([l?.end(), this.pool.end()]);
    this.store.close();
  }

  /** Runs `fn` after every earlier write or catch-up (the cache takes one apply at a time). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Applies the log's change-sets after the cache's version, a page at a time. Call inside {@link serial}. */
  private async catchUpLocked(): Promise<void> {
    if (this.refused) throw new StoreUnavailableError(this.refused);
    if (!this.verified) await this.verifyLate();
    for (;;) {
      const from = this.store.version;
      const sets: CommittedChangeSet[] = await this.log.readAfter(from, PAGE).catch((e: unknown) => {
        throw new StoreUnavailableError(`cannot read the configuration log: ${errText(e)}`, false, e);
      });
      let turn = performance.now();
      for (const cs of sets) {
        if (this.closed) return;
        this.store.applyCommitted(cs);
        this.logVersion = Math.max(this.logVersion, cs.version);
        // Calls go on between change-sets: a turn of the event loop lasts about DEFAULT_SLICE_MS.
        if (performance.now() - turn >= DEFAULT_SLICE_MS) {
          await new Promise((r) => setImmediate(r));
          turn = performance.now();
        }
      }
      if (sets.length > 0 && from === 0 && this.store.version > 0)
        this.logger.info({ version: this.store.version }, 'configuration cache filled from the log');
      if (sets.length < PAGE) return;
    }
  }

  /**
   * The identity check of a node that started from its cache while PostgreSQL was unreachable,
   * at the first connection: a cache of another log stops following it (and refuses writes)
   * instead of applying a foreign history.
   */
  private async verifyLate(): Promise<void> {
    let logId: string;
    try {
      logId = (await this.log.ensureSchema()).logId;
    } catch (e) {
      throw new StoreUnavailableError(`cannot read the configuration log: ${errText(e)}`, false, e);
    }
    try {
      await checkCacheAgainstLog(this.store, this.log, logId, this.options.dataDir, this.logger);
    } catch (e) {
      if (!(e instanceof StoreStartError)) throw new StoreUnavailableError(errText(e), false, e);
      this.refused = `this node does not follow the configuration store: ${e.message}`;
      this.logger.error(this.refused);
      throw new StoreUnavailableError(this.refused);
    }
    this.verified = true;
  }

  private startFollowing(): void {
    if (this.closed) return;
    void this.connectListener();
    this.checkTimer = setInterval(() => {
      if (!this.listenerUp && !this.reconnectTimer) void this.connectListener();
      void this.catchUp();
      void this.nodeList.retry();
    }, this.options.checkIntervalMs ?? 2000);
    this.checkTimer.unref();
  }

  /** The LISTEN connection; on loss, reconnects with a bounded back-off and catches up. */
  private async connectListener(): Promise<void> {
    if (this.closed || this.listener) return;
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: 3000,
      application_name: 'sipserver-listen',
    });
    this.listener = client;
    const lost = (e?: unknown): void => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.listenerUp = false;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.closed) return;
      if (e) this.down(e);
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        void this.connectListener();
      }, this.backoffMs);
      this.reconnectTimer.unref();
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    };
    client.on('error', (e) => lost(e));
    client.on('end', () => lost(new Error('connection closed')));
    client.on('notification', (n) => {
      // This node's own appends (already applied) wake nothing.
      if (n.channel === CONFIG_CHANNEL && !(Number(n.payload) <= this.store.version)) void this.catchUp();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CONFIG_CHANNEL}`);
    } catch (e) {
      lost(e);
      return;
    }
    if (this.listener !== client) return;
    this.listenerUp = true;
    this.backoffMs = BACKOFF_MIN_MS;
    // The node's row again (PostgreSQL may have come back without it), and whatever was committed
    // while not listening.
    void this.nodeList.retry(true);
    await this.catchUp();
  }

  /**
   * PostgreSQL answered. A LISTEN connection waiting out its back-off (up to
   * {@link BACKOFF_MAX_MS} after a long outage) reconnects now: until it listens, the other
   * nodes' change-sets would only arrive with the periodic check.
   */
  private up(): void {
    if (!this.connected) {
      if (this.lastError) this.logger.info('configuration store of record reachable again');
      this.connected = true;
      this.lastError = undefined;
    }
    if (this.reconnectTimer && !this.listenerUp && !this.closed) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.backoffMs = BACKOFF_MIN_MS;
      void this.connectListener();
    }
  }

  private down(e: unknown): void {
    const msg = errText(e);
    if (this.connected || this.lastError === undefined)
      this.logger.warn({ err: msg }, 'configuration store of record unreachable: serving from the local cache');
    this.connected = false;
    this.lastError = msg;
  }
}
