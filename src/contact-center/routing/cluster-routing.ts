/**
 * What the router needs of a cluster to pick agents of other nodes (docs/cluster.md, "Routing
 * across nodes"): implemented in `src/cluster` over Redis; a single server gives none and routes
 * to its own agents only.
 */

/** A Ready agent another live node owns, as this node knows it (no Redis read). */
export interface RemoteReadyAgent {
  readonly agentId: string;
  /** The owning node's name. */
  readonly owner: string;
  /** The agent's DN (its `sip-invite-timeout` gives the reservation's TTL). */
  readonly dn: string;
  /** Clock time the agent became idle (wall clock: comparable across nodes). */
  readonly idleSince: number;
  /** The owner's SIP address from its lease (`udp:127.0.0.1:5071`). */
  readonly sip: string;
}

/**
 * The cluster side of routing: other nodes' Ready agents, and the one-offer-per-agent
 * reservation every node takes before it offers an agent a call (local or remote).
 */
export interface ClusterRouting {
  /** Those of `agentIds` that another live node owns and that are Ready there. */
  remoteReady(agentIds: readonly string[]): RemoteReadyAgent[];
  /**
   * Reserves `agentId` for one offer for `ttlMs` (`SET PREFIX:offer:ID NODE NX PX ttl`).
   * Resolves false when another node holds it, when another node's agent is no longer Ready once
   * it is taken (it is given back), or when Redis cannot say and the agent is not this node's own
   * (an own agent is then offered without a reservation). Never rejects.
   */
  reserve(agentId: string, ttlMs: number): Promise<boolean>;
  /** Gives a reservation back (the offer ended); it expires by its TTL anyway. */
  release(agentId: string): void;
  /** Called when an agent of another node may have become Ready (to dispatch waiting calls). */
  onRemoteReady(listener: () => void): () => void;
}
