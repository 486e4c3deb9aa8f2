/**
 * How the router hands a call to an agent's DN: a port implemented by call control
 * (`src/contact-center/calls`, the B2BUA), so that routing is testable on a fake clock.
 */

/** Final outcome of one delivery attempt. */
export type DeliveryOutcome = 'answered' | 'no-answer' | 'busy' | 'failed';

/** Options of one delivery attempt. */
export interface DeliveryOptions {
  /** How long the DN may ring before the router gives up (RONA); the router also times it. */
  readonly timeoutMs: number;
  /** Agent the call is offered to (for call events / user data). */
  readonly agentId: string;
}

/** Delivers a waiting call to a DN. */
export interface CallDelivery {
  /**
   * Rings `dn` with call `callId` (INVITE through reachability) and resolves when the attempt
   * ends: `answered` (2xx; the call is now established on `dn`), `no-answer` (ring timeout),
   * `busy` (486/600), `failed` (anything else). Must not reject.
   */
  deliver(callId: string, dn: string, options: DeliveryOptions): Promise<DeliveryOutcome>;
  /** Stops an attempt in progress (CANCEL towards `dn`); its promise may still resolve, it is ignored. */
  cancel(callId: string, dn: string): void;
  /**
   * May `callId` be offered to `dn` now? False for a party of the call itself (an agent who
   * dialled or consults the routing point) and for a single-dialog device already on a call
   * (behaviour §6). Absent: always.
   */
  canOffer?(callId: string, dn: string): boolean;
}
