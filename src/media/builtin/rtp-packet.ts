/**
 * RTP fixed header (RFC 3550 §5.1): writing the packets we send and reading the ones we receive.
 *
 *     0                   1                   2                   3
 *    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *    |                           timestamp                           |
 *    |           synchronization source (SSRC) identifier            |
 */

/** Length of the fixed header without CSRCs (RFC 3550 §5.1). */
export const RTP_HEADER_LENGTH = 12;

/** The fields of a received RTP packet we use. */
export interface RtpHeader {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
  /** Offset of the payload (after CSRCs and a header extension). */
  readonly payloadOffset: number;
  /** Payload length (padding removed). */
  readonly payloadLength: number;
}

/** Writes a version-2 header without CSRC, padding or extension into `packet` (≥ 12 bytes). */
export function writeRtpHeader(
  packet: Buffer,
  marker: boolean,
  payloadType: number,
  sequence: number,
  timestamp: number,
  ssrc: number,
): void {
  packet[0] = 0x80;
  packet[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(timestamp >>> 0, 4);
  packet.writeUInt32BE(ssrc >>> 0, 8);
}

/**
 * Reads an RTP header (RFC 3550 §5.1, §5.3.1 extension, padding); undefined for anything that is
 * not a well-formed version-2 RTP packet. RTCP (payload types 72–76 with the marker, RFC 5761
 * §4) is not RTP either.
 */
export function readRtpHeader(packet: Buffer): RtpHeader | undefined {
  if (packet.length < RTP_HEADER_LENGTH || packet[0] >> 6 !== 2) return undefined;
  const cc = packet[0] & 0x0f;
  const padding = (packet[0] & 0x20) !== 0;
  const extension = (packet[0] & 0x10) !== 0;
  const payloadType = packet[1] & 0x7f;
  if (payloadType >= 72 && payloadType <= 76) return undefined;
  let offset = RTP_HEADER_LENGTH + cc * 4;
  if (extension) {
    if (packet.length < offset + 4) return undefined;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  let end = packet.length;
  if (padding) end -= packet[packet.length - 1];
  if (end < offset) return undefined;
  return {
    marker: (packet[1] & 0x80) !== 0,
    payloadType,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payloadOffset: offset,
    payloadLength: end - offset,
  };
}
