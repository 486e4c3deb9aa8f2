/**
 * RTCP packets we send (RFC 3550 §6): a sender report (§6.4.1) with an SDES CNAME (§6.5.1) every
 * few seconds, and SR + BYE (§6.6) when an endpoint closes. Received RTCP is only recognised.
 */

/** RTCP packet types (RFC 3550 §12.1). */
export const RTCP_SR = 200;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2_208_988_800;

/** What a sender report carries (RFC 3550 §6.4.1). */
export interface SenderInfo {
  readonly ssrc: number;
  /** Wall-clock time of the report, ms since the Unix epoch. */
  readonly wallClockMs: number;
  /** The RTP timestamp corresponding to that time (same clock as the data packets). */
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
}

/** An SR with no report blocks (RC = 0): 28 bytes. */
export function senderReport(info: SenderInfo): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = RTCP_SR;
  b.writeUInt16BE(28 / 4 - 1, 2);
  b.writeUInt32BE(info.ssrc >>> 0, 4);
  const seconds = Math.floor(info.wallClockMs / 1000);
  const fraction = Math.floor(((info.wallClockMs % 1000) / 1000) * 0x1_0000_0000);
  b.writeUInt32BE((seconds + NTP_UNIX_OFFSET) >>> 0, 8);
  b.writeUInt32BE(fraction >>> 0, 12);
  b.writeUInt32BE(info.rtpTimestamp >>> 0, 16);
  b.writeUInt32BE(info.packetCount >>> 0, 20);
  b.writeUInt32BE(info.octetCount >>> 0, 24);
  return b;
}

/** SDES with one chunk holding a CNAME item (RFC 3550 §6.5, §6.5.1), padded to 32 bits. */
export function sdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, 'utf8').subarray(0, 255);
  const chunk = 4 + 2 + text.length + 1; // SSRC, type + length, text, END
  const padded = Math.ceil(chunk / 4) * 4;
  const b = Buffer.alloc(4 + padded);
  b[0] = 0x81;
  b[1] = RTCP_SDES;
  b.writeUInt16BE(b.length / 4 - 1, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b[8] = 1; // CNAME
  b[9] = text.length;
  text.copy(b, 10);
  return b;
}

/** BYE for one SSRC (RFC 3550 §6.6). */
export function bye(ssrc: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x81;
  b[1] = RTCP_BYE;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  return b;
}

/** One packet of a compound RTCP packet. */
export interface RtcpPart {
  readonly packetType: number;
  readonly count: number;
  readonly ssrc: number;
  readonly body: Buffer;
}

/** Splits a compound RTCP packet (RFC 3550 §6.1); undefined if it is not RTCP. */
export function splitRtcp(packet: Buffer): RtcpPart[] | undefined {
  const parts: RtcpPart[] = [];
  let offset = 0;
  while (offset + 8 <= packet.length) {
    if (packet[offset] >> 6 !== 2) return undefined;
    const pt = packet[offset + 1];
    if (pt < 192 || pt > 223) return undefined;
    const length = (packet.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > packet.length) return undefined;
    parts.push({
      packetType: pt,
      count: packet[offset] & 0x1f,
      ssrc: packet.readUInt32BE(offset + 4),
      body: packet.subarray(offset, offset + length),
    });
    offset += length;
  }
  return parts.length > 0 && offset === packet.length ? parts : undefined;
}
