import { describe, expect, it } from 'vitest';
import { parseUri } from '../../../src/sip/message/index.js';
import { contactKey } from '../../../src/registrar/contact-address.js';

const same = (a: string, b: string): boolean => contactKey(parseUri(a)) === contactKey(parseUri(b));

describe('contactKey (RFC 3261 §19.1.4 URI comparison, for bindings)', () => {
  it('keeps the key of a plain contact as stored bindings have it', () => {
    expect(contactKey(parseUri('sip:8888@127.0.0.1:5062'))).toBe('sip:8888@127.0.0.1:5062;');
    expect(contactKey(parseUri('sip:8888@Example.COM;transport=TCP;ob'))).toBe('sip:8888@example.com:;tcp');
  });

  it('user part case-sensitive, host case-insensitive, an explicit default port differs from none', () => {
    expect(same('sip:alice@Host.example', 'sip:alice@host.EXAMPLE')).toBe(true);
    expect(same('sip:Alice@host', 'sip:alice@host')).toBe(false);
    expect(same('sip:alice@host', 'sip:alice@host:5060')).toBe(false);
    expect(same('sip:alice@host', 'sips:alice@host')).toBe(false);
  });

  it('transport, user, ttl, method and maddr: absent from both or equal, in any order and case', () => {
    expect(same('sip:a@h;user=phone', 'sip:a@h')).toBe(false);
    expect(same('sip:a@h;user', 'sip:a@h')).toBe(false);
    expect(same('sip:a@h;maddr=239.255.255.1;ttl=15', 'sip:a@h;TTL=15;MADDR=239.255.255.1')).toBe(true);
    expect(same('sip:a@h;maddr=239.255.255.1', 'sip:a@h;maddr=239.255.255.2')).toBe(false);
    expect(same('sip:a@h;method=REGISTER', 'sip:a@h;method=register')).toBe(true);
    expect(same('sip:a@h;method=INVITE', 'sip:a@h')).toBe(false);
    expect(same('sip:a@h;transport=udp', 'sip:a@h;transport=tcp')).toBe(false);
  });

  it('ignores other parameters', () => {
    expect(same('sip:a@h;ob;line=x1', 'sip:a@h')).toBe(true);
  });
});
