/**
 * The write port of the configuration (docs/cluster.md): the admin API and the start-up
 * reconcile write through a {@link ConfigWriter}, so they need not know which store runs. The
 * embedded SQLite {@link ConfigStore} is one itself; the PostgreSQL-backed store of record
 * (`start --store postgres://…`) wraps the local store and appends to its log first.
 */
import type { ApplyAsyncOptions, ApplyOptions, ApplyResult, AsyncApplyResult, ConfigStore } from './config-store.js';
import type { ChangeRequest } from './change-set.js';

/** Applies change-sets (validated as a whole, one version each; {@link ConfigStore.apply}). */
export interface ConfigWriter {
  /** One change-set; may settle later (a store of record elsewhere). */
  apply(changes: readonly ChangeRequest[], options?: ApplyOptions): ApplyResult | Promise<ApplyResult>;
  /** One change-set in short turns of the event loop ({@link ConfigStore.applyAsync}). */
  applyAsync(changes: readonly ChangeRequest[], options?: ApplyAsyncOptions): Promise<AsyncApplyResult>;
}

/**
 * The store of record cannot take the write now (PostgreSQL unreachable): nothing was applied,
 * or, when `outcomeUnknown`, the connection was lost while committing and the change feed will
 * tell. The admin API answers 503.
 */
export class StoreUnavailableError extends Error {
  constructor(
    message: string,
    readonly outcomeUnknown = false,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** The store part of the `config` section of `GET /api/status`. */
export interface ConfigStoreStatus {
  /** `sqlite` (embedded, the default) or `postgres` (the store of record, a local cache). */
  kind: 'sqlite' | 'postgres';
  /** Whether the store of record answers (always true for `sqlite`). */
  connected: boolean;
  /** The last version of the store of record as last seen (the local version for `sqlite`). */
  logVersion: number;
  /** Change-sets in the log not applied locally yet (as last seen). */
  lagVersions: number;
  /** The last connection problem, while not connected. */
  error?: string;
}

/** What runs the configuration: the store everything reads, its writer, its status. */
export interface ConfigBackend {
  /** The (local) store every layer reads synchronously. */
  readonly store: ConfigStore;
  readonly writer: ConfigWriter;
  status(): ConfigStoreStatus;
  /** Stops following the store of record and closes the local store. */
  close(): Promise<void>;
}

/** The embedded default: the SQLite store is its own writer. */
export function sqliteBackend(store: ConfigStore): ConfigBackend {
  return {
    store,
    writer: store,
    status: () => ({ kind: 'sqlite', connected: true, logVersion: store.version, lagVersions: 0 }),
    close: async () => store.close(),
  };
}
