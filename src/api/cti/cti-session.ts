import type { Clock } from '../../util/clock.js';
import type { CtiTransport } from './cti-transport.js';
import { TokenBucket } from './token-bucket.js';

/** Who a connection acts for (interfaces §4 RequestOpen). */
export type CtiScope =
  | { readonly kind: 'agent'; readonly agentId: string }
  | { readonly kind: 'application' };

/** State of one CTI connection. */
export class CtiSession {
  /** Set by a successful RequestOpen. */
  scope: CtiScope | undefined;
  /** DNs registered by RequestRegisterAddress (normalised). */
  readonly registered = new Set<string>();
  /** Errors before RequestOpen succeeded (closed at the limit). */
  preOpenErrors = 0;
  /** Consecutive protocol errors (bad JSON, unknown request, invalid attributes, rate limited). */
  consecutiveProtocolErrors = 0;
  closed = false;
  readonly bucket: TokenBucket;

  constructor(
    /** Opaque id, used as `EventOrigin.requesterId`. */
    readonly id: string,
    readonly transport: CtiTransport,
    clock: Clock,
    burst: number,
    ratePerSecond: number,
  ) {
    this.bucket = new TokenBucket(burst, ratePerSecond, clock);
  }
}
