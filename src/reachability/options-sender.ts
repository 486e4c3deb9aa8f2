import type { TransportAddress } from '../sip/message/types.js';

/** Outcome of one OPTIONS probe (RFC 3261 §11). */
export type OptionsResult =
  /** A final response, any class (2xx–6xx). */
  | { kind: 'final'; status: number }
  /** No final response before the transaction gave up (Timer F, RFC 3261 §17.1.2.2). */
  | { kind: 'timeout' }
  /** The transport could not deliver (ICMP unreachable, connect refused…, RFC 3261 §18.4). */
  | { kind: 'transport-error'; error?: string };

/**
 * Port the OOS prober sends its OPTIONS through. The real implementation runs an RFC 3261
 * non-INVITE client transaction over the SIP stack; tests use an in-process fake.
 */
export interface OptionsSender {
  /**
   * Send `OPTIONS <uri>` to `dest`. Resolves once, with the first final response, a timeout
   * or a transport error; never rejects. `timeoutMs` is a hint: the prober enforces its own
   * `oos-force` deadline and ignores answers that come later. `maxForwards` defaults to 70.
   */
  send(uri: string, dest: TransportAddress, timeoutMs: number, maxForwards?: number): Promise<OptionsResult>;
}
