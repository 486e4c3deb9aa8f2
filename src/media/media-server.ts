/**
 * The media port: what call control needs from a media server. The built-in implementation
 * (`builtin/`) terminates RTP itself (RFC 3550, G.711 per RFC 3551) in a worker thread; the
 * rtpengine adapter (`rtpengine/`) drives rtpengine daemons over their ng protocol.
 *
 * An endpoint is one local RTP session (one port, one peer): the `gcti::park` device of a parked
 * nailed-up leg (behaviour §10), the ringback an agent hears while a consultation target rings and
 * the music a held customer hears (behaviour §6), or one party's port on a conference mixer.
 * Call control obtains SDP from an endpoint and sends it on a SIP leg like any other party's SDP.
 */

/** What an endpoint sends to its peer. */
export type MediaSource =
  /** Silence (G.711 silence frames), the park device's default. */
  | { readonly kind: 'silence' }
  /** Comfort noise at a low level (RFC 3389 style noise, carried as G.711 samples). */
  | { readonly kind: 'comfort-noise' }
  /** Ringback tone with the national cadence of the `ringback-tone` option. */
  | { readonly kind: 'ringback' }
  /** The music-on-hold file of the `music-on-hold-file` option, looped (silence without one). */
  | { readonly kind: 'music' };

/** Counters of one endpoint (diagnostics, tests). */
export interface MediaEndpointStats {
  readonly packetsSent: number;
  readonly packetsReceived: number;
  /** RFC 4733 telephone-event packets received. */
  readonly telephoneEvents: number;
  /** RTP packets dropped because they came from an unexpected source (not the latched peer). */
  readonly packetsRejected: number;
  /** Where RTP goes now (`ip:port`), once known from SDP or latched (symmetric RTP). */
  readonly remote: string | undefined;
  /** The payload type negotiated (0 PCMU, 8 PCMA), once negotiated. */
  readonly payloadType: number | undefined;
}

/** The SDP could not be negotiated (no common G.711 codec, no audio stream, not SDP). */
export class MediaNegotiationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaNegotiationError';
  }
}

/** One local RTP/RTCP session with one peer. */
export interface MediaEndpoint {
  /** Unique id (logs, stats). */
  readonly id: string;
  /** The local RTP port (RTCP is the next one up, RFC 3550 §11). */
  readonly port: number;
  /**
   * Our SDP offer: one audio stream on our address and port, PCMU, PCMA and telephone-event
   * (RFC 4733), `sendrecv`, 20 ms packets. Each call gives the next version of one origin.
   */
  createOffer(): Promise<string>;
  /**
   * Answer a peer's offer (RFC 3264 §6): the first G.711 codec of the offer, telephone-event if
   * offered; the peer's address becomes the RTP destination. Rejects with
   * {@link MediaNegotiationError} when nothing can be negotiated.
   */
  answer(offer: string | Buffer): Promise<string>;
  /** Take the peer's answer to our last offer. Rejects with {@link MediaNegotiationError}. */
  acceptAnswer(answer: string | Buffer): Promise<void>;
  /** What to send from now on (the default is silence). */
  play(source: MediaSource): Promise<void>;
  stats(): Promise<MediaEndpointStats>;
  /** Stop sending, send RTCP BYE, free the ports. Idempotent. */
  close(): Promise<void>;
}

/**
 * A conference bridge: every joined endpoint hears the sum of the others and never its own voice
 * (G.711 decoded, summed with clipping, encoded per endpoint's codec).
 */
export interface MediaMixer {
  readonly id: string;
  /** Add an endpoint (it stops playing its source while joined). */
  join(endpoint: MediaEndpoint): Promise<void>;
  /** Remove an endpoint (it plays silence again). */
  leave(endpoint: MediaEndpoint): Promise<void>;
  /** Remove every endpoint and free the mixer (endpoints stay open). Idempotent. */
  close(): Promise<void>;
}

/** The media server call control uses. */
export interface MediaServer {
  /** Open an endpoint on a free port of the configured range. `label` appears in logs. */
  createEndpoint(label?: string): Promise<MediaEndpoint>;
  createMixer(): Promise<MediaMixer>;
  /**
   * False when {@link createMixer} always rejects (rtpengine cannot mix): call control refuses
   * conferences up front instead of failing them at completion. Absent: the server can mix.
   */
  readonly canMix?: boolean;
  /** Endpoints open now (metrics, leak checks in tests). */
  readonly openEndpoints: number;
  /** Close every endpoint and mixer and stop the worker. */
  close(): Promise<void>;
}

/** A media server that says when it can serve (the worker answers, an rtpengine answers `ping`). */
export interface StartableMediaServer extends MediaServer {
  /** Resolves once the media server can open endpoints; rejects with the reason it cannot. */
  ready(): Promise<void>;
}

/** `server` once {@link StartableMediaServer.ready}; closed again, and the error rethrown, when it never is. */
export async function whenReady<T extends StartableMediaServer>(server: T): Promise<T> {
  try {
    await server.ready();
  } catch (e) {
    await server.close();
    throw e;
  }
  return server;
}
