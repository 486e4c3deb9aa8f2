/**
 * One endpoint's RTP session inside the media worker (RFC 3550): sends a 20 ms G.711 frame per
 * tick, receives and latches (symmetric RTP), counts telephone-events, sends RTCP.
 *
 * Symmetric RTP (RFC 4961; rtpengine/Asterisk "comedia"): we send to the address of the peer's
 * SDP until RTP arrives, then latch to the source address of the first packet with a negotiated
 * payload type and send there from then on (a peer behind NAT is reached where it sends from).
 * Once latched, packets from any other address are dropped and counted in `packetsRejected`; they
 * never move the stream. A new SDP from the peer with another address unlatches.
 *
 * Sending: RTP leaves through the pair's second socket on the same port, connected to where we
 * send (the SDP address, then the latched one), so that each packet needs no address lookup in
 * Node nor a route lookup in the kernel. It is connected again whenever that address changes;
 * until the connection is made (and on a platform without the second socket) packets go out
 * unconnected from the listening socket. Either socket may receive: packets from the connected
 * address reach the connected one, all others the listening one, and both handle them alike.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import type { MediaEndpointStats, MediaSource } from '../media-server.js';
import type { Clip } from './clip.js';
import { codecOf, PCMU, type G711Codec } from './g711.js';
import type { Negotiated } from './media-sdp.js';
import type { PortPair } from './port-allocator.js';
import { bye, sdesCname, senderReport, splitRtcp } from './rtcp.js';
import { readRtpHeader, RTP_HEADER_LENGTH, writeRtpHeader } from './rtp-packet.js';
import { FRAME_SAMPLES } from './tones.js';

/** RTCP report interval (RFC 3550 §6.2: 5 s minimum), randomised ×[0.5, 1.5] (§6.3.1). */
const RTCP_INTERVAL_MS = 5000;
/** Jitter buffer of a mixed endpoint: at most 3 frames (60 ms); the oldest samples go first. */
const JITTER_SAMPLES = 3 * FRAME_SAMPLES;

/** The clips a session can play, shared by every session of the worker. */
export interface Clips {
  readonly ringback: Clip;
  readonly music: Clip | undefined;
  readonly comfortNoise: Clip;
}

