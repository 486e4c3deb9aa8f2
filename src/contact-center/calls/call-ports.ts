/**
 * What call control needs from its neighbours, as narrow ports: reachability (where an INVITE
 * for a DN or number goes, behaviour §3), the configuration directory, the router of routing
 * points (bound late, {@link CallRouterRef}) and the agent policy of `reject-call-notready`
 * (behaviour §9).
 */
import type { Deliverable, InboundIdentity, Resolution } from '../../reachability/reachability-types.js';
import type { TransportAddress } from '../../sip/message/types.js';
import type { RoutableCall, RouteOutcome } from '../routing/routable-call.js';

/** How an INVITE attempt to a device failed, for OOS bookkeeping (behaviour §3.3). */
export type InviteFailureKind = 'timeout' | 'transport-error' | '503';

/** Reachability as call control uses it (implemented by `ReachabilityResolver`). */
export interface CallReachability {
  /** Where an INVITE for a provisioned DN goes now. */
  resolve(dn: string): Resolution;
  /** Where a call to a number that is no DN goes (softswitch by prefix). */
  resolveExternal(number: string): Resolution;
  /** Ordered in-service routes for failover: a DN's own, or the softswitches matching a number. */
  candidates(number: string): Deliverable[];
  /** Reverse lookup of an INVITE from a softswitch (behaviour §3.4). */
  identifyInbound?(source: TransportAddress, fromUser: string | undefined): InboundIdentity | undefined;
  /** An INVITE to a device failed at the device level: feeds OOS detection (behaviour §3.3, §5). */
  reportInviteFailure?(device: string, kind: InviteFailureKind): void;
  /** The `agent-phone` bound to a DN for the agent's login session, if any (behaviour §7). */
  agentPhoneOf?(dn: string): string | undefined;
}

/** Read access to DNs and their effective options (a subset of `ContactCenterDirectory`). */
export interface CallDirectory {
  getDn(
    number: string,
  ): { readonly number: string; readonly type: string; readonly options: Readonly<Record<string, string>> } | undefined;
  effectiveOption(dn: string, name: string): string | undefined;
  normaliseNumber(raw: string): string;
}

/** The router of routing points (implemented by `RoutingPointRouter`). */
export interface CallRouter {
  route(call: RoutableCall): Promise<RouteOutcome>;
  abandon(callId: string): boolean;
  /** Re-match waiting calls with agents (a device became free: its last call ended). */
  dispatch?(): void;
}

/**
 * The router as call control holds it, bound late. The router needs call control's delivery
 * port when it is built and call control routes calls through the router: the composition root
 * creates this reference, hands it to call control, builds the router on call control's
 * delivery port, then binds the router once. Unbound (a server without a router), calls to a
 * routing point are answered 480 and CTI requests naming one are refused.
 */
export class CallRouterRef {
  private router: CallRouter | undefined;

  /** The bound router, if any. */
  get current(): CallRouter | undefined {
    return this.router;
  }

  /** Binds the router (once: a second bind is a wiring mistake). */
  bind(router: CallRouter): void {
    if (this.router) throw new Error('the call router is bound already');
    this.router = router;
  }
}

/** Agent-side policy checks (implemented over `AgentService`). */
export interface CallAgentPolicy {
  /** `reject-call-notready` (behaviour §9): true when a routed/transferred call must not ring `dn`. */
  rejectsCall(dn: string): boolean;
}
