import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../../../src/sip/message/index.js';
import type { SipRequest } from '../../../../src/sip/message/types.js';
import { statelessToTag } from '../../../../src/sip/stack/stateless-tag.js';

const req = (via: string, callId = 'c1@h', cseq = '1 REGISTER', from = '<sip:8888@h>;tag=f1'): SipRequest =>
  parseMessage(
    Buffer.from(
      `REGISTER sip:h SIP/2.0\r\nVia: ${via}\r\nFrom: ${from}\r\nTo: <sip:8888@h>\r\nCall-ID: ${callId}\r\nCSeq: ${cseq}\r\nContent-Length: 0\r\n\r\n`,
    ),
  ) as SipRequest;

describe('statelessToTag (RFC 3261 §8.2.7: a retransmission gets the same To tag)', () => {
  it('is 16 hex digits, the same for a retransmission, different when the branch, Call-ID or CSeq differ', () => {
    const via = 'SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-1;rport';
    const tag = statelessToTag(req(via));
    expect(tag).toMatch(/^[0-9a-f]{16}$/);
    expect(statelessToTag(req(via))).toBe(tag);
    const others = [
      statelessToTag(req('SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-2;rport')),
      statelessToTag(req(via, 'c2@h')),
      statelessToTag(req(via, 'c1@h', '2 REGISTER')),
    ];
    expect(new Set([tag, ...others]).size).toBe(4);
  });

  it('without a branch (RFC 2543) the whole top Via and the From are hashed', () => {
    const a = statelessToTag(req('SIP/2.0/UDP 127.0.0.1:5099'));
    expect(statelessToTag(req('SIP/2.0/UDP 127.0.0.1:5099'))).toBe(a);
    expect(statelessToTag(req('SIP/2.0/UDP 127.0.0.1:5098'))).not.toBe(a);
    expect(statelessToTag(req('SIP/2.0/UDP 127.0.0.1:5099', 'c1@h', '1 REGISTER', '<sip:8888@h>;tag=f2'))).not.toBe(a);
  });
});