/** One RTP session. */
export class RtpSession {
  readonly ssrc = (Math.random() * 0x1_0000_0000) >>> 0;
  private sequence = Math.floor(Math.random() * 0x10000);
  private timestamp = (Math.random() * 0x1_0000_0000) >>> 0;
  private codec: G711Codec = PCMU;
  private payloadType: number | undefined;
  private telephoneEventPt: number | undefined;
  /** Where the peer's SDP says to send; {@link remote} differs once latched. */
  private sdpRemote: { ip: string; port: number } | undefined;
  private remote: { ip: string; port: number } | undefined;
  private rtcpRemote: { ip: string; port: number } | undefined;
  private latched = false;
  /** The address `ports.rtpSend` is connected to, while it is. */
  private connectedTo: { ip: string; port: number } | undefined;
  private connecting = false;
  /** An address the sending socket could not be connected to: sent to unconnected, not retried. */
  private unconnectable: { ip: string; port: number } | undefined;
  private sending = false;
  private marker = true;
  private clip: Clip | undefined;
  private position = 0;
  /** The packet of {@link sendSource}, reused from frame to frame while no send of it is pending. */
  private packet = Buffer.alloc(RTP_HEADER_LENGTH + FRAME_SAMPLES);
  /** The codec whose silence {@link packet} holds as payload, while it holds silence. */
  private silenceOf: G711Codec | undefined;
  /** The socket the last packet went out on. */
  private lastSocket: Socket | undefined;
  private packetsSent = 0;
  private octetsSent = 0;
  private packetsReceived = 0;
  private telephoneEvents = 0;
  private packetsRejected = 0;
  private nextReportAt: number;
  /** Received audio for the mixer (decoded), while joined. */
  private jitter: Int16Array | undefined;
  private jitterFill = 0;
  /** The mixer this session is joined to. */
  mixer: string | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    readonly label: string,
    private readonly ports: PortPair,
    private readonly clips: Clips,
    private readonly cname: string,
    now: number,
    private readonly onError: (msg: string) => void,
  ) {
    this.nextReportAt = now + RTCP_INTERVAL_MS * (0.25 + Math.random() * 0.5);
    // Whatever arrives must not throw out of a socket handler: that would kill the worker and
    // every endpoint with it.
    ports.rtp.on('message', (m, r) => this.guard(() => this.onRtp(m, r)));
    ports.rtcp.on('message', (m, r) => this.guard(() => this.onRtcp(m, r)));
    for (const s of [ports.rtp, ports.rtcp]) s.on('error', (e) => this.onError(`${this.label}: ${e.message}`));
    ports.rtpSend?.on('message', (m, r) => this.guard(() => this.onRtp(m, r)));
    // A connected UDP socket is told of ICMP port unreachable (the peer's port is closed, e.g. a
    // phone that hung up): expected, and an unconnected socket never reported it either.
    ports.rtpSend?.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ECONNREFUSED') this.onError(`${this.label}: ${e.message}`);
    });
  }

  private guard(handle: () => void): void {
    try {
      handle();
    } catch (e) {
      this.onError(`${this.label}: packet dropped: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  get port(): number {
    return this.ports.port;
  }

  /** The sockets (freed by the engine after {@link close}). */
  get portPair(): PortPair {
    return this.ports;
  }

  /** The outcome of an offer/answer exchange. */
  configure(n: Negotiated): void {
    const codec = codecOf(n.payloadType);
    if (codec) this.codec = codec;
    this.payloadType = n.payloadType;
    this.telephoneEventPt = n.telephoneEventPt;
    const sdpRemote = n.remoteIp === undefined ? undefined : { ip: n.remoteIp, port: n.remotePort };
    const sameAsSdp =
      this.sdpRemote && sdpRemote && this.sdpRemote.ip === sdpRemote.ip && this.sdpRemote.port === sdpRemote.port;
    if (!sameAsSdp) {
      this.sdpRemote = sdpRemote;
      this.latched = false;
      this.remote = sdpRemote;
      this.rtcpRemote = sdpRemote && { ip: sdpRemote.ip, port: sdpRemote.port + 1 };
    }
    if (n.sending && !this.sending) this.marker = true;
    this.sending = n.sending;
  }

  /** What to play (a talkspurt starts: marker bit on the next packet, RFC 3551 §4.1). */
  play(source: MediaSource): void {
    this.clip =
      source.kind === 'ringback'
        ? this.clips.ringback
        : source.kind === 'music'
          ? this.clips.music
          : source.kind === 'comfort-noise'
            ? this.clips.comfortNoise
            : undefined;
    this.position = 0;
    this.marker = true;
  }

  /** Starts collecting received audio for a mixer. */
  joinMixer(mixer: string): void {
    this.mixer = mixer;
    this.jitter = new Int16Array(JITTER_SAMPLES);
    this.jitterFill = 0;
    this.marker = true;
  }

  leaveMixer(): void {
    this.mixer = undefined;
    this.jitter = undefined;
    this.marker = true;
  }

  /** One 20 ms frame of received audio (silence when nothing arrived) into `out`. */
  takeFrame(out: Int16Array): void {
    const j = this.jitter;
    const n = j ? Math.min(this.jitterFill, FRAME_SAMPLES) : 0;
    if (j && n > 0) {
      out.set(j.subarray(0, n));
      j.copyWithin(0, n, this.jitterFill);
      this.jitterFill -= n;
    }
    out.fill(0, n);
  }

  /** Whether a tick should produce a frame for this session. */
  get wantsFrame(): boolean {
    return this.sending && this.remote !== undefined && !this.closed;
  }

  get law(): G711Codec {
    return this.codec;
  }

  /** Sends this tick's frame from the current source. */
  sendSource(): void {
    let packet = this.packet;
    // A send the kernel could not take at once is queued by libuv with the buffer: not reused then.
    if (this.lastSocket && this.lastSocket.getSendQueueCount() > 0) {
      packet = this.packet = Buffer.allocUnsafe(RTP_HEADER_LENGTH + FRAME_SAMPLES);
      this.silenceOf = undefined;
    }
    if (this.clip) {
      this.position = this.clip.copy(this.codec, this.position, packet, RTP_HEADER_LENGTH, FRAME_SAMPLES);
      this.silenceOf = undefined;
    } else if (this.silenceOf !== this.codec) {
      packet.fill(this.codec.silence, RTP_HEADER_LENGTH);
      this.silenceOf = this.codec;
    }
    this.send(packet);
  }

  /** Sends an already encoded frame (the mixer's). */
  sendEncoded(payload: Uint8Array): void {
    const packet = Buffer.allocUnsafe(RTP_HEADER_LENGTH + payload.length);
    packet.set(payload, RTP_HEADER_LENGTH);
    this.send(packet);
  }

  private send(packet: Buffer): void {
    const remote = this.remote;
    if (!remote) return;
    writeRtpHeader(packet, this.marker, this.codec.payloadType, this.sequence, this.timestamp, this.ssrc);
    this.marker = false;
    this.sequence = (this.sequence + 1) & 0xffff;
    this.packetsSent++;
    this.octetsSent += packet.length - RTP_HEADER_LENGTH;
    const sender = this.ports.rtpSend;
    const to = this.connectedTo;
    if (sender && to && to.port === remote.port && to.ip === remote.ip) {
      sender.send(packet);
      this.lastSocket = sender;
      return;
    }
    this.ports.rtp.send(packet, remote.port, remote.ip);
    this.lastSocket = this.ports.rtp;
    const failed = this.unconnectable;
    if (sender && !this.connecting && !(failed && failed.port === remote.port && failed.ip === remote.ip)) {
      this.connectSender(sender, remote);
    }
  }

  /** Connects the sending socket to `target` (after disconnecting it from the previous address). */
  private connectSender(sender: Socket, target: { ip: string; port: number }): void {
    this.connecting = true;
    const fail = (e: unknown): void => {
      this.connecting = false;
      this.unconnectable = target;
      const why = e instanceof Error ? e.message : String(e);
      this.onError(`${this.label}: RTP to ${target.ip}:${target.port} is sent unconnected: ${why}`);
    };
    try {
      if (this.connectedTo) {
        this.connectedTo = undefined;
        sender.disconnect();
      }
      sender.connect(target.port, target.ip, (err?: Error) => {
        if (this.closed) return;
        if (err) return fail(err);
        this.connecting = false;
        this.connectedTo = target;
      });
    } catch (e) {
      fail(e);
    }
  }

  /** End of a tick: the RTP clock advances by one frame whether or not we sent (RFC 3550 §5.1). */
  advance(now: number): void {
    this.timestamp = (this.timestamp + FRAME_SAMPLES) >>> 0;
    if (now >= this.nextReportAt) {
      this.nextReportAt = now + RTCP_INTERVAL_MS * (0.5 + Math.random());
      if (this.packetsSent > 0) this.sendRtcp([]);
    }
  }

  /** SR + SDES CNAME (+ `extra`) to the peer's RTCP address (RFC 3550 §6.1 compound packet). */
  private sendRtcp(extra: Buffer[], done?: () => void): boolean {
    const to = this.rtcpRemote;
    if (!to) return false;
    const sr = senderReport({
      ssrc: this.ssrc,
      wallClockMs: Date.now(),
      rtpTimestamp: this.timestamp,
      packetCount: this.packetsSent,
      octetCount: this.octetsSent,
    });
    this.ports.rtcp.send(Buffer.concat([sr, sdesCname(this.ssrc, this.cname), ...extra]), to.port, to.ip, done);
    return true;
  }

  private onRtp(msg: Buffer, from: RemoteInfo): void {
    const h = readRtpHeader(msg);
    if (!h || this.payloadType === undefined) return;
    const audio = h.payloadType === this.payloadType;
    if (!audio && h.payloadType !== this.telephoneEventPt) return;
    if (this.latched) {
      if (from.address !== this.remote?.ip || from.port !== this.remote.port) {
        this.packetsRejected++;
        return;
      }
    } else {
      this.latched = true;
      this.remote = { ip: from.address, port: from.port };
      if (this.rtcpRemote?.ip !== from.address) this.rtcpRemote = { ip: from.address, port: from.port + 1 };
    }
    this.packetsReceived++;
    if (!audio) {
      this.telephoneEvents++;
      return;
    }
    if (this.jitter) this.buffer(msg.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength));
  }

  private buffer(payload: Uint8Array): void {
    const j = this.jitter!;
    const n = Math.min(payload.length, JITTER_SAMPLES);
    const overflow = this.jitterFill + n - JITTER_SAMPLES;
    if (overflow > 0) {
      j.copyWithin(0, overflow, this.jitterFill);
      this.jitterFill -= overflow;
    }
    this.codec.decode(payload.subarray(0, n), j.subarray(this.jitterFill, this.jitterFill + n));
    this.jitterFill += n;
  }

  private onRtcp(msg: Buffer, from: RemoteInfo): void {
    if (!splitRtcp(msg)) return;
    // Symmetric RTCP: answer where the peer's reports come from, if it is the peer we latched.
    if (!this.latched || from.address === this.remote?.ip) this.rtcpRemote = { ip: from.address, port: from.port };
  }

  stats(): MediaEndpointStats {
    return {
      packetsSent: this.packetsSent,
      packetsReceived: this.packetsReceived,
      telephoneEvents: this.telephoneEvents,
      packetsRejected: this.packetsRejected,
      remote: this.remote ? `${this.remote.ip}:${this.remote.port}` : undefined,
      payloadType: this.payloadType,
    };
  }

  /** Sends SR + BYE (RFC 3550 §6.6) and stops; the caller frees the ports after the send. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      if (!this.sendRtcp([bye(this.ssrc)], () => resolve())) resolve();
    });
  }
}
