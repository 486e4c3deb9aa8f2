/**
 * The migration journal (docs/migration.md "The journal"): JSON lines, each appended and fsync'd
 * before the tool goes on. A batch is written only once it is applied and validated, so the
 * journal never claims more than the server holds; `apply` resumes from it, `status` and
 * `rollback` read it.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';

/** `start`: one per `apply` run. */
export interface StartEntry {
  t: 'start';
  time: string;
  plan: string;
  server: string;
  agents: number;
}
/** A batch applied and validated. */
export interface BatchEntry {
  t: 'batch';
  n: number;
  agents: string[];
  version: number;
  size: number;
  cpu: number | null;
  lag: number | null;
  /** Office DNs deleted in this batch's change-set (version `version`: rollback restores them from it). */
  removedDns?: string[];
  /** The batch created the plan's softswitch. */
  softswitchCreated?: boolean;
  /** Settled on resume: applied by a run that died before journaling it. */
  recovered?: boolean;
}
/** A batch undone: by a failed validation (never journaled as `batch`), or by `rollback`. */
export interface RolledBackEntry {
  t: 'rolled-back';
  n: number;
  agents: string[];
  version: number;
  why: string;
  /** Office DNs re-created by this rollback. */
  restoredDns?: string[];
}
/** An agent skipped (on a call) and not moved by the end of the run. */
export interface DeferredEntry {
  t: 'deferred';
  agentId: string;
  why: string;
}
/**
 * An office DN deleted outside a batch's change-set: after the batches (its agents had logged
 * out), or by a change-set a crashed run did not journal (found in the change feed on resume).
 * `version` is the change-set that deleted it, which rollback restores it from.
 */
export interface OfficeDnRemovedEntry {
  t: 'office-dn-removed';
  number: string;
  version: number;
}
/** An office DN kept because agents stayed logged in on it past `--wait-logout`. */
export interface OfficeDnKeptEntry {
  t: 'office-dn-kept';
  number: string;
  why: string;
}
/** The run completed: every agent moved, every office DN removed. */
export interface DoneEntry {
  t: 'done';
  time: string;
  version: number;
}

/** One journal line. */
export type JournalEntry =
  StartEntry | BatchEntry | RolledBackEntry | DeferredEntry | OfficeDnRemovedEntry | OfficeDnKeptEntry | DoneEntry;

/** Appends entries to a journal file, fsync'ing each. */
export class JournalWriter {
  constructor(readonly file: string) {}

  /** Appends one line and waits until it is on disk. */
  append(e: JournalEntry): void {
    const fd = openSync(this.file, 'a');
    try {
      writeSync(fd, JSON.stringify(e) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** Reads a journal; a torn last line (a crash mid-write) is ignored. Missing file = empty. */
export function readJournal(file: string): JournalEntry[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: JournalEntry[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      out.push(JSON.parse(l) as JournalEntry);
    } catch (e) {
      if (i < lines.length - 2) throw new Error(`${file}:${i + 1}: not a journal line: ${(e as Error).message}`);
    }
  });
  return out;
}

/** What a journal says was done. */
export interface JournalSummary {
  /** Batches applied and not undone, in order. */
  batches: BatchEntry[];
  /** Agents moved (in batches not undone). */
  moved: Set<string>;
  /** Agents deferred by the last run and not moved since. */
  deferred: Set<string>;
  /** Office DNs deleted outside batches (and not re-created by a rollback). */
  removedDns: OfficeDnRemovedEntry[];
  /** Every office DN deleted and not re-created since → the version of the change-set that deleted it. */
  removedBy: Map<string, number>;
  /** Office DNs kept by the last run and not removed since. */
  kept: Set<string>;
  lastVersion: number | null;
  done: boolean;
  /** The last batch a failed validation rolled back, when no batch was applied after it. */
  lastFailure: RolledBackEntry | undefined;
  /** Highest batch number used (rolled-back ones included). */
  lastBatch: number;
  start: StartEntry | undefined;
}

/** Folds the journal into {@link JournalSummary}. */
export function summariseJournal(entries: JournalEntry[]): JournalSummary {
  const s: JournalSummary = {
    batches: [],
    moved: new Set(),
    deferred: new Set(),
    removedDns: [],
    removedBy: new Map(),
    kept: new Set(),
    lastVersion: null,
    done: false,
    lastBatch: 0,
    start: undefined,
    lastFailure: undefined,
  };
  for (const e of entries) {
    switch (e.t) {
      case 'start':
        s.start ??= e;
        s.done = false;
        s.deferred.clear();
        s.kept.clear();
        break;
      case 'batch':
        s.lastFailure = undefined;
        s.batches.push(e);
        for (const a of e.agents) {
          s.moved.add(a);
          s.deferred.delete(a);
        }
        for (const d of e.removedDns ?? []) s.removedBy.set(d, e.version);
        s.lastVersion = e.version;
        s.lastBatch = Math.max(s.lastBatch, e.n);
        break;
      case 'rolled-back':
        if (e.why !== 'rollback') s.lastFailure = e;
        s.batches = s.batches.filter((b) => b.n !== e.n);
        for (const a of e.agents) s.moved.delete(a);
        s.removedDns = s.removedDns.filter((r) => !(e.restoredDns ?? []).includes(r.number));
        for (const d of e.restoredDns ?? []) s.removedBy.delete(d);
        s.lastVersion = e.version;
        s.lastBatch = Math.max(s.lastBatch, e.n);
        s.done = false;
        break;
      case 'deferred':
        s.deferred.add(e.agentId);
        break;
      case 'office-dn-removed':
        s.removedDns.push(e);
        s.removedBy.set(e.number, e.version);
        s.kept.delete(e.number);
        s.lastVersion = e.version;
        break;
      case 'office-dn-kept':
        s.kept.add(e.number);
        break;
      case 'done':
        s.done = true;
        s.lastVersion = e.version;
        break;
    }
  }
  return s;
}
