/**
 * The change feed (behaviour §13): the committed change-sets read back from the store's
 * database, oldest first, and their delivery to in-process subscribers, once each, in version
 * order.
 */
import type Database from 'better-sqlite3';
import type { Logger } from '../util/logger.js';
import type { AppliedChange, CommittedChangeSet } from './change-set.js';

/** A subscriber: gets each committed change-set once, in version order. */
export type ChangeSubscriber = (changeSet: CommittedChangeSet) => void;

/**
 * Committed change-sets of versions after `version` up to `upTo`, oldest first (at most
 * `limit`), read with the store's `since` statement.
 */
export function readChangeSets(
  since: Database.Statement,
  version: number,
  upTo: number,
  limit: number,
): CommittedChangeSet[] {
  const rows = since.all(version, upTo, limit) as {
    version: number;
    time: string;
    origin: string | null;
    changes: string;
  }[];
  return rows.map((r) => {
    const cs: CommittedChangeSet = {
      version: r.version,
      time: r.time,
      changes: JSON.parse(r.changes) as AppliedChange[],
    };
    if (r.origin) cs.origin = r.origin;
    return cs;
  });
}

/** The subscribers of a store, and the committed change-sets still to deliver to them. */
export class ChangeDelivery {
  private readonly subscribers = new Set<ChangeSubscriber>();
  private readonly queue: CommittedChangeSet[] = [];
  private delivering = false;

  constructor(private readonly logger: Logger) {}

  /** Registers a subscriber (see `ConfigStore.subscribe`); returns the unsubscribe function. */
  subscribe(fn: ChangeSubscriber): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /**
   * Delivers `cs` to every subscriber, after the change-sets queued before it (one applied by a
   * subscriber waits until the current one reached them all). A throwing subscriber is logged.
   */
  deliver(cs: CommittedChangeSet): void {
    this.queue.push(cs);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        for (const fn of [...this.subscribers]) {
          try {
            fn(next);
          } catch (e) {
            this.logger.error({ err: e, version: next.version }, 'configuration subscriber failed');
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }
}
