/**
 * An RTP peer for media tests: a UDP socket pair on loopback (RTP on an even port, RTCP on the
 * next), an SDP for it, and everything received with its arrival time, parsed (RFC 3550 §5.1).
 */
import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { alawToLinear, ulawToLinear } from '../../src/media/builtin/g711.js';
import { bindUdp } from '../../src/media/builtin/port-allocator.js';
import { splitRtcp, type RtcpPart } from '../../src/media/builtin/rtcp.js';
import { readRtpHeader, writeRtpHeader, type RtpHeader } from '../../src/media/builtin/rtp-packet.js';

const LOOPBACK = '127.0.0.1';

/** One RTP packet received. */
export interface ReceivedRtp extends RtpHeader {
  readonly payload: Buffer;
  /** performance.now() at arrival. */
  readonly at: number;
  readonly from: string;
}

/** RTP + RTCP sockets with what they received. */
export class RtpPeer {
  readonly rtp: ReceivedRtp[] = [];
  readonly rtcp: RtcpPart[][] = [];

  private constructor(
    private readonly rtpSocket: Socket,
    private readonly rtcpSocket: Socket,
  ) {
    rtpSocket.on('message', (buf, r) => {
      const h = readRtpHeader(buf);
      if (h) {
        const payload = buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
        this.rtp.push({ ...h, payload, at: performance.now(), from: `${r.address}:${r.port}` });
      }
    });
    rtcpSocket.on('message', (buf) => {
      const parts = splitRtcp(buf);
      if (parts) this.rtcp.push(parts);
    });
  }

  /** Binds an even/odd port pair on 127.0.0.1 (ephemeral ports, up to 50 tries). */
  static async open(): Promise<RtpPeer> {
    for (let i = 0; i < 50; i++) {
      const probe = await bindUdp(0, LOOPBACK);
      if (!probe) continue;
      const port = probe.address().port;
      probe.close();
      if (port % 2 !== 0 || port >= 65535) continue;
      const rtp = await bindUdp(port, LOOPBACK);
      if (!rtp) continue;
      const rtcp = await bindUdp(port + 1, LOOPBACK);
      if (rtcp) return new RtpPeer(rtp, rtcp);
      rtp.close();
    }
    throw new Error('no free even/odd UDP port pair');
  }

  get port(): number {
    return this.rtpSocket.address().port;
  }

  /** An SDP offer/answer for this peer: `payloads` in order, `direction`. */
  sdp(payloads = '0 8 101', direction = 'sendrecv', ip = '127.0.0.1'): string {
    const lines = [
      'v=0',
      'o=peer 1 1 IN IP4 127.0.0.1',
      's=-',
      `c=IN IP4 ${ip}`,
      't=0 0',
      `m=audio ${this.port} RTP/AVP ${payloads}`,
    ];
    for (const pt of payloads.split(' ')) {
      if (pt === '0') lines.push('a=rtpmap:0 PCMU/8000');
      else if (pt === '8') lines.push('a=rtpmap:8 PCMA/8000');
      else lines.push(`a=rtpmap:${pt} telephone-event/8000`);
    }
    lines.push(`a=${direction}`);
    return lines.join('\r\n') + '\r\n';
  }

  /** Sends any bytes from the RTP socket to 127.0.0.1:`port`. */
  sendRaw(port: number, bytes: Buffer): void {
    this.rtpSocket.send(bytes, port, LOOPBACK);
  }

  /** Sends one RTP packet from the RTP socket. */
  send(port: number, pt: number, seq: number, ts: number, ssrc: number, payload: Uint8Array, marker = false): void {
    const b = Buffer.alloc(12 + payload.length);
    writeRtpHeader(b, marker, pt, seq, ts, ssrc);
    b.set(payload, 12);
    this.rtpSocket.send(b, port, '127.0.0.1');
  }

  /** The received payloads of `ssrc`-agnostic packets decoded to PCM (µ-law for PT 0, A-law for 8). */
  static decode(packets: readonly ReceivedRtp[]): Int16Array {
    const out = new Int16Array(packets.reduce((n, p) => n + p.payload.length, 0));
    let i = 0;
    for (const p of packets) {
      const law = p.payloadType === 8 ? alawToLinear : ulawToLinear;
      for (const c of p.payload) out[i++] = law(c);
    }
    return out;
  }

  close(): void {
    this.rtpSocket.close();
    this.rtcpSocket.close();
  }
}
