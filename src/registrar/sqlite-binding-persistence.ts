import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Binding } from './binding.js';
import type { BindingPersistence } from './binding-persistence.js';

type Db = Database.Database;

interface Row {
  dn: string;
  key: string;
  data: string;
}

/**
 * Bindings in SQLite (better-sqlite3 12), table `registrar_bindings`. Writes are queued and
 * committed in one transaction every `flushMs` (default 200 ms) and at close, so a REGISTER
 * costs no disk round-trip; a crash loses at most the last `flushMs` of refreshes, which the
 * phones repeat anyway.
 */
export class SqliteBindingPersistence implements BindingPersistence {
  private readonly pending = new Map<string, Binding | null>();
  private timer: TimerHandle | undefined;
  private readonly upsert: Database.Statement;
  private readonly del: Database.Statement;
  private readonly ownsDb: boolean;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly flushMs = 200,
    ownsDb = false,
  ) {
    this.ownsDb = ownsDb;
    db.exec(`CREATE TABLE IF NOT EXISTS registrar_bindings (
      dn TEXT NOT NULL, key TEXT NOT NULL, expires_at INTEGER NOT NULL, data TEXT NOT NULL,
      PRIMARY KEY (dn, key))`);
    this.upsert = db.prepare(
      'INSERT INTO registrar_bindings (dn, key, expires_at, data) VALUES (?, ?, ?, ?) ON CONFLICT(dn, key) DO UPDATE SET expires_at = excluded.expires_at, data = excluded.data',
    );
    this.del = db.prepare('DELETE FROM registrar_bindings WHERE dn = ? AND key = ?');
  }

  /** Open (or create) `registrar.sqlite` in `dataDir`, WAL mode. */
  static open(dataDir: string, clock: Clock, flushMs = 200): SqliteBindingPersistence {
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(join(dataDir, 'registrar.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return new SqliteBindingPersistence(db, clock, flushMs, true);
  }

  loadAll(): Binding[] {
    const rows = this.db.prepare('SELECT dn, key, data FROM registrar_bindings').all() as Row[];
    const out: Binding[] = [];
    for (const r of rows) {
      try {
        out.push(JSON.parse(r.data) as Binding);
      } catch {
        this.del.run(r.dn, r.key);
      }
    }
    return out;
  }

  save(binding: Binding): void {
    this.pending.set(`${binding.dn}\u0000${binding.key}`, binding);
    this.schedule();
  }

  remove(dn: string, key: string): void {
    this.pending.set(`${dn}\u0000${key}`, null);
    this.schedule();
  }

  flush(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    this.db.transaction(() => {
      for (const [k, b] of batch) {
        if (b) this.upsert.run(b.dn, b.key, Math.round(b.expiresAt), JSON.stringify(b));
        else {
          const i = k.indexOf('\u0000');
          this.del.run(k.slice(0, i), k.slice(i + 1));
        }
      }
    })();
  }

  close(): void {
    this.flush();
    if (this.ownsDb && this.db.open) this.db.close();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.flushMs);
  }
}
