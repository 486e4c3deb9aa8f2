/**
 * The configuration store's SQLite database (behaviour §2.3): opened in WAL mode with its
 * schema, its prepared statements, the configuration loaded from its rows, and the rows an
 * applied change-set writes.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AgentConfig, DnConfig, ServerConfig } from './config-model.js';
import { defaultServerConfig } from './config-model.js';
import type { AppliedChange } from './change-set.js';
import type { ConfigState } from './config-state.js';
import type { ApplyOptions } from './config-store.js';

/** File name of the database inside the data directory. */
export const STORE_FILE = 'config.sqlite';

/** Rows written between two checks of the turn's length. */
const WRITE_STEP = 32;

/** The prepared statements of a store; the writing ones are absent when it is read-only. */
export interface StoreStatements {
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
}

/**
 * Opens the database of the store in `dataDir`: an existing one for reading only, or one
 * created (with the directory) if needed, in WAL mode, with its schema.
 */
export function openDatabase(dataDir: string, readonly: boolean): Database.Database {
  const file = join(dataDir, STORE_FILE);
  let db: Database.Database;
  if (readonly) {
    if (!existsSync(file)) throw new Error(`no configuration store in ${dataDir}`);
    db = new Database(file, { readonly: true, fileMustExist: true });
  } else {
    mkdirSync(dataDir, { recursive: true });
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash (SIGKILL); only an OS crash may
    // lose the last transactions, never leave a half-applied one.
    db.pragma('synchronous = NORMAL');
    db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS dns (number TEXT PRIMARY KEY, type TEXT NOT NULL, options TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS agents (id TEXT PRIMARY KEY, data TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS agent_groups (name TEXT PRIMARY KEY, agents TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS change_sets (version INTEGER PRIMARY KEY, time TEXT NOT NULL,
          origin TEXT, changes TEXT NOT NULL);
      `);
  }
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Prepares the statements of the store's database `db`. */
export function prepareStatements(db: Database.Database, readonly: boolean): StoreStatements {
  const prep = (sql: string): Database.Statement =>
    readonly ? (undefined as unknown as Database.Statement) : db.prepare(sql);
  return {
    upsertDn: prep(
      'INSERT INTO dns (number, type, options) VALUES (?, ?, ?) ON CONFLICT(number) DO UPDATE SET type = excluded.type, options = excluded.options',
    ),
    deleteDn: prep('DELETE FROM dns WHERE number = ?'),
    upsertAgent: prep('INSERT INTO agents (id, data) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data'),
    deleteAgent: prep('DELETE FROM agents WHERE id = ?'),
    upsertGroup: prep(
      'INSERT INTO agent_groups (name, agents) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET agents = excluded.agents',
    ),
    deleteGroup: prep('DELETE FROM agent_groups WHERE name = ?'),
    setMeta: prep('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    insertChangeSet: prep('INSERT INTO change_sets (version, time, origin, changes) VALUES (?, ?, ?, ?)'),
    since: db.prepare(
      'SELECT version, time, origin, changes FROM change_sets WHERE version > ? AND version <= ? ORDER BY version LIMIT ?',
    ),
    maxVersion: db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM change_sets'),
  };
}

/** Loads the configuration in `db` into `state` without validation; returns the store's version. */
export function loadState(db: Database.Database, state: ConfigState): number {
  const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM change_sets').get() as { v: number };
  const server = db.prepare("SELECT value FROM meta WHERE key = 'server'").get() as { value: string } | undefined;
  state.server = server ? (JSON.parse(server.value) as ServerConfig) : defaultServerConfig();
  for (const r of db.prepare('SELECT number, type, options FROM dns ORDER BY rowid').iterate() as IterableIterator<{
    number: string;
    type: DnConfig['type'];
    options: string;
  }>) {
    state.loadUnchecked({
      number: r.number,
      type: r.type,
      options: r.options === '{}' ? {} : (JSON.parse(r.options) as DnConfig['options']),
    });
  }
  for (const r of db.prepare('SELECT data FROM agents ORDER BY rowid').iterate() as IterableIterator<{
    data: string;
  }>) {
    state.loadAgentUnchecked(JSON.parse(r.data) as AgentConfig);
  }
  for (const r of db.prepare('SELECT name, agents FROM agent_groups ORDER BY rowid').iterate() as IterableIterator<{
    name: string;
    agents: string;
  }>) {
    state.loadGroupUnchecked({ name: r.name, agents: JSON.parse(r.agents) as string[] });
  }
  return row.v;
}

/** Writes the object rows of `applied` (not the server row), yielding every {@link WRITE_STEP} rows. */
export function* writeRows(
  s: StoreStatements,
  applied: readonly AppliedChange[],
  options: ApplyOptions,
): Generator<void, void, void> {
  const every = options.progressEvery ?? 1000;
  const progress = options.onProgress;
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
export function writeServerRow(s: StoreStatements, applied: readonly AppliedChange[]): void {
  for (let i = applied.length - 1; i >= 0; i--) {
    const c = applied[i];
    if (c.kind === 'server') {
      s.setMeta.run('server', JSON.stringify(c.new));
      return;
    }
  }
}
