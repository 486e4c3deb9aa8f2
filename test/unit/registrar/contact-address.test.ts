import { describe, expect, it } from 'vitest';
import { parseUri } from '../../../src/sip/message/index.js';
import { contactKey } from '../../../src/registrar/contact-address.js';

describe('contactKey (RFC 3261 §19.1.4 URI comparison, for bindings)', () => {
  it('keeps the key of a plain contact as stored bindings have it', () => {
    expect(contactKey(parseUri('sip:8888@127.0.0.1:5062'))).toBe('sip:8888@127.0.0.1:5062;');
    expect(contactKey(parseUri('sip:8888@Example.COM;transport=TCP;ob'))).toBe('sip:8888@example.com:;tcp');
  });

  // [a, b, same binding?]
  const cases: Array<[string, string, boolean]> = [
    // user part case-sensitive, host not; an explicit default port is not the same as none
    ['sip:alice@Host.example', 'sip:alice@host.EXAMPLE', true],
    ['sip:Alice@host', 'sip:alice@host', false],
    ['sip:alice@host', 'sip:alice@host:5060', false],
    ['sip:alice@host', 'sips:alice@host', false],
    // transport, user, ttl, method, maddr: absent from both or equal, in any order and case
    ['sip:a@h;user=phone', 'sip:a@h', false],
    ['sip:a@h;user', 'sip:a@h', false],
    ['sip:a@h;maddr=239.255.255.1;ttl=15', 'sip:a@h;TTL=15;MADDR=239.255.255.1', true],
    ['sip:a@h;maddr=239.255.255.1', 'sip:a@h;maddr=239.255.255.2', false],
    ['sip:a@h;method=REGISTER', 'sip:a@h;method=register', true],
    ['sip:a@h;method=INVITE', 'sip:a@h', false],
    ['sip:a@h;transport=udp', 'sip:a@h;transport=tcp', false],
    ['sip:a@h;transport=udp', 'sip:a@h', false],
    // other parameters are ignored
    ['sip:a@h;ob;line=x1', 'sip:a@h', true],
  ];
  it.each(cases)('%s and %s: same binding %s', (a, b, same) => {
    expect(contactKey(parseUri(a)) === contactKey(parseUri(b))).toBe(same);
  });
});
