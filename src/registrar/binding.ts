import type { TransportAddress } from '../sip/message/types.js';

/**
 * One registered contact of a DN (RFC 3261 §10.3: a binding of an address-of-record to a
 * contact address). Kept small: 100 000 of them must fit in well under 2 KB each.
 */
export interface Binding {
  /** Normalised DN number (the address-of-record's user part). */
  readonly dn: string;
  /** The Contact URI as registered, without header parameters (e.g. `sip:8888@192.0.2.4:5062`). */
  readonly contact: string;
  /** Comparison key of the contact URI (RFC 3261 §19.1.4, simplified), unique per DN. */
  readonly key: string;
  /** Absolute expiry time on the registrar's Clock, in ms. */
  expiresAt: number;
  /** Call-ID and CSeq of the REGISTER that last touched it (RFC 3261 §10.3 step 7). */
  callId: string;
  cseq: number;
  /** `q` parameter of the Contact (0..1), if any. */
  q?: number;
  /** Where the REGISTER came from (`received`/`rport`, RFC 3581). */
  source: TransportAddress;
  /** Where to send requests for this contact: the contact itself, or `source` when behind NAT. */
  dest: TransportAddress;
  /** True when `dest` is the source address because the Contact was unusable (NAT, private, stream). */
  nat: boolean;
  /** First registration time of this contact (Clock ms). */
  registeredAt: number;
  /** Last refresh (Clock ms). */
  updatedAt: number;
  /** `User-Agent` of the registering phone (first 64 characters), for status pages. */
  userAgent?: string;
}
