/**
 * A local media endpoint for park/ringback legs: binds a UDP port for RTP and answers or offers
 * SDP pointing at it. It sends nothing (the far end hears silence) and discards what it gets.
 * FIXME: no ringback tone or music yet; a G.711 source can be added behind the same API.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { SessionDescription } from 'sdp-transform';
import { parseSdp, writeSdp } from './sdp.js';

/** A bound RTP port with SDP helpers (RFC 3264 offer/answer, RFC 3551 G.711). */
export class MediaEndpoint {
  private socket: Socket | undefined;
  private port = 0;
  private version = 1;
  private readonly sessionId = Date.now();

  constructor(private readonly host = '127.0.0.1') {}

  /** Bind the RTP port (ephemeral). */
  async open(): Promise<number> {
    const sock = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
    sock.on('message', () => undefined);
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, this.host, () => resolve());
    });
    this.socket = sock;
    this.port = sock.address().port;
    return this.port;
  }

  get rtpPort(): number {
    return this.port;
  }

  private base(): SessionDescription {
    return {
      version: 0,
      origin: { username: '-', sessionId: this.sessionId, sessionVersion: this.version++, netType: 'IN', ipVer: 4, address: this.host },
      name: 'sipserver',
      timing: { start: 0, stop: 0 },
      connection: { version: 4, ip: this.host },
      media: [],
    };
  }

  /** An offer: audio PCMU/PCMA on our port, `recvonly` (we send nothing). */
  offer(): string {
    const s = this.base();
    s.media.push({
      type: 'audio',
      port: this.port,
      protocol: 'RTP/AVP',
      payloads: '0 8',
      rtp: [
        { payload: 0, codec: 'PCMU', rate: 8000 },
        { payload: 8, codec: 'PCMA', rate: 8000 },
      ],
      fmtp: [],
      direction: 'recvonly',
    });
    return writeSdp(s);
  }

  /** An answer to `offer` (RFC 3264 §6): first G.711 format kept per audio stream, others rejected with port 0. */
  answer(offer: string | Buffer): string {
    const o = parseSdp(offer);
    const s = this.base();
    for (const m of o.media) {
      const rtp = (m.rtp ?? []).filter((r) => r.payload === 0 || r.payload === 8);
      if (m.type !== 'audio' || rtp.length === 0) {
        s.media.push({ type: m.type, port: 0, protocol: m.protocol, payloads: m.payloads, rtp: m.rtp, fmtp: [] });
        continue;
      }
      const dir = m.direction ?? o.direction ?? 'sendrecv';
      const answerDir = dir === 'sendonly' || dir === 'sendrecv' ? 'recvonly' : 'inactive';
      s.media.push({
        type: 'audio',
        port: this.port,
        protocol: m.protocol,
        payloads: String(rtp[0]!.payload),
        rtp: [rtp[0]!],
        fmtp: [],
        direction: answerDir,
      });
    }
    return writeSdp(s);
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
