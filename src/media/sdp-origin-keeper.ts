/**
 * Keeps the `o=` line of the SDP we send on one leg consistent across offers (RFC 3264 §8:
 * the origin must stay the same and the version must grow by one when the session changes).
 */
import { parseSdp, writeSdp } from './sdp.js';

/**
 * When a B2BUA reconnects a leg to another party (transfer, park, retrieve), the SDP it relays
 * comes from a different origin. This keeper presents one origin per leg: the first SDP passes
 * through unchanged and unparsed (so a basic call relays SDP byte for byte at no cost), later
 * ones get the first origin with the version incremented each time the content differs.
 */
export class SdpOriginKeeper {
  private first: string | undefined;
  private origin:
    { username: string; sessionId: string | number; netType: string; ipVer: number; address: string } | undefined;
  private version = 0;
  private lastSent: string | undefined;
  private lastInput: string | undefined;

  /** The SDP to send on this leg for `sdp` coming from elsewhere. */
  adapt(sdp: string | Buffer): string {
    const text = typeof sdp === 'string' ? sdp : sdp.toString('utf8');
    if (this.first === undefined) {
      this.first = text;
      this.lastInput = text;
      this.lastSent = text;
      return text;
    }
    if (text === this.lastInput && this.lastSent) return this.lastSent;
    if (!this.origin) {
      const o = parseSdp(this.first).origin;
      this.origin = { ...o };
      this.version = Number(o.sessionVersion);
    }
    const s = parseSdp(text);
    this.version += 1;
    s.origin = { ...this.origin, sessionVersion: this.version };
    const out = writeSdp(s);
    this.lastInput = text;
    this.lastSent = out;
    return out;
  }
}
