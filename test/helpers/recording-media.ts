/**
 * A recording decorator over the real built-in media server, for call-control tests: every
 * endpoint and mixer call is forwarded to a {@link BuiltinMediaServer} (started by
 * {@link MediaFixture} on a random loopback port range, its worker sends the real RTP), and the
 * decorator records what call control asked for: endpoints opened and closed with their labels,
 * the sources played, the SDP offered and answered and the peer each negotiation gave. Tests check
 * the SDP a leg received against the endpoint it names.
 */
import type { BuiltinMediaServer } from '../../src/media/builtin/index.js';
import type {
  MediaEndpoint,
  MediaEndpointStats,
  MediaMixer,
  MediaServer,
  MediaSource,
} from '../../src/media/media-server.js';
import { MediaFixture } from './media.js';

/** One SDP exchange step of an endpoint: what we offered or answered, what the peer sent. */
export interface RecordedSdp {
  readonly kind: 'offer' | 'answer' | 'remote-offer' | 'remote-answer';
  readonly sdp: string;
}

/** One endpoint of {@link RecordingMediaServer}: the real endpoint and what was done with it. */
export class RecordingEndpoint implements MediaEndpoint {
  /** Every source call control asked for, in order (an endpoint starts on silence). */
  readonly sources: MediaSource['kind'][] = ['silence'];
  /** Every SDP offered, answered or taken, in order. */
  readonly sdp: RecordedSdp[] = [];
  /** Set when call control closed it. */
  closed = false;
  /** Where the real endpoint sends RTP after the last negotiation (its `stats().remote`). */
  remote: { host: string; port: number } | undefined;

  constructor(
    /** The built-in server's endpoint every call goes to. */
    readonly inner: MediaEndpoint,
    readonly label: string,
  ) {}

  get id(): string {
    return this.inner.id;
  }

  get port(): number {
    return this.inner.port;
  }

  /** The source played now. */
  get source(): MediaSource['kind'] {
    return this.sources[this.sources.length - 1]!;
  }

  private async negotiated(): Promise<void> {
    const remote = (await this.inner.stats()).remote;
    const at = remote?.lastIndexOf(':') ?? -1;
    this.remote = remote && at > 0 ? { host: remote.slice(0, at), port: Number(remote.slice(at + 1)) } : undefined;
  }

  async createOffer(): Promise<string> {
    const sdp = await this.inner.createOffer();
    this.sdp.push({ kind: 'offer', sdp });
    return sdp;
  }

  async answer(offer: string | Buffer): Promise<string> {
    this.sdp.push({ kind: 'remote-offer', sdp: offer.toString() });
    const sdp = await this.inner.answer(offer);
    this.sdp.push({ kind: 'answer', sdp });
    await this.negotiated();
    return sdp;
  }

  async acceptAnswer(answer: string | Buffer): Promise<void> {
    this.sdp.push({ kind: 'remote-answer', sdp: answer.toString() });
    await this.inner.acceptAnswer(answer);
    await this.negotiated();
  }

  play(source: MediaSource): Promise<void> {
    this.sources.push(source.kind);
    return this.inner.play(source);
  }

  stats(): Promise<MediaEndpointStats> {
    return this.inner.stats();
  }

  close(): Promise<void> {
    this.closed = true;
    return this.inner.close();
  }
}

/** A mixer of the built-in server that takes {@link RecordingEndpoint}s and records who is joined. */
export class RecordingMixer implements MediaMixer {
  /** The endpoints joined now. */
  readonly members = new Set<RecordingEndpoint>();

  constructor(private readonly inner: MediaMixer) {}

  get id(): string {
    return this.inner.id;
  }

  private unwrap(endpoint: MediaEndpoint): MediaEndpoint {
    return endpoint instanceof RecordingEndpoint ? endpoint.inner : endpoint;
  }

  async join(endpoint: MediaEndpoint): Promise<void> {
    await this.inner.join(this.unwrap(endpoint));
    if (endpoint instanceof RecordingEndpoint) this.members.add(endpoint);
  }

  async leave(endpoint: MediaEndpoint): Promise<void> {
    if (endpoint instanceof RecordingEndpoint) this.members.delete(endpoint);
    await this.inner.leave(this.unwrap(endpoint));
  }

  close(): Promise<void> {
    this.members.clear();
    return this.inner.close();
  }
}

/** The built-in media server, recorded: {@link RecordingMediaServer.start}, {@link close} after the test. */
export class RecordingMediaServer implements MediaServer {
  /** Every endpoint ever opened, in order. */
  readonly endpoints: RecordingEndpoint[] = [];
  /** Every mixer ever created, in order. */
  readonly mixers: RecordingMixer[] = [];

  private constructor(private readonly fixture: MediaFixture) {}

  /** Starts a built-in media server (random port range, a 1 kHz music-on-hold file) to record. */
  static async start(): Promise<RecordingMediaServer> {
    return new RecordingMediaServer(await MediaFixture.start());
  }

  /** The real server. */
  get server(): BuiltinMediaServer {
    return this.fixture.server;
  }

  /** The real server's count of open endpoints. */
  get openEndpoints(): number {
    return this.fixture.server.openEndpoints;
  }

  /** The newest endpoint bound to `port`, if any was. */
  byPort(port: number): RecordingEndpoint | undefined {
    // A freed port may be given out again: the newest endpoint on it is the one an SDP names now.
    return [...this.endpoints].reverse().find((e) => e.port === port);
  }

  async createEndpoint(label = ''): Promise<MediaEndpoint> {
    const e = new RecordingEndpoint(await this.fixture.server.createEndpoint(label), label);
    this.endpoints.push(e);
    return e;
  }

  async createMixer(): Promise<MediaMixer> {
    const m = new RecordingMixer(await this.fixture.server.createMixer());
    this.mixers.push(m);
    return m;
  }

  /** Closes the real server (its endpoints, mixers and worker) and its scratch directory. */
  async close(): Promise<void> {
    await this.fixture.close();
  }
}
