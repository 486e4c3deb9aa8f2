import { describe, expect, it } from 'vitest';
import {
  formatNameAddr,
  formatUri,
  formatVia,
  getParam,
  parseNameAddr,
  parseUri,
  parseVia,
  SipParseError,
  uriEquals,
} from '../../../../src/sip/message/index.js';

function status(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof SipParseError ? err.status : -1;
  }
}

describe('parseUri (RFC 3261 §19.1)', () => {
  it('reads every part of a SIP URI', () => {
    const u = parseUri(
      'sips:alice:secret@Atlanta.example.com:5061;transport=tcp;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent',
    );
    expect(u).toEqual({
      scheme: 'sips',
      user: 'alice',
      password: 'secret',
      host: 'Atlanta.example.com',
      port: 5061,
      params: [
        ['transport', 'tcp'],
        ['lr', null],
        ['maddr', '239.255.255.1'],
      ],
      headers: [
        ['subject', 'project%20x'],
        ['priority', 'urgent'],
      ],
      raw: 'sips:alice:secret@Atlanta.example.com:5061;transport=tcp;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent',
    });
    expect(formatUri(u)).toBe(u.raw);
  });

  it('IPv6 references need brackets (RFC 5118 §4.2); ports outside them', () => {
    expect(parseUri('sip:[2001:db8::10]:5070').host).toBe('[2001:db8::10]');
    expect(parseUri('sip:[2001:db8::10]:5070').port).toBe(5070);
    expect(status(() => parseUri('sip:2001:db8::10'))).toBe(400);
    expect(status(() => parseUri('sip:[2001:db8::10'))).toBe(400);
  });

  it('rejects what the grammar forbids', () => {
    for (const bad of [
      '',
      'sip:',
      'sip:@host',
      'sip:user@',
      'sip:host:99999',
      'sip:host:',
      'sip:host;;lr',
      'sip:host;=x',
      'sip:a b@host',
      '<sip:host>',
      '1sip:host',
      'nocolon',
      'sip:host?',
      'sip:ho$t',
    ]) {
      expect(
        status(() => parseUri(bad)),
        bad,
      ).toBe(400);
    }
  });

  it('tel and other absolute URIs', () => {
    const t = parseUri('tel:+1-201-555-0123;phone-context=example.com');
    expect([t.scheme, t.user, t.params]).toEqual(['tel', '+1-201-555-0123', [['phone-context', 'example.com']]]);
    expect(formatUri(t)).toBe('tel:+1-201-555-0123;phone-context=example.com');
    const o = parseUri('urn:service:sos');
    expect([o.scheme, o.opaque, o.host]).toEqual(['urn', 'service:sos', '']);
    expect(parseUri('soap.beep://192.0.2.103:3002').scheme).toBe('soap.beep');
  });

  it('uriEquals follows RFC 3261 §19.1.4', () => {
    const eq = (a: string, b: string) => uriEquals(parseUri(a), parseUri(b));
    expect(eq('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp')).toBe(true);
    expect(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5')).toBe(true);
    expect(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;newparam=5')).toBe(true);
    expect(
      eq(
        'sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
        'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com',
      ),
    ).toBe(true);
    expect(eq('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP')).toBe(false);
    expect(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060')).toBe(false);
    expect(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp')).toBe(false);
    expect(eq('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting')).toBe(false);
    expect(eq('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4')).toBe(false);
    expect(eq('sip:a@b', 'sips:a@b')).toBe(false);
    expect(eq('tel:+1-201-555-0123', 'tel:+12015550123')).toBe(true);
  });
});

describe('parseNameAddr (RFC 3261 §20.10)', () => {
  it('quoted display names with quoted-pairs, header params after <>', () => {
    const na = parseNameAddr('"Bob \\"B\\" \\\\ Smith" <sip:bob@example.com;transport=tcp>;tag=a6c85cf;expires=60');
    expect(na.displayName).toBe('Bob "B" \\ Smith');
    expect(na.uri.params).toEqual([['transport', 'tcp']]);
    expect(na.params).toEqual([
      ['tag', 'a6c85cf'],
      ['expires', '60'],
    ]);
    expect(parseNameAddr(formatNameAddr(na))).toEqual({ ...na, uri: { ...na.uri } });
  });

  it('without <> every ;param belongs to the header; ? and , need <>', () => {
    const na = parseNameAddr('sip:alice@example.com;tag=1;transport=tcp');
    expect(na.uri.params).toEqual([]);
    expect(getParam(na.params, 'TRANSPORT')).toBe('tcp');
    expect(status(() => parseNameAddr('sip:user@example.com?Route=%3Csip:x%3E'))).toBe(400);
  });

  it('token display names, LWS optional before <', () => {
    expect(parseNameAddr('Alice Smith<sip:a@b>').displayName).toBe('Alice Smith');
    expect(status(() => parseNameAddr('Bell, Alexander <sip:a@b>'))).toBe(400);
    expect(status(() => parseNameAddr('"unclosed <sip:a@b>'))).toBe(400);
    expect(status(() => parseNameAddr('<sip:a@b'))).toBe(400);
    expect(status(() => parseNameAddr('<sip:a@b>;;'))).toBe(400);
    expect(status(() => parseNameAddr('<sip:a@b> junk'))).toBe(400);
  });

  it('quoted parameter values stay quoted (+sip.instance)', () => {
    const na = parseNameAddr(
      '<sip:bob@192.0.2.2;transport=tcp>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"',
    );
    expect(getParam(na.params, '+sip.instance')).toBe('"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"');
  });
});

describe('parseVia (RFC 3261 §20.42)', () => {
  it('reads protocol, transport, IPv6 host, port and params', () => {
    const v = parseVia(
      'SIP / 2.0 / tls [2001:db8::9:1]:5061 ; branch = z9hG4bK77;received=[2001:db8::9:255];rport=5061;maddr=224.2.0.1;ttl=16',
    );
    expect(v).toEqual({
      protocol: 'SIP/2.0',
      transport: 'TLS',
      host: '[2001:db8::9:1]',
      port: 5061,
      branch: 'z9hG4bK77',
      params: [
        ['branch', 'z9hG4bK77'],
        ['received', '[2001:db8::9:255]'],
        ['rport', '5061'],
        ['maddr', '224.2.0.1'],
        ['ttl', '16'],
      ],
    });
    expect(formatVia(v)).toBe(
      'SIP/2.0/TLS [2001:db8::9:1]:5061;branch=z9hG4bK77;received=[2001:db8::9:255];rport=5061;maddr=224.2.0.1;ttl=16',
    );
    expect(parseVia('SIP/2.0/UDP 192.0.2.1;rport').params).toEqual([['rport', null]]);
  });

  it('rejects broken values', () => {
    for (const bad of [
      'SIP/2.0 host',
      'SIP/2.0/UDP',
      'SIP/2.0/UDP ;branch=x',
      'SIP/2.0/UDP host:port',
      'SIP/2.0/UDP host;;',
      'SIP/2.0/UDP host;branch=',
      'SIP/2.0/UDP [::1',
    ]) {
      expect(
        status(() => parseVia(bad)),
        bad,
      ).toBe(400);
    }
  });

  it('reads the usual `SIP/2.0/UDP ` head and every other spelling alike', () => {
    const cases: Array<[string, string, string]> = [
      ['SIP/2.0/UDP h;branch=z9hG4bKa', 'SIP/2.0', 'UDP'],
      ['SIP/2.0/TCP h;branch=z9hG4bKa', 'SIP/2.0', 'TCP'],
      ['SIP/2.0/TLS\th;branch=z9hG4bKa', 'SIP/2.0', 'TLS'],
      ['SIP/2.0/udp h;branch=z9hG4bKa', 'SIP/2.0', 'UDP'],
      [' SIP/2.0/UDP h;branch=z9hG4bKa', 'SIP/2.0', 'UDP'],
      ['SIP/2.0/UDPX h;branch=z9hG4bKa', 'SIP/2.0', 'UDPX'],
      ['SIP/2.0/WSS h;branch=z9hG4bKa', 'SIP/2.0', 'WSS'],
      ['SIP/3.0/UDP h;branch=z9hG4bKa', 'SIP/3.0', 'UDP'],
    ];
    for (const [text, protocol, transport] of cases) {
      expect(parseVia(text), text).toEqual({
        protocol,
        transport,
        host: 'h',
        port: undefined,
        params: [['branch', 'z9hG4bKa']],
        branch: 'z9hG4bKa',
      });
    }
    expect(status(() => parseVia('SIP/2.0/UDPh'))).toBe(400);
  });

  it('reads ports of one to five digits up to 65535', () => {
    expect(parseVia('SIP/2.0/UDP h:0').port).toBe(0);
    expect(parseVia('SIP/2.0/UDP h:00080').port).toBe(80);
    expect(parseVia('SIP/2.0/UDP h : 5060;rport').port).toBe(5060);
    expect(parseVia('SIP/2.0/UDP h:65535').port).toBe(65535);
    for (const bad of ['SIP/2.0/UDP h:65536', 'SIP/2.0/UDP h:123456', 'SIP/2.0/UDP h:', 'SIP/2.0/UDP h:5060x']) {
      expect(
        status(() => parseVia(bad)),
        bad,
      ).toBe(400);
    }
  });
});

describe('getParam (RFC 3261 §7.3.1: parameter names are case-insensitive)', () => {
  it('gives the first parameter of that name in any case', () => {
    const params: Array<[string, string | null]> = [
      ['lr', null],
      ['Branch', 'a'],
      ['branch', 'b'],
      ['rport', '5060'],
    ];
    expect(getParam(params, 'branch')).toBe('a');
    expect(getParam(params, 'BRANCH')).toBe('a');
    expect(getParam(params, 'lr')).toBeNull();
    expect(getParam(params, 'RPort')).toBe('5060');
    expect(getParam(params, 'received')).toBeUndefined();
    expect(getParam(params, 'branc')).toBeUndefined();
  });
});

describe('lenient parameter values', () => {
  it('accepts an unquoted <urn:…> +sip.instance as some phones send it', () => {
    const na = parseNameAddr(
      '<sip:bob@192.0.2.2>;+sip.instance=<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>;reg-id=1',
    );
    expect(na.params).toEqual([
      ['+sip.instance', '<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>'],
      ['reg-id', '1'],
    ]);
  });
});
