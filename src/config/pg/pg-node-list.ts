/**
 * The cluster's node list in the store of record (docs/cluster.md, "Topology"): each node with
 * `--store postgres://…` keeps one row in `sipserver_dispatcher`, which is Kamailio's standard
 * dispatcher table (id, setid, destination, flags, priority, attrs, description) under a name of
 * ours. Kamailio (deploy/kamailio/kamailio.cfg, store mode) loads set {@link NODE_LIST_SET} from
 * it through `db_postgres` and reloads it by itself when it changes; nothing here talks to
 * Kamailio, and a node runs the same whether one reads the table or not.
 *
 * The row is written when the node has started (set 1, `sip:HOST:PORT` of its UDP listen address,
 * the node's name as description) and deleted when it stops cleanly. A node that dies keeps its
 * row: Kamailio's OPTIONS probes take it out, and bring it back when it answers again.
 */
import type pg from 'pg';
import type { Logger } from '../../util/logger.js';

/** The table Kamailio's dispatcher reads (its `table_name` modparam). */
export const NODE_LIST_TABLE = 'sipserver_dispatcher';
/**
 * Kamailio checks a table's schema version in a version table (core `version_table`); ours has
 * the sipserver_ name too. Version 4 is the dispatcher schema of Kamailio 5.x.
 */
export const KAMAILIO_VERSION_TABLE = 'sipserver_kamailio_version';
const DISPATCHER_TABLE_VERSION = 4;
/** The dispatcher set of the nodes (kamailio.cfg selects from set 1). */
export const NODE_LIST_SET = 1;

/**
 * The tables, created with the configuration log's (same transaction, under the same lock:
 * {@link PgConfigLog.ensureSchema}). Column sizes are Kamailio's own (dispatcher-create.sql).
 */
export const NODE_LIST_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ${NODE_LIST_TABLE} (
    id serial PRIMARY KEY,
    setid integer NOT NULL DEFAULT 0,
    destination varchar(192) NOT NULL DEFAULT '',
    flags integer NOT NULL DEFAULT 0,
    priority integer NOT NULL DEFAULT 0,
    attrs varchar(128) NOT NULL DEFAULT '',
    description varchar(64) NOT NULL DEFAULT ''
  );
  CREATE TABLE IF NOT EXISTS ${KAMAILIO_VERSION_TABLE} (
    table_name varchar(32) PRIMARY KEY,
    table_version integer NOT NULL DEFAULT 0
  );
  INSERT INTO ${KAMAILIO_VERSION_TABLE} (table_name, table_version)
    VALUES ('${NODE_LIST_TABLE}', ${DISPATCHER_TABLE_VERSION}) ON CONFLICT (table_name) DO NOTHING;
`;

/** Longest wait for the row's deletion at a stop (ms): a hanging PostgreSQL does not hold the stop. */
const WITHDRAW_WAIT_MS = 2000;

/** One node's row. */
export interface NodeListEntry {
  /** `sip:HOST:PORT` (IPv6 in brackets): where Kamailio sends to the node over UDP. */
  destination: string;
  /** The node's name (`description`; at most 64 characters are kept). */
  name: string;
}

/**
 * Writes this node's row: replaces any row of set 1 at the same destination (a node restarted
 * on the same port under another name) or with the same name (the same node on another port),
 * in one transaction, so that Kamailio never sees the node twice.
 */
export async function upsertNode(pool: pg.Pool, entry: NodeListEntry): Promise<void> {
  await pool.query(
    `WITH replaced AS (DELETE FROM ${NODE_LIST_TABLE} WHERE setid = $1 AND (destination = $2 OR description = $3))` +
      ` INSERT INTO ${NODE_LIST_TABLE} (setid, destination, flags, priority, attrs, description)` +
      ` VALUES ($1, $2, 0, 0, '', $3)`,
    [NODE_LIST_SET, entry.destination, entry.name.slice(0, 64)],
  );
}

/** Deletes this node's row (its destination under its name); returns whether there was one. */
export async function deleteNode(pool: pg.Pool, entry: NodeListEntry): Promise<boolean> {
  const r = await pool.query(
    `DELETE FROM ${NODE_LIST_TABLE} WHERE setid = $1 AND destination = $2 AND description = $3`,
    [NODE_LIST_SET, entry.destination, entry.name.slice(0, 64)],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * This node's presence in the list: {@link announce} once started (retried by {@link retry}
 * while PostgreSQL does not answer), {@link withdraw} at a clean stop.
 */
export class NodeListPresence {
  private entry: NodeListEntry | undefined;
  /** Whether the row is written (as far as this node knows). */
  private listed = false;
  private withdrawn = false;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  /** The row this node announced, if any. */
  get announced(): NodeListEntry | undefined {
    return this.entry;
  }

  /** Writes the row now; on failure, {@link retry} writes it later. Never throws. */
  announce(entry: NodeListEntry): Promise<void> {
    this.entry = entry;
    this.listed = false;
    return this.retry(true);
  }

  /**
   * Writes the row again when it is not written yet, or always with `force` (a new connection to
   * PostgreSQL: the database may have been restored without it). Never throws.
   */
  retry(force = false): Promise<void> {
    if (!this.entry || this.withdrawn || (this.listed && !force)) return Promise.resolve();
    if (this.pending) return this.pending;
    const entry = this.entry;
    const wasListed = this.listed;
    this.pending = upsertNode(this.pool, entry)
      .then(
        () => {
          this.listed = true;
          if (!wasListed)
            this.logger.info({ ...entry, table: NODE_LIST_TABLE }, 'this node is in the cluster node list');
        },
        (e: unknown) => {
          this.listed = false;
          this.logger.warn(
            { ...entry, err: e instanceof Error ? e.message : String(e) },
            'cannot write this node to the cluster node list: retrying',
          );
        },
      )
      .finally(() => (this.pending = undefined));
    return this.pending;
  }

  /**
   * Deletes the row (a clean stop), waiting at most {@link WITHDRAW_WAIT_MS}; later announces and
   * retries do nothing. Never throws.
   */
  async withdraw(): Promise<void> {
    if (this.withdrawn || !this.entry) return;
    this.withdrawn = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${WITHDRAW_WAIT_MS} ms`)), WITHDRAW_WAIT_MS);
    });
    const entry = this.entry;
    try {
      await Promise.race([(this.pending ?? Promise.resolve()).then(() => deleteNode(this.pool, entry)), timeout]);
      this.listed = false;
      this.logger.info({ ...this.entry }, 'this node left the cluster node list');
    } catch (e) {
      this.logger.warn(
        { ...this.entry, err: e instanceof Error ? e.message : String(e) },
        'cannot remove this node from the cluster node list: Kamailio probes will take it out',
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
