import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AgentWorkMode } from '../events.js';
import type { AgentSession } from './agent-session.js';
import { AgentState, type ReadyWorkMode } from './agent-state.js';

interface SessionRow {
  agent_id: string;
  dn: string;
  state: string;
  work_mode: string;
  ready_mode: string;
  reason_code: string | null;
  agent_phone: string | null;
  logged_in_at: number;
  idle_since: number;
  logged_in_by: string | null;
}

const STATES = new Set<string>(Object.values(AgentState));

/**
 * Persists agent logins in SQLite (table `cc_agent_sessions`) so that a restart keeps them.
 * Works on its own database file or on a database handle shared with the config store.
 * Routed calls are not persisted: calls do not survive a restart.
 */
export class AgentSessionRepository {
  private readonly db: Database.Database;
  private readonly ownsDb: boolean;
  private readonly upsert: Database.Statement;
  private readonly remove: Database.Statement;

  /** @param db an open database, or a file path (`:memory:` for tests) */
  constructor(db: Database.Database | string) {
    if (typeof db === 'string') {
      this.db = new Database(db);
      this.db.pragma('journal_mode = WAL');
      this.ownsDb = true;
    } else {
      this.db = db;
      this.ownsDb = false;
    }
    this.db.exec(`CREATE TABLE IF NOT EXISTS cc_agent_sessions (
      agent_id TEXT PRIMARY KEY,
      dn TEXT NOT NULL UNIQUE,
      state TEXT NOT NULL,
      work_mode TEXT NOT NULL,
      ready_mode TEXT NOT NULL,
      reason_code TEXT,
      agent_phone TEXT,
      logged_in_at INTEGER NOT NULL,
      idle_since INTEGER NOT NULL,
      logged_in_by TEXT
    )`);
    // A data directory written before logged_in_by existed: add the column (NULL = not known).
    const columns = this.db.prepare('PRAGMA table_info(cc_agent_sessions)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'logged_in_by'))
      this.db.exec('ALTER TABLE cc_agent_sessions ADD COLUMN logged_in_by TEXT');
    this.upsert = this.db.prepare(`INSERT INTO cc_agent_sessions
      (agent_id, dn, state, work_mode, ready_mode, reason_code, agent_phone, logged_in_at, idle_since, logged_in_by)
      VALUES (@agent_id, @dn, @state, @work_mode, @ready_mode, @reason_code, @agent_phone, @logged_in_at, @idle_since,
        @logged_in_by)
      ON CONFLICT(agent_id) DO UPDATE SET dn=excluded.dn, state=excluded.state, work_mode=excluded.work_mode,
        ready_mode=excluded.ready_mode, reason_code=excluded.reason_code, agent_phone=excluded.agent_phone,
        logged_in_at=excluded.logged_in_at, idle_since=excluded.idle_since, logged_in_by=excluded.logged_in_by`);
    this.remove = this.db.prepare('DELETE FROM cc_agent_sessions WHERE agent_id = ?');
  }

  /** Opens (creating it if needed) `agent-sessions.sqlite` in a data directory. */
  static inDataDir(dataDir: string): AgentSessionRepository {
    mkdirSync(dataDir, { recursive: true });
    return new AgentSessionRepository(join(dataDir, 'agent-sessions.sqlite'));
  }

  /** Inserts or replaces the session of `session.agentId`. */
  save(session: AgentSession): void {
    const row: SessionRow = {
      agent_id: session.agentId,
      dn: session.dn,
      state: session.status.state,
      work_mode: session.status.workMode,
      ready_mode: session.status.readyMode,
      reason_code: session.status.reasonCode ?? null,
      agent_phone: session.agentPhone ?? null,
      logged_in_at: Math.round(session.loggedInAt),
      idle_since: Math.round(session.idleSince),
      logged_in_by: session.loggedInBy ?? null,
    };
    this.upsert.run(row);
  }

  /** Removes the session of an agent (logout). */
  delete(agentId: string): void {
    this.remove.run(agentId);
  }

  /** Every stored session, as saved (routed calls empty). */
  loadAll(): AgentSession[] {
    const rows = this.db
      .prepare('SELECT * FROM cc_agent_sessions ORDER BY logged_in_at, agent_id')
      .all() as SessionRow[];
    const out: AgentSession[] = [];
    for (const r of rows) {
      if (!STATES.has(r.state) || r.state === AgentState.LoggedOut) continue;
      out.push({
        agentId: r.agent_id,
        dn: r.dn,
        status: {
          state: r.state as AgentState,
          workMode: r.work_mode as AgentWorkMode,
          readyMode: (r.ready_mode === 'AutoIn' ? 'AutoIn' : 'ManualIn') as ReadyWorkMode,
          ...(r.reason_code !== null ? { reasonCode: r.reason_code } : {}),
          routedCalls: [],
        },
        ...(r.agent_phone !== null ? { agentPhone: r.agent_phone } : {}),
        loggedInAt: r.logged_in_at,
        idleSince: r.idle_since,
        ...(r.logged_in_by === 'agent' || r.logged_in_by === 'application' ? { loggedInBy: r.logged_in_by } : {}),
      });
    }
    return out;
  }

  /** Closes the database if this repository opened it. */
  close(): void {
    if (this.ownsDb) this.db.close();
  }
}
