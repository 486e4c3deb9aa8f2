/**
 * Active calls in SQLite (better-sqlite3 12): `DATA/calls.sqlite`, table `active_calls`.
 * Writes are queued and committed in one transaction every `flushMs` (default 200 ms), so the
 * signalling path only touches a Map; a call that ends before the next flush never reaches the
 * disk. A crash loses at most the last `flushMs` of call starts (those calls are not reported).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Call } from './call.js';
import { callParties, type CallJournal, type LostCall } from './call-journal.js';

type Db = Database.Database;

interface Row {
  conn_id: string;
  parties: string;
  ani: string | null;
  dnis: string | null;
  call_type: string;
  started_at: number;
}

/** The {@link CallJournal} of `sipserver start`: write-behind batches into SQLite. */
export class SqliteCallJournal implements CallJournal {
  /** connId → call to upsert, or null to delete. */
  private readonly pending = new Map<string, Call | null>();
  /** connIds that have a row on disk. */
  private readonly written = new Set<string>();
  private timer: TimerHandle | undefined;
  private frozen = false;
  private readonly upsert: Database.Statement;
  private readonly del: Database.Statement;
  private readonly setState: Database.Statement;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly flushMs = 200,
    private readonly ownsDb = false,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS active_calls (
      conn_id TEXT PRIMARY KEY, parties TEXT NOT NULL, ani TEXT, dnis TEXT,
      call_type TEXT NOT NULL, started_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS journal_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.upsert = db.prepare(
      'INSERT INTO active_calls (conn_id, parties, ani, dnis, call_type, started_at) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT(conn_id) DO UPDATE SET parties = excluded.parties, call_type = excluded.call_type',
    );
    this.del = db.prepare('DELETE FROM active_calls WHERE conn_id = ?');
    this.setState = db.prepare(
      'INSERT INTO journal_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
  }

  /** Open (or create) `calls.sqlite` in `dataDir`, WAL mode. */
  static open(dataDir: string, clock: Clock, flushMs = 200): SqliteCallJournal {
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(join(dataDir, 'calls.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return new SqliteCallJournal(db, clock, flushMs, true);
  }

  /**
   * The calls that were active when the previous process stopped, oldest first; clears them
   * and marks this process as running (run once at start, before any call).
   */
  takeLost(): LostCall[] {
    const state = this.db.prepare("SELECT value FROM journal_state WHERE key = 'stop'").get() as
      { value: string } | undefined;
    const cause: LostCall['cause'] = state?.value === 'shutdown' ? 'shutdown' : 'crash';
    const rows = this.db
      .prepare(
        'SELECT conn_id, parties, ani, dnis, call_type, started_at FROM active_calls ORDER BY started_at, conn_id',
      )
      .all() as Row[];
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM active_calls').run();
      this.setState.run('stop', 'running');
    })();
    return rows.map((r) => ({
      connId: r.conn_id,
      parties: parseParties(r.parties),
      ...(r.ani !== null ? { ani: r.ani } : {}),
      ...(r.dnis !== null ? { dnis: r.dnis } : {}),
      callType: r.call_type,
      startedAt: new Date(r.started_at).toISOString(),
      cause,
    }));
  }

  opened(call: Call): void {
    if (this.frozen) return;
    this.pending.set(call.connId, call);
    this.schedule();
  }

  changed(call: Call): void {
    if (this.frozen) return;
    this.pending.set(call.connId, call);
    this.schedule();
  }

  closed(call: Call): void {
    if (this.frozen) return;
    if (this.written.has(call.connId)) {
      this.pending.set(call.connId, null);
      this.schedule();
    } else {
      this.pending.delete(call.connId); // never written: nothing to undo
    }
  }

  /** Commit the queued changes now. */
  flush(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0 || !this.db.open) return;
    const batch = [...this.pending];
    this.pending.clear();
    this.db.transaction(() => {
      for (const [connId, call] of batch) {
        if (call) {
          this.write(call);
        } else {
          this.del.run(connId);
          this.written.delete(connId);
        }
      }
    })();
  }

  /**
   * Orderly stop, before call control releases the calls: records every call still `active`
   * and marks the stop as a shutdown; later events are ignored, so these calls are reported as
   * lost (cause `shutdown`) at the next start.
   */
  freeze(active: readonly Call[]): void {
    if (this.frozen || !this.db.open) return;
    this.flush();
    this.db.transaction(() => {
      for (const call of active) this.write(call);
      this.setState.run('stop', 'shutdown');
    })();
    this.frozen = true;
  }

  /** Flush and close the database. */
  close(): void {
    this.flush();
    if (this.ownsDb && this.db.open) this.db.close();
  }

  private write(call: Call): void {
    this.upsert.run(
      call.connId,
      JSON.stringify(callParties(call)),
      call.ani ?? null,
      call.dnis ?? null,
      call.callType,
      Math.round(call.createdAt),
    );
    this.written.add(call.connId);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.flushMs);
  }
}

function parseParties(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.map((x) => String(x)) : [];
  } catch {
    return [];
  }
}
