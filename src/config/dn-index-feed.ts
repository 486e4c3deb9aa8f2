/**
 * Keeps a per-DN index in step with the store: loads the current DNs, then applies each DN
 * change of every committed change-set (old and new value), never rebuilding (behaviour §13).
 */
import type { DnConfig } from './config-model.js';
import type { ConfigStore } from './config-store.js';

/** An index updated per DN change, like `SoftswitchPrefixTable` and `DnNumberIndex`. */
export interface DnChangeIndex {
  applyDnChange(old: DnConfig | null, neu: DnConfig | null): void;
}

/** Fills `index` from the store and keeps it current. Returns the unsubscribe function. */
export function followDnChanges(store: Pick<ConfigStore, 'listDns' | 'subscribe'>, index: DnChangeIndex): () => void {
  for (const d of store.listDns(0, Number.MAX_SAFE_INTEGER).items) index.applyDnChange(null, d);
  return store.subscribe((cs) => {
    for (const c of cs.changes) if (c.kind === 'dn') index.applyDnChange(c.old, c.new);
  });
}
