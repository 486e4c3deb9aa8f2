/**
 * The log of record of the configuration in PostgreSQL (docs/cluster-store.md): every change-set, with its version, time, origin and full changes (secrets
 * included: this is the store of record), in `sipserver_config_log`; the log's identity and schema
 * version in the one-row `sipserver_config_meta`. Appends are serialised by a transaction-scoped
 * advisory lock and checked against the writer's version, so two writers at the same version
 * cannot both win; each append notifies {@link CONFIG_CHANNEL} (a wake-up only: readers catch up
 * from the log). The cluster's node list that Kamailio reads (pg-node-list.ts) is created with
 * these tables.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { CommittedChangeSet, AppliedChange } from '../change-set.js';
import { NODE_LIST_SCHEMA } from './pg-node-list.js';

/** The LISTEN/NOTIFY channel; the payload is the new version. */
export const CONFIG_CHANNEL = 'sipserver_config';

/** Schema version this code writes and reads. */
export const LOG_SCHEMA_VERSION = 1;

/** Advisory lock key of the log's writers (any constant unlikely to clash: "sipcfg" in ASCII). */
const WRITE_LOCK = 0x73697063666;

/** How long an append waits for the write lock or a statement before it gives up (ms). */
const LOCK_TIMEOUT_MS = 5000;

/** The log moved on: another node appended `version` first. Catch up, re-validate, try again. */
export class LogConflictError extends Error {
  constructor(
    readonly logVersion: number,
    readonly attempted: number,
  ) {
    super(`the configuration log is at version ${logVersion}; change-set ${attempted} was made against an older one`);
    this.name = 'LogConflictError';
  }
}

