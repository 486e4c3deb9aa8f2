/**
 * One endpoint on rtpengine: one rtpengine call with two sides. The peer's side (tag `peer`) is
 * the SIP party; the other side (tag `media`) is a placeholder whose SDP we write ourselves
 * (127.0.0.1 port 9, the discard port) and whose media rtpengine never sends: the peer's RTP is
 * blocked (`block media`). What the peer hears comes from rtpengine's player (`play media` toward
 * the peer, looped), so rtpengine itself is the media party.
 *
 * - our offer = rtpengine's rewrite of a placeholder offer (`offer`, from-tag `media`); the peer's
 *   answer goes to rtpengine as `answer` (to-tag `peer`);
 * - our answer to a peer's offer = the peer's offer as `offer` (from-tag `peer`), then a
 *   placeholder answer (RFC 3264 §6, the first G.711 codec) as `answer`; rtpengine's rewrite of it
 *   goes to the peer.
 */
import type { Logger } from '../../util/logger.js';
import { answerSdp, EndpointOrigin, offerSdp, readAnswer, type Negotiated } from '../builtin/media-sdp.js';
import type { MediaEndpoint, MediaEndpointStats, MediaSource } from '../media-server.js';
import type { PlayableSources } from './media-files.js';
import { NgCommandError, type NgClient, type NgReply, type NgValue } from './ng-client.js';
import type { NgPool } from './ng-pool.js';

/** Tag of the SIP party's side of the rtpengine call. */
export const PEER_TAG = 'peer';
/** Tag of the placeholder side. */
export const MEDIA_TAG = 'media';
/** Where the placeholder "receives" (never used: the peer's media is blocked). */
const PLACEHOLDER_ADDRESS = '127.0.0.1';
const PLACEHOLDER_PORT = 9;
/** The origin of the answer written only to check a peer's offer (never sent). */
const CHECK_ORIGIN = new EndpointOrigin(PLACEHOLDER_ADDRESS).next();
/** `repeat-times` for a looped source: a one-second loop repeated this often lasts 11 days. */
const LOOP_TIMES = 1_000_000;
/** Packets per second of 20 ms G.711 (RFC 3551 §4.5). */
const PACKET_MS = 20;

/** SDP handling asked of rtpengine on every offer and answer. */
const SDP_OPTIONS = {
  ICE: 'remove',
  replace: ['origin', 'session-connection'],
  'transport-protocol': 'RTP/AVP',
  'rtcp-mux': ['demux'],
  // Symmetric RTP: send to where the peer's RTP comes from, from its first packet on.
  'endpoint-learning': 'immediate',
};

function portOf(sdp: string): number {
  return Number(/^m=audio (\d+)/m.exec(sdp)?.[1] ?? 0);
}

function sdpOf(reply: NgReply, command: string): string {
  const sdp = reply['sdp'];
  if (typeof sdp !== 'string') throw new Error(`rtpengine's reply to '${command}' has no SDP`);
  return sdp;
}

