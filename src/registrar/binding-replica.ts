import type { Binding } from './binding.js';

/**
 * A change made by another node of a cluster: a binding it stored, or one it removed at `at`
 * (its Clock, ms; a remove older than the binding we hold is stale and ignored).
 */
export type RemoteBindingChange =
  { op: 'put'; binding: Binding } | { op: 'remove'; dn: string; key: string; at: number };

/**
 * Where a node shares the bindings its REGISTERs made with the other nodes of a cluster
 * (docs/cluster.md). Only the changes of REGISTER requests this node processed go out; expiry
 * and removals for a configuration change are done by every node on its own.
 */
export interface BindingReplica {
  /** The changes one REGISTER made to a DN's bindings (RFC 3261 §10.3 step 7), as applied. */
  publish(dn: string, changes: readonly RemoteBindingChange[]): void;
}
