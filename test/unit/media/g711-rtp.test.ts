/** G.711 (ITU-T G.711, RFC 3551 §4.5.14), the RTP header (RFC 3550 §5.1) and RTCP layout (§6.4.1, §6.6). */
import { describe, expect, it } from 'vitest';
import { alawToLinear, linearToAlaw, linearToUlaw, PCMA, PCMU, ulawToLinear } from '../../../src/media/builtin/g711.js';
import {
  bye,
  RTCP_BYE,
  RTCP_SDES,
  RTCP_SR,
  sdesCname,
  senderReport,
  splitRtcp,
} from '../../../src/media/builtin/rtcp.js';
import { readRtpHeader, writeRtpHeader } from '../../../src/media/builtin/rtp-packet.js';

describe('G.711', () => {
  it('has the known codes of the G.711 tables', () => {
    expect(linearToUlaw(0)).toBe(0xff);
    expect(linearToUlaw(-1)).toBe(0x7f);
    expect(linearToUlaw(32767)).toBe(0x80);
    expect(linearToUlaw(-32768)).toBe(0x00);
    expect(ulawToLinear(0x80)).toBe(32124);
    expect(ulawToLinear(0x00)).toBe(-32124);
    expect(ulawToLinear(0xff)).toBe(0);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-1)).toBe(0x55);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
    expect(alawToLinear(0xd5)).toBe(8);
    expect(alawToLinear(0xaa)).toBe(32256);
    expect(alawToLinear(0x2a)).toBe(-32256);
  });

  it('round-trips every code (µ-law negative zero 0x7f reads as 0 = 0xff)', () => {
    for (let c = 0; c < 256; c++) {
      expect(linearToAlaw(alawToLinear(c))).toBe(c);
      expect(linearToUlaw(ulawToLinear(c))).toBe(c === 0x7f ? 0xff : c);
    }
  });

  it('quantises within the segment step (≤ 1/16 of the value plus the smallest step)', () => {
    for (let s = -32000; s <= 32000; s += 13) {
      expect(Math.abs(ulawToLinear(linearToUlaw(s)) - s)).toBeLessThanOrEqual(Math.abs(s) / 16 + 8);
      expect(Math.abs(alawToLinear(linearToAlaw(s)) - s)).toBeLessThanOrEqual(Math.abs(s) / 16 + 16);
    }
  });

  it('encodes and decodes frames through the tables like the sample functions', () => {
    const pcm = Int16Array.from({ length: 160 }, (_, i) => ((i * 409) % 65536) - 32768);
    for (const codec of [PCMU, PCMA]) {
      const codes = new Uint8Array(160);
      codec.encode(pcm, codes);
      const back = new Int16Array(160);
      codec.decode(codes, back);
      const one = codec === PCMU ? linearToUlaw : linearToAlaw;
      const dec = codec === PCMU ? ulawToLinear : alawToLinear;
      pcm.forEach((s, i) => {
        expect(codes[i]).toBe(one(s));
        expect(back[i]).toBe(dec(codes[i]));
      });
    }
    expect([PCMU.payloadType, PCMA.payloadType, PCMU.silence, PCMA.silence]).toEqual([0, 8, 0xff, 0xd5]);
  });
});

describe('RTP header', () => {
  it('writes version 2, marker, payload type, sequence, timestamp and SSRC in network order', () => {
    const b = Buffer.alloc(12 + 160);
    writeRtpHeader(b, true, 8, 0x1234, 0xdeadbeef, 0x01020304);
    expect([...b.subarray(0, 12)]).toEqual([0x80, 0x88, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    writeRtpHeader(b, false, 0, 0x10000, 2 ** 32, 5);
    expect([...b.subarray(0, 4)]).toEqual([0x80, 0x00, 0x00, 0x00]);
    expect(readRtpHeader(b)).toMatchObject({ marker: false, payloadType: 0, sequence: 0, timestamp: 0, ssrc: 5 });
  });

  it('reads CSRCs, a header extension and padding; refuses what is not RTP', () => {
    const b = Buffer.alloc(12 + 4 + 8 + 10 + 2);
    b[0] = 0x80 | 0x20 | 0x10 | 1; // padding, extension, 1 CSRC
    b[1] = 0x80 | 101;
    b.writeUInt16BE(1, 16 + 2); // extension length: one word
    b[b.length - 1] = 2;
    expect(readRtpHeader(b)).toMatchObject({ marker: true, payloadType: 101, payloadOffset: 24, payloadLength: 10 });
    expect(readRtpHeader(Buffer.from('hello world!'))).toBeUndefined();
    expect(readRtpHeader(Buffer.alloc(8, 0x80))).toBeUndefined();
    const rtcp = Buffer.alloc(28);
    rtcp[0] = 0x80;
    rtcp[1] = RTCP_SR;
    expect(readRtpHeader(rtcp)).toBeUndefined();
  });
});

describe('RTCP', () => {
  it('lays out a sender report: header, SSRC, NTP seconds and fraction, RTP timestamp, counts', () => {
    const sr = senderReport({
      ssrc: 0xcafebabe,
      wallClockMs: 1_700_000_000_500,
      rtpTimestamp: 123456,
      packetCount: 50,
      octetCount: 8000,
    });
    expect(sr.length).toBe(28);
    expect([sr[0], sr[1], sr.readUInt16BE(2)]).toEqual([0x80, 200, 6]);
    expect(sr.readUInt32BE(4)).toBe(0xcafebabe);
    expect(sr.readUInt32BE(8)).toBe(1_700_000_000 + 2_208_988_800);
    expect(sr.readUInt32BE(12)).toBe(2 ** 31);
    expect([sr.readUInt32BE(16), sr.readUInt32BE(20), sr.readUInt32BE(24)]).toEqual([123456, 50, 8000]);
  });

  it('builds SDES CNAME and BYE packets that split back from a compound packet', () => {
    const compound = Buffer.concat([
      senderReport({ ssrc: 7, wallClockMs: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }),
      sdesCname(7, 'sipserver@host'),
      bye(7),
    ]);
    const parts = splitRtcp(compound);
    expect(parts?.map((p) => [p.packetType, p.ssrc, p.body.length % 4])).toEqual([
      [RTCP_SR, 7, 0],
      [RTCP_SDES, 7, 0],
      [RTCP_BYE, 7, 0],
    ]);
    expect(parts?.[1].body.toString('utf8', 10, 24)).toBe('sipserver@host');
    expect(splitRtcp(compound.subarray(0, 30))).toBeUndefined();
    expect(splitRtcp(Buffer.alloc(12, 0x80))).toBeUndefined();
  });
});