function dict(v: NgValue | undefined): { [key: string]: NgValue } | undefined {
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** What the endpoint's owner does when it closes. */
export interface EndpointOwner {
  readonly pool: NgPool;
  readonly sources: PlayableSources;
  readonly logger: Logger;
  closed(endpoint: RtpengineEndpoint): void;
}

/** A {@link MediaEndpoint} that is one rtpengine call. */
export class RtpengineEndpoint implements MediaEndpoint {
  port = 0;
  private client: NgClient | undefined;
  private readonly origin = new EndpointOrigin(PLACEHOLDER_ADDRESS);
  private negotiated: Negotiated | undefined;
  private source: MediaSource = { kind: 'silence' };
  private blocked = false;
  private playingSince: number | undefined;
  private sentBefore = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    /** The rtpengine call-id. */
    readonly id: string,
    readonly label: string,
    private readonly owner: EndpointOwner,
  ) {}

  /** Runs ng work of this endpoint one after the other (an answer before the play that follows). */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const r = this.chain.then(() => {
      if (this.closing) throw new Error(`media endpoint ${this.label} is closed`);
      return work();
    });
    this.chain = r.catch(() => undefined);
    return r;
  }

  /** The first request goes to any rtpengine that answers; later ones to the one that has the call. */
  private async request(command: string, args: Record<string, unknown>): Promise<NgReply> {
    const all = { 'call-id': this.id, ...args };
    if (this.client) return this.client.request(command, all);
    const { client, reply } = await this.owner.pool.requestAny(command, all);
    this.client = client;
    return reply;
  }

  createOffer(): Promise<string> {
    return this.serial(async () => {
      const placeholder = offerSdp(this.origin.next(), PLACEHOLDER_ADDRESS, PLACEHOLDER_PORT);
      const tags = this.client ? { 'from-tag': MEDIA_TAG, 'to-tag': PEER_TAG } : { 'from-tag': MEDIA_TAG };
      const sdp = sdpOf(await this.request('offer', { ...tags, sdp: placeholder, ...SDP_OPTIONS }), 'offer');
      this.port = portOf(sdp);
      return sdp;
    });
  }

  acceptAnswer(answer: string | Buffer): Promise<void> {
    return this.serial(async () => {
      const negotiated = readAnswer(answer);
      const sdp = typeof answer === 'string' ? answer : answer.toString('utf8');
      await this.request('answer', { 'from-tag': MEDIA_TAG, 'to-tag': PEER_TAG, sdp, ...SDP_OPTIONS });
      this.negotiated = negotiated;
      await this.negotiatedNow();
    });
  }

  answer(offer: string | Buffer): Promise<string> {
    return this.serial(async () => {
      // The peer's offer is checked first (MediaNegotiationError without asking rtpengine).
      const { negotiated } = answerSdp(offer, CHECK_ORIGIN, PLACEHOLDER_ADDRESS, PLACEHOLDER_PORT);
      const sdp = typeof offer === 'string' ? offer : offer.toString('utf8');
      const tags = this.client ? { 'from-tag': PEER_TAG, 'to-tag': MEDIA_TAG } : { 'from-tag': PEER_TAG };
      const toPlaceholder = sdpOf(await this.request('offer', { ...tags, sdp, ...SDP_OPTIONS }), 'offer');
      const placeholder = answerSdp(toPlaceholder, this.origin.next(), PLACEHOLDER_ADDRESS, PLACEHOLDER_PORT).sdp;
      const reply = await this.request('answer', {
        'from-tag': PEER_TAG,
        'to-tag': MEDIA_TAG,
        sdp: placeholder,
        ...SDP_OPTIONS,
      });
      const ours = sdpOf(reply, 'answer');
      this.port = portOf(ours);
      this.negotiated = negotiated;
      await this.negotiatedNow();
      return ours;
    });
  }

  /** After an offer/answer: the peer's RTP is blocked (once) and the source (re)starts. */
  private async negotiatedNow(): Promise<void> {
    if (!this.blocked) {
      await this.request('block media', { 'from-tag': PEER_TAG });
      this.blocked = true;
    }
    await this.startSource();
  }

  private async stopPlaying(): Promise<void> {
    if (this.playingSince === undefined) return;
    this.sentBefore += Math.floor((Date.now() - this.playingSince) / PACKET_MS) + 1;
    this.playingSince = undefined;
    try {
      await this.request('stop media', { 'from-tag': PEER_TAG });
    } catch (e) {
      // The loop ended on its own: nothing to stop.
      if (!(e instanceof NgCommandError)) throw e;
    }
  }

  private async startSource(): Promise<void> {
    await this.stopPlaying();
    // Nothing is sent while the peer does not want to receive (sendonly, inactive, 0.0.0.0).
    if (!this.negotiated?.sending) return;
    const args = this.owner.sources.argsOf(this.source);
    await this.request('play media', { 'from-tag': PEER_TAG, 'repeat-times': LOOP_TIMES, ...args });
    this.playingSince = Date.now();
  }

  play(source: MediaSource): Promise<void> {
    return this.serial(async () => {
      this.source = source;
      if (this.negotiated) await this.startSource();
    });
  }

  /**
   * From `query`: packets received from the peer and where its RTP goes (the peer's side stream).
   * rtpengine 10.5 does not count what its player sends: `packetsSent` is derived from the time
   * spent playing (one packet per 20 ms); telephone events and rejected packets are not reported (0).
   */
  stats(): Promise<MediaEndpointStats> {
    return this.serial(async () => {
      const sent =
        this.sentBefore +
        (this.playingSince === undefined ? 0 : Math.floor((Date.now() - this.playingSince) / PACKET_MS) + 1);
      let packetsReceived = 0;
      let remote: string | undefined;
      if (this.client) {
        const q = await this.request('query', {});
        const medias = dict(dict(q['tags'])?.[PEER_TAG])?.['medias'];
        const first = Array.isArray(medias) ? dict(medias[0]) : undefined;
        const streams = first?.['streams'];
        const rtp = Array.isArray(streams)
          ? streams.map(dict).find((s) => Array.isArray(s?.['flags']) && s['flags'].includes('RTP'))
          : undefined;
        const st = dict(rtp?.['stats']);
        packetsReceived = typeof st?.['packets'] === 'number' ? st['packets'] : 0;
        const ep = dict(rtp?.['endpoint']);
        if (ep && typeof ep['address'] === 'string' && ep['port']) remote = `${ep['address']}:${String(ep['port'])}`;
      }
      return {
        packetsSent: sent,
        packetsReceived,
        telephoneEvents: 0,
        packetsRejected: 0,
        remote,
        payloadType: this.negotiated?.payloadType,
      };
    });
  }

  /** `delete` on rtpengine (at once, no delete delay). Idempotent; an unreachable rtpengine is logged. */
  close(): Promise<void> {
    this.closing ??= this.chain.then(async () => {
      try {
        if (this.client) await this.client.request('delete', { 'call-id': this.id, 'delete-delay': 0 });
      } catch (err) {
        this.owner.logger.warn({ err, endpoint: this.label, callId: this.id }, 'rtpengine: delete failed');
      } finally {
        this.owner.closed(this);
      }
    });
    return this.closing;
  }
}
