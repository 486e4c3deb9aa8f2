/**
 * SDP helpers for call control over `sdp-transform` (RFC 4566, RFC 3264, RFC 3725).
 *
 * The B2BUA passes SDP between legs unchanged (RFC 3264 offer/answer end to end); these helpers
 * exist for the cases where we author or adapt SDP ourselves: hold, black-hole offers of the
 * 3pcc flows, and keeping the `o=` line of one leg consistent when the far end changes.
 */
import sdpTransform from 'sdp-transform';
import type { SessionDescription } from 'sdp-transform';

/** Media direction attributes (RFC 3264 §5.1, §6.1). */
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Parse SDP text; throws on input that is not SDP at all (no `v=` line). */
export function parseSdp(sdp: string | Buffer): SessionDescription {
  const text = typeof sdp === 'string' ? sdp : sdp.toString('utf8');
  if (!/^v=/m.test(text)) throw new Error('not an SDP body');
  return sdpTransform.parse(text);
}

/** Serialise with CRLF line ends (RFC 4566 §5). */
export function writeSdp(session: SessionDescription): string {
  return sdpTransform.write(session);
}

/** True if the body looks like SDP (non-empty with a `v=` line). */
export function isSdp(body: Buffer | string | undefined): boolean {
  if (!body || body.length === 0) return false;
  const text = typeof body === 'string' ? body : body.toString('utf8', 0, Math.min(body.length, 64));
  return /^v=/m.test(text);
}

/** Set every media stream's direction (session-level attribute removed so media level rules). */
export function withDirection(sdp: string | Buffer, direction: MediaDirection): string {
  const s = parseSdp(sdp);
  delete s.direction;
  for (const m of s.media) m.direction = direction;
  bumpVersion(s);
  return writeSdp(s);
}

/** The direction of the first audio stream (default sendrecv, RFC 3264 §5.1). */
export function directionOf(sdp: string | Buffer): MediaDirection {
  const s = parseSdp(sdp);
  const m = s.media.find((x) => x.type === 'audio') ?? s.media[0];
  return (m?.direction ?? s.direction ?? 'sendrecv') as MediaDirection;
}

/**
 * A hold offer derived from the last SDP we sent on a leg (RFC 3264 §8.4): `sendonly` when the
 * stream was sending, `inactive` when it was `recvonly`/`inactive`.
 */
export function holdSdp(previous: string | Buffer): string {
  const current = directionOf(previous);
  return withDirection(previous, current === 'sendrecv' || current === 'sendonly' ? 'sendonly' : 'inactive');
}

/** The offer that takes a leg off hold (RFC 3264 §8.4): back to `sendrecv`. */
export function resumeSdp(previous: string | Buffer): string {
  return withDirection(previous, 'sendrecv');
}

/**
 * A "black hole" version of an SDP (RFC 3725 §4, RFC 2543 style hold): every connection address
 * set to 0.0.0.0 so nothing is sent to the peer, codecs kept so it is a valid answer/offer.
 * `ownOrigin`: replace the `o=` line by one of ours (when answering a peer with its own offer).
 */
export function blackHoleSdp(sdp: string | Buffer, ownOrigin = false): string {
  const s = parseSdp(sdp);
  if (ownOrigin) {
    // An answer we author from the peer's own offer must not carry the peer's o= line (RFC 4566 §5.2).
    s.origin = { username: '-', sessionId: Date.now(), sessionVersion: 0, netType: 'IN', ipVer: 4, address: '0.0.0.0' };
  }
  if (s.connection) s.connection = { version: 4, ip: '0.0.0.0' };
  for (const m of s.media) {
    if (m.connection || !s.connection) m.connection = { version: 4, ip: '0.0.0.0' };
  }
  bumpVersion(s);
  return writeSdp(s);
}

/**
 * The answer that rejects every stream of an offer (RFC 3264 §6: port 0 per m= line, same
 * formats), used when we must answer but have no media to give (Flow I failure, RFC 3725 §4.1).
 */
export function rejectAllAnswer(offer: string | Buffer, origin = '0.0.0.0'): string {
  const o = parseSdp(offer);
  const s: SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: Date.now(), sessionVersion: 1, netType: 'IN', ipVer: 4, address: origin },
    name: '-',
    timing: { start: 0, stop: 0 },
    connection: { version: 4, ip: '0.0.0.0' },
    media: o.media.map((m) => ({
      type: m.type,
      port: 0,
      protocol: m.protocol,
      payloads: m.payloads,
      rtp: m.rtp,
      fmtp: [],
    })),
  };
  return writeSdp(s);
}

/**
 * The "no media" offer of RFC 3725 Flow IV (§4.4: an offer with all streams inactive/held):
 * one audio stream with PCMU/PCMA, `c=0.0.0.0`, `a=inactive`.
 */
export function noMediaOffer(origin = '0.0.0.0', port = 9): string {
  const s: SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: Date.now(), sessionVersion: 1, netType: 'IN', ipVer: 4, address: origin },
    name: '-',
    timing: { start: 0, stop: 0 },
    connection: { version: 4, ip: '0.0.0.0' },
    media: [
      {
        type: 'audio',
        port,
        protocol: 'RTP/AVP',
        payloads: '0 8 101',
        rtp: [
          { payload: 0, codec: 'PCMU', rate: 8000 },
          { payload: 8, codec: 'PCMA', rate: 8000 },
          { payload: 101, codec: 'telephone-event', rate: 8000 },
        ],
        fmtp: [{ payload: 101, config: '0-16' }],
        direction: 'inactive',
      },
    ],
  };
  return writeSdp(s);
}

function bumpVersion(s: SessionDescription): void {
  s.origin.sessionVersion = Number(s.origin.sessionVersion) + 1;
}
