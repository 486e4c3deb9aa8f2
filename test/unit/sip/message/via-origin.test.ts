import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../../../src/sip/message/index.js';
import type { SipRequest, TransportAddress } from '../../../../src/sip/message/types.js';
import { viaOrigin } from '../../../../src/sip/message/via-origin.js';

const PROXY: TransportAddress = { transport: 'udp', host: '127.0.0.1', port: 5060 };
const isProxy = (host: string): boolean => host === '127.0.0.1';

function invite(vias: string[]): SipRequest {
  const text =
    'INVITE sip:4000@127.0.0.1 SIP/2.0\r\n' +
    vias.map((v) => `Via: ${v}\r\n`).join('') +
    'Max-Forwards: 69\r\nFrom: <sip:2000@127.0.0.1>;tag=a\r\nTo: <sip:4000@127.0.0.1>\r\n' +
    'Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
  const m = parseMessage(Buffer.from(text, 'latin1'));
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

const PROXY_VIA = 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy';

describe('viaOrigin (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  it('a request a trusted proxy relayed comes from its received/rport', () => {
    const req = invite([PROXY_VIA, 'SIP/2.0/TCP 127.0.0.9:5062;branch=z9hG4bKa;received=127.0.0.5;rport=40001']);
    expect(viaOrigin(req, PROXY, isProxy)).toEqual({ transport: 'tcp', host: '127.0.0.5', port: 40001 });
  });

  it('without received/rport, the sent-by host and port (5060 when none)', () => {
    expect(viaOrigin(invite([PROXY_VIA, 'SIP/2.0/UDP 127.0.0.6:5070;branch=z9hG4bKa']), PROXY, isProxy)).toEqual({
      transport: 'udp',
      host: '127.0.0.6',
      port: 5070,
    });
    expect(viaOrigin(invite([PROXY_VIA, 'SIP/2.0/UDP [::1];branch=z9hG4bKa;rport']), PROXY, isProxy)).toEqual({
      transport: 'udp',
      host: '::1',
      port: 5060,
    });
  });

  it('from anyone else, or with a single Via, the transport source', () => {
    const two = invite([PROXY_VIA, 'SIP/2.0/UDP 127.0.0.5:5062;branch=z9hG4bKa;received=127.0.0.9']);
    const other: TransportAddress = { transport: 'udp', host: '127.0.0.7', port: 5062 };
    expect(viaOrigin(two, other, isProxy)).toBe(other);
    expect(viaOrigin(two, PROXY, undefined)).toBe(PROXY);
    expect(viaOrigin(invite([PROXY_VIA]), PROXY, isProxy)).toBe(PROXY);
  });
});
