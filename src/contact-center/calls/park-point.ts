/**
 * The `gcti::park` device of one parked nailed-up connection (behaviour §10.1): an endpoint of
 * the media server playing silence, or, without a media server, a black hole (RFC 3725 §4:
 * `c=0.0.0.0`). Either way it offers and answers SDP like any party.
 */
import type { MediaEndpoint, MediaServer } from '../../media/media-server.js';
import { blackHoleSdp, noMediaOffer, rejectAllAnswer } from '../../media/sdp.js';
import { runDetached } from '../../util/detached.js';
import type { Logger } from '../../util/logger.js';

/** One park device; {@link ParkPoint.close} it when a call takes the connection or the connection ends. */
export class ParkPoint {
  private closed = false;

  private constructor(
    private readonly endpoint: MediaEndpoint | undefined,
    private readonly logger: Logger,
  ) {}

  /** A new park device: an endpoint of `media` playing silence, or a black hole without one. */
  static async open(media: MediaServer | undefined, label: string, logger: Logger): Promise<ParkPoint> {
    if (!media) return ParkPoint.blackHole(logger);
    const e = await media.createEndpoint(label);
    try {
      await e.play({ kind: 'silence' });
    } catch (err) {
      runDetached(logger, 'close park endpoint', () => e.close());
      throw err;
    }
    return new ParkPoint(e, logger);
  }

  /** A black hole (no media server, or none at hand). */
  static blackHole(logger: Logger): ParkPoint {
    return new ParkPoint(undefined, logger);
  }

  /** True when this holds a media endpoint (leak accounting). */
  get holdsEndpoint(): boolean {
    return this.endpoint !== undefined && !this.closed;
  }

  /** Our offer (RFC 3264 §5). */
  offer(): Promise<string> {
    return this.endpoint ? this.endpoint.createOffer() : Promise.resolve(noMediaOffer());
  }

  /** Answer the agent's offer (RFC 3264 §6); rejects when nothing can be negotiated. */
  async answer(offer: string | Buffer): Promise<string> {
    return this.endpoint ? this.endpoint.answer(offer) : blackHoleSdp(offer, true);
  }

  /** Take the agent's answer to our offer. */
  async acceptAnswer(answer: string | Buffer): Promise<void> {
    await this.endpoint?.acceptAnswer(answer);
  }

  /** Free the endpoint (not awaited). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const e = this.endpoint;
    if (e) runDetached(this.logger, 'close park endpoint', () => e.close());
  }
}

/** The answer refusing every stream of `offer` (RFC 3264 §6), or nothing when it is no SDP. */
export function refuseOffer(offer: Buffer): string | Buffer {
  try {
    return rejectAllAnswer(offer);
  } catch {
    return Buffer.alloc(0);
  }
}
