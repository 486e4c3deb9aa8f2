/**
 * RFC 5118 IPv6 torture messages (../shared/testcorpus/rfc5118). The archive copies are LF-only:
 * as INDEX.md §2 says, LF becomes CRLF and a final CRLF closes an unterminated header section.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../../helpers/paths.js';
import { parseMessage, type SipRequest } from '../../../../src/sip/message/index.js';
import { shape, verdictOf, type Verdict } from './corpus-helpers.js';

/** LF → CRLF, plus the empty line where the archive lacks it (INDEX.md §2). */
function toWire(lf: Buffer): Buffer {
  let text = lf.toString('latin1').replace(/\r?\n/g, '\r\n');
  if (!text.includes('\r\n\r\n')) text += '\r\n';
  return Buffer.from(text, 'latin1');
}

const ARCHIVE: Array<[file: string, verdict: Verdict]> = [
  ['ipv6-good', 'ok'], // 4.1
  ['ipv6-bad', 400], // 4.2 IPv6 Request-URI host without brackets
  ['port-ambiguous', 'ok'], // 4.3
  ['port-unambiguous', 'ok'], // 4.4
  ['via-received-param-with-delim', 'ok'], // 4.5 (accepted, robustness)
  ['via-received-param-no-delim', 'ok'], // 4.5
  // 4.6: the RFC's own Content-Length (268) exceeds its body (242 LF / 251 CRLF bytes), so over
  // UDP this exact datagram is a framing error (RFC 3261 §18.3). With a right length it is valid (below).
  ['ipv6-in-sdp', 400],
  ['mult-ip-in-header', 'ok'], // 4.7
  ['mult-ip-in-sdp', 'ok'], // 4.8
  ['ipv4-mapped-ipv6', 'ok'], // 4.9
  ['ipv6-bug-abnf-3-colons', 'ok'], // 4.10 tolerated: host kept as written
  ['ipv6-correct-abnf-2-colons', 'ok'], // 4.10
];

describe('RFC 5118 IPv6 torture messages', () => {
  it('covers every file of both copies', () => {
    const names = ARCHIVE.map(([f]) => f).sort();
    expect(readdirSync(join(corpusDir, 'rfc5118/archive')).sort()).toEqual(names);
    expect(readdirSync(join(corpusDir, 'rfc5118/ersip-crlf')).sort()).toEqual(names);
  });

  it.each(ARCHIVE)('archive %s → %s', (file, expected) => {
    const { verdict, message } = verdictOf(toWire(readFileSync(join(corpusDir, 'rfc5118/archive', file))));
    expect(verdict).toBe(expected);
    if (message && verdict === 'ok') expect(shape(parseMessage(message.toBuffer()))).toEqual(shape(message));
  });

  it.each(ARCHIVE)('ersip-crlf %s → %s (ipv6-in-sdp valid there: ersip fixed its length)', (file, expected) => {
    const { verdict } = verdictOf(readFileSync(join(corpusDir, 'rfc5118/ersip-crlf', file)));
    expect(verdict).toBe(file === 'ipv6-in-sdp' ? 'ok' : expected);
  });

  it('ipv6-in-sdp is valid once its Content-Length matches the body', () => {
    const wire = toWire(readFileSync(join(corpusDir, 'rfc5118/archive/ipv6-in-sdp'))).toString('latin1');
    const cut = wire.indexOf('\r\n\r\n') + 4;
    const fixed = wire.replace('Content-Length: 268', `Content-Length: ${wire.length - cut}`);
    expect(verdictOf(Buffer.from(fixed, 'latin1')).verdict).toBe('ok');
  });

  it('hosts, ports and received values are read as RFC 5118 means them', () => {
    const read = (f: string) => parseMessage(toWire(readFileSync(join(corpusDir, 'rfc5118/archive', f)))) as SipRequest;
    const good = read('ipv6-good');
    expect([good.requestUri.host, good.requestUri.port]).toEqual(['[2001:db8::10]', undefined]);
    expect(good.via.host).toBe('[2001:db8::9:1]');
    expect(good.contacts[0].uri.host).toBe('[2001:db8::1]');
    const amb = read('port-ambiguous').requestUri;
    expect([amb.host, amb.port]).toEqual(['[2001:db8::10:5070]', undefined]);
    const unamb = read('port-unambiguous').requestUri;
    expect([unamb.host, unamb.port]).toEqual(['[2001:db8::10]', 5070]);
    expect(read('via-received-param-with-delim').via.params).toContainEqual(['received', '[2001:db8::9:255]']);
    expect(read('via-received-param-no-delim').via.params).toContainEqual(['received', '2001:db8::9:255']);
    const mult = read('mult-ip-in-header').vias;
    expect(mult.map((v) => [v.host, v.port])).toEqual([
      ['[2001:db8::9:1]', 6050],
      ['192.0.2.1', undefined],
      ['[2001:db8::9:255]', undefined],
    ]);
    expect(mult[2].params).toContainEqual(['received', '192.0.2.200']);
    expect(read('ipv4-mapped-ipv6').vias.map((v) => [v.host, v.port])).toEqual([
      ['[::ffff:192.0.2.10]', 19823],
      ['[::ffff:192.0.2.2]', undefined],
    ]);
    expect(read('ipv6-bug-abnf-3-colons').requestUri.host).toBe('[2001:db8:::192.0.2.1]');
  });
});
