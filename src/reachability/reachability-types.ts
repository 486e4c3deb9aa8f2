import type { TransportAddress } from '../sip/message/types.js';

/** How a DN is reached (behaviour §3.1, interfaces §5 `/api/dns/{number}/status`). */
export type ReachabilityMode = 'registered' | 'static' | 'softswitch' | 'agent-phone';

/** A route exists: where an INVITE for the DN goes right now. */
export interface Deliverable {
  mode: ReachabilityMode;
  /** Request-URI (and To URI) of the INVITE (behaviour §3.2). */
  target: string;
  /** Where to send it. */
  dest: TransportAddress;
  /** Softswitch DN used (softswitch and agent-phone modes). */
  via?: string;
  /** False when the route's device is out of service (behaviour §5.1, §12.3). */
  inService: boolean;
  /** Why it is not in service, when it is not. */
  reason?: string;
}

/** No route at all (unknown DN, not registered, no softswitch prefix matches). */
export interface Unreachable {
  mode: 'unreachable';
  inService: false;
  reason: string;
}

/** Result of `resolve` (behaviour §3, §12.3). */
export type Resolution = Deliverable | Unreachable;

/** Why an `agent-phone` cannot be bound (behaviour §7). */
export type AgentPhoneError = 'empty' | 'internal-dn' | 'in-use' | 'no-softswitch';

/** Result of validating / binding an `agent-phone` number. */
export type AgentPhoneResult =
  { ok: true; phone: string; softswitch: string } | { ok: false; error: AgentPhoneError; message: string };

/** Result of the reverse lookup of an INVITE from a softswitch (behaviour §3.4). */
export interface InboundIdentity {
  /** The softswitch DN the request came from. */
  softswitch: string;
  /** The DN the call is from: exact DN number, or the DN an `agent-phone` session is bound to. */
  dn?: string;
  /** How `dn` was found. */
  match?: 'dn' | 'agent-phone';
}
