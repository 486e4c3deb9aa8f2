/**
 * The record of the configuration file the store was last reconciled to (interfaces §1
 * `start --config`), kept in the store's meta table, and its read without opening the store.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { STORE_FILE } from './store-database.js';

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

/** The record in its meta value, or undefined when there is none or it cannot be read. */
export function parseReconciledSource(value: string | undefined): ReconciledSource | undefined {
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
