/**
 * Parser benchmark: parse + serialise a typical INVITE with SDP (several Vias, Contact,
 * Record-Route) on one core, against the npm package `sip` on the same bytes.
 */
import sip from 'sip';
import { parseMessage } from '../src/sip/message/index.js';

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.101',
  's=-',
  'c=IN IP4 192.0.2.101',
  't=0 0',
  'm=audio 49172 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');

/** A ~900-byte INVITE as a proxy chain delivers it. */
export const BENCH_INVITE = Buffer.from(
  [
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/UDP proxy2.example.org:5060;branch=z9hG4bK721e4.1',
    'Via: SIP/2.0/UDP proxy1.example.com:5060;branch=z9hG4bK2d4790.1;received=192.0.2.111',
    'Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101;rport=5060',
    'Max-Forwards: 68',
    'Record-Route: <sip:proxy2.example.org;lr>, <sip:proxy1.example.com;lr>',
    'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sip:bob@biloxi.example.com>',
    'Call-ID: 3848276298220188511@atlanta.example.com',
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@client.atlanta.example.com;transport=udp>',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY',
    'Supported: replaces, timer',
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(SDP)}`,
    '',
    SDP,
  ].join('\r\n'),
  'latin1',
);

/**
 * Messages per second of each function, measured in alternating 100 ms rounds so that both see
 * the same machine load (these machines are shared and noisy); the median round counts.
 */
function rates(fns: Array<() => void>, totalMs: number): number[] {
  for (const fn of fns) {
    const warmEnd = Date.now() + 300;
    while (Date.now() < warmEnd) for (let i = 0; i < 100; i++) fn();
  }
  const samples: number[][] = fns.map(() => []);
  const rounds = Math.max(3, Math.floor(totalMs / (100 * fns.length)));
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, k) => {
      let n = 0;
      const t0 = process.hrtime.bigint();
      const end = Date.now() + 100;
      while (Date.now() < end) {
        for (let i = 0; i < 50; i++) fn();
        n += 50;
      }
      samples[k].push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export default async function (): Promise<void> {
  const bytes = BENCH_INVITE;
  let sink = 0;
  // 1. Parse + serialise (unmodified: serialisation reuses the original bytes).
  const ours = (): void => {
    const m = parseMessage(bytes);
    sink += m.toBuffer().length;
  };
  // 2. The npm `sip` package: parse a string, stringify the object (it parses every header eagerly).
  const npmSip = (): void => {
    const m = sip.parse(bytes.toString('latin1'));
    if (!m) throw new Error('npm sip did not parse the benchmark INVITE');
    sink += sip.stringify(m).length;
  };
  // 3. A fairer comparison: also read every typed header the transaction/dialog layers use, and
  //    serialise after a change (a proxy adding its Via), so nothing is served from caches.
  const oursFull = (): void => {
    const m = parseMessage(bytes);
    sink += m.vias.length + m.cseq.seq + m.callId.length + m.contacts.length;
    sink += (m.from.params.length + m.to.params.length) | 0;
    m.prependHeader('Via', 'SIP/2.0/UDP proxy3.example.net;branch=z9hG4bKbench');
    sink += m.toBuffer().length;
  };
  const [rOurs, rTheirs, rFull] = rates([ours, npmSip, oursFull], 12_000);
  process.stdout.write(
    `parse+serialise INVITE: ${fmt(rOurs)} msg/s; npm sip: ${fmt(rTheirs)} msg/s; ratio ${(rOurs / rTheirs).toFixed(1)}\n`,
  );
  process.stdout.write(
    `parse+typed headers+modify+serialise INVITE: ${fmt(rFull)} msg/s; npm sip: ${fmt(rTheirs)} msg/s; ratio ${(rFull / rTheirs).toFixed(1)}\n`,
  );
  process.stdout.write(`(message ${bytes.length} bytes; checksum ${sink % 1000})\n`);
}
