/**
 * A small {@link MediaServer} for call-control tests, until the built-in one (`src/media/builtin`)
 * is available: each endpoint binds a real UDP port on loopback, offers and answers G.711 SDP,
 * records the sources it was told to play and sends a 20 ms RTP packet (RFC 3550 header, PCMU
 * payload of silence) to its peer every 20 ms from that port. It records what call control did
 * with it (open endpoints, sources, negotiated peers) so tests can check the SDP a leg received
 * against the endpoint it names.
 */
import { createSocket, type Socket } from 'node:dgram';
import sdpTransform from 'sdp-transform';
import {
  MediaNegotiationError,
  type MediaEndpoint,
  type MediaEndpointStats,
  type MediaMixer,
  type MediaServer,
  type MediaSource,
} from '../../src/media/media-server.js';

/** One endpoint of {@link RecordingMediaServer}. */
export class RecordingEndpoint implements MediaEndpoint {
  /** Every source played, in order. */
  readonly sources: MediaSource['kind'][] = ['silence'];
  closed = false;
  remote: { host: string; port: number } | undefined;
  private sent = 0;
  private version = 0;
  private seq = 1;
  private timer: NodeJS.Timeout | undefined;
  readonly port: number;

  constructor(
    readonly id: string,
    readonly label: string,
    private readonly socket: Socket,
    private readonly onClose: (e: RecordingEndpoint) => void,
  ) {
    this.port = socket.address().port;
    this.timer = setInterval(() => this.tick(), 20);
  }

  /** The source played now. */
  get source(): MediaSource['kind'] {
    return this.sources[this.sources.length - 1]!;
  }

  private tick(): void {
    if (!this.remote || this.closed) return;
    const rtp = Buffer.alloc(12 + 160, 0xff);
    rtp[0] = 0x80;
    rtp[1] = this.sent === 0 ? 0x80 : 0; // marker on the first packet, PT 0
    rtp.writeUInt16BE(this.seq++ & 0xffff, 2);
    rtp.writeUInt32BE((this.sent * 160) >>> 0, 4);
    rtp.writeUInt32BE(0x5eed0000 + Number(this.id), 8);
    this.sent++;
    this.socket.send(rtp, this.remote.port, this.remote.host);
  }

  private sdp(): string {
    this.version++;
    return sdpTransform.write({
      version: 0,
      origin: {
        username: '-',
        sessionId: 4242,
        sessionVersion: this.version,
        netType: 'IN',
        ipVer: 4,
        address: '127.0.0.1',
      },
      name: '-',
      timing: { start: 0, stop: 0 },
      connection: { version: 4, ip: '127.0.0.1' },
      media: [
        {
          type: 'audio',
          port: this.port,
          protocol: 'RTP/AVP',
          payloads: '0 8 101',
          rtp: [
            { payload: 0, codec: 'PCMU', rate: 8000 },
            { payload: 8, codec: 'PCMA', rate: 8000 },
            { payload: 101, codec: 'telephone-event', rate: 8000 },
          ],
          fmtp: [{ payload: 101, config: '0-16' }],
          ptime: 20,
          direction: 'sendrecv',
        },
      ],
    });
  }

  private take(sdp: string | Buffer): void {
    const s = sdpTransform.parse(sdp.toString());
    const m = s.media.find((x) => x.type === 'audio');
    const ip = m?.connection?.ip ?? s.connection?.ip;
    if (!m || !ip || !/^(0|8)( |$)/.test(String(m.payloads))) throw new MediaNegotiationError('no G.711 audio');
    this.remote = m.port === 0 || ip === '0.0.0.0' ? undefined : { host: ip, port: m.port };
  }

  createOffer(): Promise<string> {
    return Promise.resolve(this.sdp());
  }

  async answer(offer: string | Buffer): Promise<string> {
    this.take(offer);
    return this.sdp();
  }

  async acceptAnswer(answer: string | Buffer): Promise<void> {
    this.take(answer);
  }

  async play(source: MediaSource): Promise<void> {
    this.sources.push(source.kind);
  }

  async stats(): Promise<MediaEndpointStats> {
    return {
      packetsSent: this.sent,
      packetsReceived: 0,
      telephoneEvents: 0,
      packetsRejected: 0,
      remote: this.remote ? `${this.remote.host}:${this.remote.port}` : undefined,
      payloadType: 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.onClose(this);
    await new Promise<void>((res) => this.socket.close(() => res()));
  }
}

/** A {@link MediaServer} whose endpoints are {@link RecordingEndpoint}s. */
export class RecordingMediaServer implements MediaServer {
  /** Every endpoint ever opened, in order. */
  readonly endpoints: RecordingEndpoint[] = [];
  private open = 0;

  get openEndpoints(): number {
    return this.open;
  }

  /** The endpoint bound to `port`, if any was. */
  byPort(port: number): RecordingEndpoint | undefined {
    return this.endpoints.find((e) => e.port === port);
  }

  async createEndpoint(label = ''): Promise<MediaEndpoint> {
    const socket = createSocket('udp4');
    await new Promise<void>((res) => socket.bind(0, '127.0.0.1', () => res()));
    const e = new RecordingEndpoint(String(this.endpoints.length + 1), label, socket, () => this.open--);
    this.endpoints.push(e);
    this.open++;
    return e;
  }

  createMixer(): Promise<MediaMixer> {
    return Promise.reject(new Error('no mixer in the recording media server'));
  }

  async close(): Promise<void> {
    await Promise.all(this.endpoints.map((e) => e.close()));
  }
}
