/**
 * Versioned change-sets (behaviour §13): the unit in which the configuration changes.
 */
import type { AgentConfig, AgentGroupConfig, DnConfig, ServerConfig } from './config-model.js';

/** What a change addresses. `server` (key `server`) is the server section, an extension of interfaces §5. */
export type ChangeKind = 'dn' | 'agent' | 'agent-group' | 'server';

/** `put` = create or replace, `patch` = merge (an option set to null is removed), `delete`. */
export type ChangeOp = 'put' | 'patch' | 'delete';

/**
 * What a change request may ask: the applied operations, and `create` = a `put` of an object that
 * must not exist (applied, and shown in the change feed, as a `put`).
 */
export type ChangeRequestOp = ChangeOp | 'create';

/** One requested change, as `POST /api/config/change-sets` takes it (interfaces §5). */
export interface ChangeRequest {
  op: ChangeRequestOp;
  kind: ChangeKind;
  key: string;
  value?: unknown;
  /**
   * With `create` of a DN or an agent: re-create the object exactly as it was just before the
   * committed change-set of this version removed it, secrets included, taken from the store's
   * change feed (docs/admin-api.md "Restoring a removed object"). `value` may then be left out;
   * if given, it must equal that object without its secrets.
   */
  restoreFrom?: number;
}

/** A change as applied: the object before and after (null = absent). Keys are normalised. */
export type AppliedChange =
  | { op: ChangeOp; kind: 'dn'; key: string; old: DnConfig | null; new: DnConfig | null }
  | { op: ChangeOp; kind: 'agent'; key: string; old: AgentConfig | null; new: AgentConfig | null }
  | { op: ChangeOp; kind: 'agent-group'; key: string; old: AgentGroupConfig | null; new: AgentGroupConfig | null }
  | { op: ChangeOp; kind: 'server'; key: string; old: ServerConfig | null; new: ServerConfig | null };

/** A committed change-set: what subscribers receive and the change feed returns. */
export interface CommittedChangeSet {
  version: number;
  /** ISO 8601 commit time. */
  time: string;
  /** Free text naming who made it (`api`, `reconcile`, `migrate`…). */
  origin?: string;
  changes: AppliedChange[];
}

/** A problem found in a change-set: the index of the change it is about, and why. */
export interface ChangeProblem {
  index: number;
  message: string;
  /** Where inside the change's value (e.g. `['options', 'oos-check']`), when known. */
  path?: (string | number)[];
  /** Set when the problem is that this change puts an object an earlier change (this index) put. */
  duplicateOf?: number;
}

/** Thrown when a change-set is refused; lists every problem; nothing was applied. */
export class ChangeSetError extends Error {
  constructor(
    readonly errors: ChangeProblem[],
    readonly warnings: ChangeProblem[] = [],
  ) {
    super(
      `change-set refused: ${errors.length} problem(s): ` +
        errors
          .slice(0, 5)
          .map((e) => `change ${e.index}: ${e.message}`)
          .join('; ') +
        (errors.length > 5 ? '; …' : ''),
    );
    this.name = 'ChangeSetError';
  }
}
