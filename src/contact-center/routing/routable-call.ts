/** A call that reached a routing point and waits for an agent. */
export interface RoutableCall {
  /** The call's connId. */
  readonly callId: string;
  /** Number of the routing-point DN the call arrived on. */
  readonly routingPoint: string;
  readonly ani?: string;
  readonly dnis?: string;
}

/**
 * How routing of one call ended. `default-dn`: the caller should be sent to that DN (the routing
 * point's `default-dn` option); `rejected`: answer the caller with `status` (480 Temporarily
 * Unavailable); `abandoned`: the caller hung up first.
 */
export type RouteOutcome =
  | { readonly kind: 'delivered'; readonly dn: string; readonly agentId: string }
  | { readonly kind: 'default-dn'; readonly dn: string }
  | { readonly kind: 'rejected'; readonly status: 480 }
  | { readonly kind: 'abandoned' };
