import { describe, expect, it } from 'vitest';
import { parsePcap, setupTimesFromCapture } from '../../helpers/sip-capture.js';

/** An IPv4/UDP datagram in an Ethernet frame, as tcpdump -i lo writes it. */
function frame(src: [string, number], dst: [string, number], payload: string): Buffer {
  const body = Buffer.from(payload, 'latin1');
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[9] = 17;
  ip.writeUInt16BE(20 + 8 + body.length, 2);
  Buffer.from(src[0].split('.').map(Number)).copy(ip, 12);
  Buffer.from(dst[0].split('.').map(Number)).copy(ip, 16);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(src[1], 0);
  udp.writeUInt16BE(dst[1], 2);
  udp.writeUInt16BE(8 + body.length, 4);
  return Buffer.concat([eth, ip, udp, body]);
}

/** A little-endian microsecond pcap file of Ethernet frames stamped `atMs`. */
function pcap(records: Array<{ atMs: number; frame: Buffer }>): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const parts: Buffer[] = [head];
  for (const r of records) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(r.atMs / 1000), 0);
    h.writeUInt32LE(Math.round((r.atMs % 1000) * 1000), 4);
    h.writeUInt32LE(r.frame.length, 8);
    h.writeUInt32LE(r.frame.length, 12);
    parts.push(h, r.frame);
  }
  return Buffer.concat(parts);
}

const caller: [string, number] = ['127.0.0.1', 6000];
const server: [string, number] = ['127.0.0.1', 5060];
const pbx: [string, number] = ['127.0.0.1', 7000];
const msg = (first: string, callId: string, cseq: string): string =>
  `${first}\r\nVia: SIP/2.0/UDP x\r\nCall-ID: ${callId}\r\nCSeq: ${cseq}\r\nContent-Length: 0\r\n\r\n`;

describe('set-up times from a capture', () => {
  it('reads stamps to the microsecond and measures INVITE → 200 per call to the service only', () => {
    const t = 1_800_000_000_000;
    const file = pcap([
      { atMs: t, frame: frame(caller, server, msg('INVITE sip:5000@127.0.0.1:5060 SIP/2.0', 'a', '1 INVITE')) },
      // a retransmission does not restart the clock
      { atMs: t + 0.5, frame: frame(caller, server, msg('INVITE sip:5000@127.0.0.1:5060 SIP/2.0', 'a', '1 INVITE')) },
      { atMs: t + 0.8, frame: frame(server, caller, msg('SIP/2.0 180 Ringing', 'a', '1 INVITE')) },
      // the server's own INVITE to the agent is another call, and goes elsewhere
      { atMs: t + 1, frame: frame(server, pbx, msg('INVITE sip:7001@127.0.0.1:7000 SIP/2.0', 'b', '1 INVITE')) },
      { atMs: t + 2, frame: frame(pbx, server, msg('SIP/2.0 200 OK', 'b', '1 INVITE')) },
      { atMs: t + 3.25, frame: frame(server, caller, msg('SIP/2.0 200 OK', 'a', '1 INVITE')) },
      { atMs: t + 3.3, frame: frame(server, caller, msg('SIP/2.0 200 OK', 'a', '1 INVITE')) },
      // a call to another number, and a 200 to a BYE, are not set-ups of the service
      { atMs: t + 10, frame: frame(caller, server, msg('INVITE sip:6000@127.0.0.1:5060 SIP/2.0', 'c', '1 INVITE')) },
      { atMs: t + 12, frame: frame(server, caller, msg('SIP/2.0 200 OK', 'c', '1 INVITE')) },
      { atMs: t + 20, frame: frame(caller, server, msg('BYE sip:x@127.0.0.1 SIP/2.0', 'a', '2 BYE')) },
      { atMs: t + 21, frame: frame(server, caller, msg('SIP/2.0 200 OK', 'a', '2 BYE')) },
    ]);
    const datagrams = parsePcap(file);
    expect(datagrams).toHaveLength(11);
    expect(datagrams[0]!.src).toEqual({ ip: '127.0.0.1', port: 6000 });
    const samples = setupTimesFromCapture(datagrams, '127.0.0.1:5060', '5000');
    expect(samples).toHaveLength(1);
    expect(samples[0]!.at).toBe(t);
    expect(samples[0]!.ms).toBeCloseTo(3.25, 3);
  });

  it('refuses a file that is not a pcap', () => {
    expect(() => parsePcap(Buffer.alloc(40, 7))).toThrow(/not a pcap/);
  });
});
