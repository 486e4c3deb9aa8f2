/** A call that reached a routing point and waits for an agent. */
export interface RoutableCall {
  /** The call's connId. */
  readonly callId: string;
  /** Number of the routing-point DN the call arrived on. */
  readonly routingPoint: string;
  readonly ani?: string;
  readonly dnis?: string;
  /**
   * The caller may be redirected to another node of a cluster (its INVITE came through the
   * cluster's trusted proxy, which follows a 302): agents of other nodes may be picked.
   */
  readonly redirectable?: boolean;
  /**
   * Another node redirected the call here for this agent (`cc-agent`) and holds its reservation:
   * offered to it first when it is this node's, Ready and free; otherwise routed to this node's
   * agents (never redirected again).
   */
  readonly forAgent?: string;
}

/**
 * How routing of one call ended. `default-dn`: the caller should be sent to that DN (the routing
 * point's `default-dn` option); `rejected`: answer the caller with `status` (480 Temporarily
 * Unavailable); `abandoned`: the caller hung up first; `redirect`: the agent picked is owned by
 * node `node` (SIP address `sip`), reserved for this call: the caller is to be redirected there
 * (only for a {@link RoutableCall.redirectable} call).
 */
export type RouteOutcome =
  | { readonly kind: 'delivered'; readonly dn: string; readonly agentId: string }
  | { readonly kind: 'default-dn'; readonly dn: string }
  | { readonly kind: 'rejected'; readonly status: 480 }
  | { readonly kind: 'abandoned' }
  | { readonly kind: 'redirect'; readonly agentId: string; readonly node: string; readonly sip: string };
