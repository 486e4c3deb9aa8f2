/** What the nodes of a cluster tell each other and `GET /api/cluster` shows (docs/cluster.md). */

/** A node as it describes itself in its lease. */
export interface ClusterNodeInfo {
  readonly name: string;
  /** Its SIP addresses (`udp:127.0.0.1:5070`). */
  readonly sip: readonly string[];
  /** Its HTTP base URL, once listening. */
  readonly http?: string;
  readonly pid: number;
  /** ISO time the process started. */
  readonly startedAt: string;
}

/** One member of the cluster in `GET /api/cluster`. */
export interface ClusterNodeView {
  readonly name: string;
  /** Holds a lease now. */
  readonly alive: boolean;
  /** The node that answered. */
  readonly self: boolean;
  /** What is left of its lease, ms (0 when dead). */
  readonly leaseMs: number;
  readonly sip?: readonly string[];
  readonly http?: string;
  readonly pid?: number;
  readonly startedAt?: string;
  /** Agents it owns. */
  readonly agents: number;
}

/** `GET /api/cluster`. */
export interface ClusterView {
  /** `single`: no `--redis`, this node alone. */
  readonly mode: 'cluster' | 'single';
  /** The answering node's name. */
  readonly self: string;
  readonly nodes: readonly ClusterNodeView[];
  /** Agent id → the node that owns its login. */
  readonly owners: Readonly<Record<string, string>>;
  /** Probed device (DN) → the node that sends its OPTIONS (docs/cluster.md, "Device health"). */
  readonly probes: Readonly<Record<string, string>>;
}
