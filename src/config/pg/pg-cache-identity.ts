/**
 * Whether a node's local cache (the SQLite store in `--data`) belongs to the PostgreSQL log it
 * is started with (docs/cluster-store.md): a cache records the log's identity the first time it
 * follows it. An empty log is seeded from the first node's store with that store's own
 * versions, so versions and the change feed agree on every node.
 */
import type { Logger } from '../../util/logger.js';
import type { CommittedChangeSet } from '../change-set.js';
import type { ConfigStore } from '../config-store.js';
import type { PgConfigLog } from './pg-config-log.js';

/** Meta key of the local store: the identity of the log it caches. */
export const LOG_ID_KEY = 'pg-log-id';

/** Change-sets per INSERT while seeding. */
const SEED_PAGE = 200;

/** The node cannot start on this store: the message says why and what to do (exit 1). */
export class StoreStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreStartError';
  }
}

function* historyPages(store: ConfigStore): Generator<CommittedChangeSet[]> {
  for (let v = 0; v < store.version;) {
    const page = store.changesSince(v, SEED_PAGE);
    if (page.length === 0) return;
    yield page;
    v = page[page.length - 1]!.version;
  }
}

/**
 * Checks the cache against the log `logId` and records the identity: a cache of another log, or
 * one ahead of the log, is a {@link StoreStartError}; a store that never followed a log seeds an
 * empty log with its history (or, when empty itself, just follows).
 */
export async function checkCacheAgainstLog(
  store: ConfigStore,
  log: PgConfigLog,
  logId: string,
  dataDir: string,
  logger: Logger,
): Promise<void> {
  const fresh = `start with --data of a new, empty directory: it fills from the log`;
  const known = store.getMeta(LOG_ID_KEY);
  if (known !== undefined && known !== logId)
    throw new StoreStartError(
      `the configuration cache in ${dataDir} belongs to another configuration store (log ${known}, this one is ${logId}): ${fresh}`,
    );
  const last = await log.lastVersion();
  if (known === logId) {
    if (store.version > last)
      throw new StoreStartError(
        `the configuration cache in ${dataDir} is at version ${store.version}, ahead of the log in PostgreSQL (version ${last}): the database was reset or restored from an older backup; ${fresh}, or restore the database`,
      );
    return;
  }
  if (store.version > 0) {
    if (last > 0 || !(await log.seed(historyPages(store))))
      throw new StoreStartError(
        `the data directory ${dataDir} holds a configuration (version ${store.version}) that did not come from this PostgreSQL store, which already has one (version ${Math.max(last, 1)}): ${fresh}, or seed an empty database from it`,
      );
    logger.info({ version: store.version }, 'configuration log seeded from this node’s store');
  }
  store.setMeta(LOG_ID_KEY, logId);
}
