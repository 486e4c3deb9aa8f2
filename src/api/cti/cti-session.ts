import type { Clock } from '../../util/clock.js';
import type { CtiTransport } from './cti-transport.js';
import { TokenBucket } from './token-bucket.js';

/** Who a connection acts for (interfaces §4 RequestOpen). */
export type CtiScope = { readonly kind: 'agent'; readonly agentId: string } | { readonly kind: 'application' };

/** State of one CTI connection. */
export class CtiSession {
  /** Set by a successful RequestOpen. */
  scope: CtiScope | undefined;
  /** DNs registered by RequestRegisterAddress (normalised). */
  readonly registered = new Set<string>();
  /** Errors before RequestOpen succeeded (closed at the limit). */
  preOpenErrors = 0;
  closed = false;
  /** Request rate limiter: the agent-scope one until RequestOpen, then the one of the scope. */
  bucket: TokenBucket;
  /** Protocol errors still tolerated (bad JSON, unknown request, invalid attributes, rate limited). */
  readonly errorBudget: TokenBucket;

  constructor(
    /** Opaque id, used as `EventOrigin.requesterId`. */
    readonly id: string,
    readonly transport: CtiTransport,
    private readonly clock: Clock,
    limits: { burst: number; ratePerSecond: number; maxProtocolErrors: number; protocolErrorForgivePerSecond: number },
  ) {
    this.bucket = new TokenBucket(limits.burst, limits.ratePerSecond, clock);
    // The Nth error finds the budget empty: capacity N-1.
    this.errorBudget = new TokenBucket(
      Math.max(0, limits.maxProtocolErrors - 1),
      limits.protocolErrorForgivePerSecond,
      clock,
    );
  }

  /**
   * RequestOpen succeeded: the connection acts for `scope` from now on. `rate`, when given,
   * replaces the request rate limiter (application scope: docs/cti-protocol.md "Limits"); an
   * agent-scope connection keeps the one it was opened with.
   */
  open(scope: CtiScope, rate?: { burst: number; ratePerSecond: number }): void {
    this.scope = scope;
    if (rate) this.bucket = new TokenBucket(rate.burst, rate.ratePerSecond, this.clock);
  }
}
