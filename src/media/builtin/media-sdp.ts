/**
 * The SDP of a built-in endpoint (RFC 4566, offer/answer per RFC 3264), through `sdp-transform`:
 * our offers (PCMU 0, PCMA 8, telephone-event 101 per RFC 4733, ptime 20, sendrecv), our answers
 * to a peer's offer, and what a peer's answer tells us. Runs on the main thread; the worker only
 * gets the outcome ({@link Negotiated}).
 */
import type { MediaAttributes, SessionDescription } from 'sdp-transform';
import { MediaNegotiationError } from '../media-server.js';
import { parseSdp, writeSdp, type MediaDirection } from '../sdp.js';
import { PT_PCMA, PT_PCMU } from './g711.js';

/** The payload type we offer for telephone-event (RFC 4733 §7.1.1, dynamic). */
export const TELEPHONE_EVENT_PT = 101;

/** The outcome of one offer/answer exchange, for the RTP session. */
export interface Negotiated {
  /** Where to send RTP (the peer's `c=`/`m=`), undefined when it gave none (0.0.0.0, port 0). */
  readonly remoteIp: string | undefined;
  readonly remotePort: number;
  /** G.711 payload type: 0 or 8. */
  readonly payloadType: number;
  /** The peer's telephone-event payload type, if it has one. */
  readonly telephoneEventPt: number | undefined;
  /** False while the peer does not want to receive (`sendonly`/`inactive` from its side). */
  readonly sending: boolean;
}

/** One endpoint's origin line (RFC 4566 §5.2): the same session id, version +1 per SDP (RFC 3264 §8). */
export class EndpointOrigin {
  private readonly sessionId = Math.floor(Math.random() * 0x7fffffff) + 1;
  private version = 0;
  constructor(private readonly address: string) {}
  next(): SessionDescription['origin'] {
    this.version += 1;
    return {
      username: '-',
      sessionId: this.sessionId,
      sessionVersion: this.version,
      netType: 'IN',
      ipVer: this.address.includes(':') ? 6 : 4,
      address: this.address,
    };
  }
}

type Rtp = MediaAttributes['rtp'][number];

/** One session description of ours (RFC 4566 §5): `-` for a name, session-level connection at `address`, `media`. */
function session(origin: SessionDescription['origin'], address: string, media: SessionDescription['media']): string {
  const s: SessionDescription = {
    version: 0,
    origin,
    name: '-',
    timing: { start: 0, stop: 0 },
    connection: { version: address.includes(':') ? 6 : 4, ip: address },
    media,
  };
  return writeSdp(s);
}

/** Our offer: one audio stream on `address`:`port`, sendrecv. */
export function offerSdp(origin: SessionDescription['origin'], address: string, port: number): string {
  return session(origin, address, [
    {
      type: 'audio',
      port,
      protocol: 'RTP/AVP',
      payloads: `${PT_PCMU} ${PT_PCMA} ${TELEPHONE_EVENT_PT}`,
      rtp: [
        { payload: PT_PCMU, codec: 'PCMU', rate: 8000 },
        { payload: PT_PCMA, codec: 'PCMA', rate: 8000 },
        { payload: TELEPHONE_EVENT_PT, codec: 'telephone-event', rate: 8000 },
      ],
      fmtp: [{ payload: TELEPHONE_EVENT_PT, config: '0-16' }],
      ptime: 20,
      direction: 'sendrecv',
    },
  ]);
}

