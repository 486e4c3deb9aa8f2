/**
 * A leg's device connected to one of our media endpoints instead of another party (behaviour
 * §6): music for a held party, ringback for an agent whose consultation target rings, silence
 * for an agent whose call is held. The endpoint's offer goes to the device by re-INVITE (RFC 3264
 * §8: a new offer in the same dialog), the device's answer goes to the endpoint. Without a media
 * server nothing is done and the callers keep their black-hole SDP (RFC 3725 §4).
 */
import { MediaNegotiationError, type MediaSource } from '../../media/media-server.js';
import { withDirection } from '../../media/sdp.js';
import type { B2bua } from './b2bua.js';
import type { CallLeg } from './call-leg.js';

/** Connects legs to media endpoints of the call core's media server. */
export class LegMedia {
  constructor(private readonly calls: Pick<B2bua, 'media' | 'closeLegMedia'>) {}

  /** True when the server has a media server. */
  get available(): boolean {
    return this.calls.media !== undefined;
  }

  /**
   * Re-INVITE `leg` with the offer of a new endpoint playing `source` (`sendonly` when `hold`:
   * RFC 3264 §8.4 hold, the endpoint still sends) and keep that endpoint as `leg.media`; the
   * endpoint the leg had before is closed. When the re-INVITE fails the new endpoint is closed
   * and the leg keeps what it had (RFC 3261 §14.1).
   * @returns the final status of the re-INVITE (2xx: connected); 0 without a media server, 488
   *   when the device's answer has no codec in common with the endpoint
   */
  async connect(leg: CallLeg, source: MediaSource, hold = false): Promise<number> {
    const media = this.calls.media;
    if (!media || !leg.session?.active) return 0;
    const endpoint = await media.createEndpoint(`${source.kind}:${leg.dn ?? leg.address}`);
    try {
      await endpoint.play(source);
      const offer = await endpoint.createOffer();
      const r = await leg.session.reinvite(leg.adapt(hold ? withDirection(offer, 'sendonly') : offer));
      if (!(r.status >= 200 && r.status < 300) || !r.response || r.response.body.length === 0) {
        await endpoint.close();
        return r.status >= 200 && r.status < 300 ? 488 : r.status;
      }
      leg.lastSdpReceived = r.response.body.toString('utf8');
      await endpoint.acceptAnswer(r.response.body);
    } catch (err) {
      await endpoint.close();
      if (err instanceof MediaNegotiationError) return 488;
      throw err;
    }
    this.calls.closeLegMedia(leg);
    leg.media = endpoint;
    return 200;
  }

  /** What the endpoint `leg` is connected to plays from now on (nothing when it has none). */
  async play(leg: CallLeg, source: MediaSource): Promise<void> {
    await leg.media?.play(source);
  }
}