/** The connection was lost while committing: the change-set may or may not be in the log. */
export class CommitOutcomeUnknownError extends Error {
  constructor(cause: unknown) {
    super(`lost the connection to PostgreSQL while committing: ${(cause as Error).message}`, { cause });
    this.name = 'CommitOutcomeUnknownError';
  }
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sipserver_config_meta (
    id smallint PRIMARY KEY CHECK (id = 1),
    schema_version integer NOT NULL,
    log_id text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS sipserver_config_log (
    version bigint PRIMARY KEY,
    time text NOT NULL,
    origin text,
    node text,
    changes json NOT NULL
  );
${NODE_LIST_SCHEMA}`;

interface LogRow {
  version: string;
  time: string;
  origin: string | null;
  changes: AppliedChange[];
}

function toChangeSet(r: LogRow): CommittedChangeSet {
  const cs: CommittedChangeSet = { version: Number(r.version), time: r.time, changes: r.changes };
  if (r.origin !== null) cs.origin = r.origin;
  return cs;
}

/**
 * Runs `fn` in a transaction holding the write lock, with the log's last version (read under
 * the lock); rolls back when it throws. BEGIN, the timeouts, the lock and the read go in one
 * round trip.
 */
async function inWriteTx<T>(pool: pg.Pool, fn: (c: pg.PoolClient, last: number) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const results = (await client.query(
      `BEGIN; SET LOCAL lock_timeout = ${LOCK_TIMEOUT_MS}; SET LOCAL statement_timeout = ${LOCK_TIMEOUT_MS * 2};` +
        ` SELECT pg_advisory_xact_lock(${WRITE_LOCK});` +
        ` SELECT COALESCE(MAX(version), 0) AS v FROM sipserver_config_log`,
    )) as unknown as pg.QueryResult<{ v: string }>[];
    const r = await fn(client, Number(results[results.length - 1]!.rows[0]!.v));
    try {
      await client.query('COMMIT');
    } catch (e) {
      broken = e as Error;
      throw new CommitOutcomeUnknownError(e);
    }
    return r;
  } catch (e) {
    if (!broken) {
      try {
        await client.query('ROLLBACK');
      } catch (re) {
        broken = re as Error;
      }
    }
    throw e;
  } finally {
    client.release(broken);
  }
}

/** The log, through a connection pool the caller owns. */
export class PgConfigLog {
  constructor(
    private readonly pool: pg.Pool,
    /** Recorded with each change-set (which node wrote it). */
    private readonly node = '',
  ) {}

  /**
   * Creates the tables when missing (under the write lock, so that nodes starting together do
   * not race) and returns the log's identity. Throws when the database holds a newer schema.
   */
  async ensureSchema(): Promise<{ logId: string }> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK})`);
      await client.query(SCHEMA);
      await client.query(
        'INSERT INTO sipserver_config_meta (id, schema_version, log_id) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING',
        [LOG_SCHEMA_VERSION, randomUUID()],
      );
      const r = await client.query<{ schema_version: number; log_id: string }>(
        'SELECT schema_version, log_id FROM sipserver_config_meta WHERE id = 1',
      );
      await client.query('COMMIT');
      const row = r.rows[0]!;
      if (row.schema_version > LOG_SCHEMA_VERSION)
        throw new Error(
          `the configuration log in PostgreSQL has schema version ${row.schema_version}; this server knows ${LOG_SCHEMA_VERSION}: upgrade the server`,
        );
      return { logId: row.log_id };
    } catch (e) {
      await client.query('ROLLBACK').catch((re: Error) => (broken = re));
      throw e;
    } finally {
      client.release(broken);
    }
  }

  /** The version of the last change-set in the log (0 when empty). */
  async lastVersion(): Promise<number> {
    const r = await this.pool.query<{ v: string }>('SELECT COALESCE(MAX(version), 0) AS v FROM sipserver_config_log');
    return Number(r.rows[0]!.v);
  }

  /** Change-sets after `version`, oldest first, at most `limit`. */
  async readAfter(version: number, limit: number): Promise<CommittedChangeSet[]> {
    const r = await this.pool.query<LogRow>(
      'SELECT version, time, origin, changes FROM sipserver_config_log WHERE version > $1 ORDER BY version LIMIT $2',
      [version, limit],
    );
    return r.rows.map(toChangeSet);
  }

  /**
   * Appends `changeSet` (its changes as the JSON text `changesJson`) if the log's last version is
   * the one before it, and notifies {@link CONFIG_CHANNEL}; throws {@link LogConflictError} when
   * the log moved on, {@link CommitOutcomeUnknownError} when the connection broke at the commit.
   */
  async append(changeSet: CommittedChangeSet, changesJson: string): Promise<void> {
    await inWriteTx(this.pool, async (c, last) => {
      if (last !== changeSet.version - 1) throw new LogConflictError(last, changeSet.version);
      await c.query(
        'WITH ins AS (INSERT INTO sipserver_config_log (version, time, origin, node, changes) VALUES ($1, $2, $3, $4, $5::json) RETURNING version)' +
          ' SELECT pg_notify($6, version::text) FROM ins',
        [changeSet.version, changeSet.time, changeSet.origin ?? null, this.node || null, changesJson, CONFIG_CHANNEL],
      );
    });
  }

  /**
   * Seeds an empty log with a store's history (`pages` yields its change-sets, oldest first,
   * from version 1): returns false, writing nothing, when the log is not empty any more.
   */
  async seed(pages: AsyncIterable<CommittedChangeSet[]> | Iterable<CommittedChangeSet[]>): Promise<boolean> {
    return inWriteTx(this.pool, async (c, last) => {
      if (last !== 0) return false;
      await c.query('SET LOCAL statement_timeout = 0');
      for await (const page of pages) {
        if (page.length === 0) continue;
        const args: unknown[] = [];
        const rows = page.map((cs, i) => {
          args.push(cs.version, cs.time, cs.origin ?? null, this.node || null, JSON.stringify(cs.changes));
          const b = i * 5;
          return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}::json)`;
        });
        await c.query(
          `INSERT INTO sipserver_config_log (version, time, origin, node, changes) VALUES ${rows.join(', ')}`,
          args,
        );
      }
      await c.query("SELECT pg_notify($1, 'seeded')", [CONFIG_CHANNEL]);
      return true;
    });
  }
}