function parse(text: string | Buffer, what: string): SessionDescription {
  try {
    return parseSdp(text);
  } catch (e) {
    throw new MediaNegotiationError(`${what} is not SDP (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The payload's rtpmap, or the static G.711 mapping of RFC 3551 Table 4 for 0 and 8. */
function rtpOf(m: SessionDescription['media'][number], pt: number): Rtp | undefined {
  const mapped = m.rtp.find((r) => r.payload === pt);
  if (mapped) return mapped;
  if (pt === PT_PCMU) return { payload: pt, codec: 'PCMU', rate: 8000 };
  if (pt === PT_PCMA) return { payload: pt, codec: 'PCMA', rate: 8000 };
  return undefined;
}

interface Stream {
  readonly media: SessionDescription['media'][number];
  readonly index: number;
  readonly g711: number | undefined;
  readonly te: number | undefined;
  readonly direction: MediaDirection;
  readonly ip: string | undefined;
}

function readStream(s: SessionDescription, what: string): Stream {
  const index = s.media.findIndex((m) => m.type === 'audio' && m.port !== 0);
  if (index < 0) throw new MediaNegotiationError(`${what} has no active audio stream`);
  const m = s.media[index];
  const pts = String(m.payloads ?? '')
    .split(/\s+/)
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
  let g711: number | undefined;
  let te: number | undefined;
  for (const pt of pts) {
    const r = rtpOf(m, pt);
    const codec = r?.codec.toUpperCase();
    if (g711 === undefined && (codec === 'PCMU' || codec === 'PCMA') && (r?.rate ?? 8000) === 8000)
      g711 = codec === 'PCMU' ? PT_PCMU : PT_PCMA;
    if (te === undefined && r?.codec.toLowerCase() === 'telephone-event' && r.rate === 8000) te = pt;
  }
  const ip = m.connection?.ip ?? s.connection?.ip;
  return {
    media: m,
    index,
    g711,
    te,
    direction: (m.direction ?? s.direction ?? 'sendrecv') as MediaDirection,
    ip: ip && ip !== '0.0.0.0' && ip !== '::' ? ip : undefined,
  };
}

const ANSWER_DIRECTION: Readonly<Record<MediaDirection, MediaDirection>> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

/**
 * Our answer to `offer` (RFC 3264 §6): the offer's first G.711 codec, its telephone-event payload
 * number if it has one, the direction matching the offer's (a `sendonly` hold offer is answered
 * `recvonly` and nothing is sent). Other m= lines are rejected with port 0 (RFC 3264 §6).
 */
export function answerSdp(
  offer: string | Buffer,
  origin: SessionDescription['origin'],
  address: string,
  port: number,
): { sdp: string; negotiated: Negotiated } {
  const o = parse(offer, 'the offer');
  const st = readStream(o, 'the offer');
  if (st.g711 === undefined) throw new MediaNegotiationError('the offer has no G.711 codec (PCMU or PCMA)');
  const direction = ANSWER_DIRECTION[st.direction];
  const pts = st.te === undefined ? [st.g711] : [st.g711, st.te];
  const ours = {
    type: 'audio',
    port,
    protocol: st.media.protocol,
    payloads: pts.join(' '),
    rtp: pts.map((pt) =>
      pt === st.te
        ? { payload: pt, codec: 'telephone-event', rate: 8000 }
        : { payload: pt, codec: pt === PT_PCMU ? 'PCMU' : 'PCMA', rate: 8000 },
    ),
    fmtp: st.te === undefined ? [] : [{ payload: st.te, config: '0-16' }],
    ptime: 20,
    direction,
  };
  const media = o.media.map((m, i) =>
    i === st.index ? ours : { type: m.type, port: 0, protocol: m.protocol, payloads: m.payloads, rtp: m.rtp, fmtp: [] },
  );
  return { sdp: session(origin, address, media), negotiated: negotiatedOf(st, st.g711, st.direction) };
}

function negotiatedOf(st: Stream, payloadType: number, peerDirection: MediaDirection): Negotiated {
  return {
    remoteIp: st.ip,
    remotePort: st.media.port,
    payloadType,
    telephoneEventPt: st.te,
    sending: st.ip !== undefined && (peerDirection === 'sendrecv' || peerDirection === 'recvonly'),
  };
}

/** What the peer's answer to our offer gives (RFC 3264 §7): its codec choice, address, direction. */
export function readAnswer(answer: string | Buffer): Negotiated {
  const a = parse(answer, 'the answer');
  const st = readStream(a, 'the answer');
  if (st.g711 === undefined) throw new MediaNegotiationError('the answer has no G.711 codec (PCMU or PCMA)');
  return negotiatedOf(st, st.g711, st.direction);
}
