/**
 * What agents and routing need from the configuration store (`src/config`): a narrow port, so
 * that this layer is testable with an in-memory directory and independent of the store's shape.
 * An adapter over the real store implements it (see `config-directory-adapter.ts`).
 */

/** An agent (Person) of the configuration (interfaces §2 `agents`). */
export interface DirectoryAgent {
  readonly id: string;
  readonly password: string;
  /** The agent's default DN (its place), normalised. */
  readonly dn: string;
  /** The agent's own options, e.g. a default `agent-phone`. */
  readonly options: Readonly<Record<string, string>>;
}

/** A DN of the configuration (interfaces §2 `dns`). */
export interface DirectoryDn {
  /** Normalised number (or name, e.g. `Softswitch`). */
  readonly number: string;
  /** `extension`, `acd-position`, `voip-service`, `trunk`, `routing-point`, `acd-queue`. */
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
}

/** An agent group (interfaces §2 `agent-groups`). */
export interface DirectoryAgentGroup {
  readonly name: string;
  readonly agents: readonly string[];
}

/** Read access to the configuration, as agents and routing use it. */
export interface ContactCenterDirectory {
  getAgent(id: string): DirectoryAgent | undefined;
  /** The DN with this number (as written or normalised), if provisioned. */
  getDn(number: string): DirectoryDn | undefined;
  getAgentGroup(name: string): DirectoryAgentGroup | undefined;
  /**
   * Effective value of a `[TServer]` option for a DN: DN, then the softswitch it sits behind,
   * then the application, then undefined (behaviour §2.2).
   */
  effectiveOption(dn: string, name: string): string | undefined;
  /** Number normalisation of interfaces §2 (spaces, dashes, dots, parentheses removed; `+` kept). */
  normaliseNumber(raw: string): string;
  /** Optional: every configured agent (for `/api/status`, which lists logged-out agents too). */
  listAgents?(): DirectoryAgent[];
  /** Optional change notification (config change-sets applied); returns an unsubscribe function. */
  subscribe?(listener: () => void): () => void;
}

/** Normalisation of interfaces §2, used when no store-provided one is available. */
export function normaliseNumber(raw: string): string {
  return raw.trim().replace(/[\s\-.()]/g, '');
}
