import { describe, expect, it } from 'vitest';
import {
  createResponse,
  getParam,
  parseMessage,
  SipParseError,
  SipRequestMessage,
  tryParseMessage,
  type SipRequest,
} from '../../../../src/sip/message/index.js';

const INVITE = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds, SIP/2.0/TCP proxy.example.com:5061;branch=z9hG4bKx;received=192.0.2.1',
  'v: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK3;rport',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@example.com>',
  'f: "Alice \\"A\\"" <sip:alice@example.com;transport=tcp>;tag=1928301774',
  'i: a84b4c76e66710@pc33.example.com',
  'CSeq: 314159 INVITE',
  'm: <sip:alice@pc33.example.com>;expires=60, sip:alice@192.0.2.4;q=0.5',
  'Content-Type: application/sdp',
  'l: 4',
  '',
  'v=0\r\nEXTRA',
].join('\r\n');

function req(text: string): SipRequest {
  const m = parseMessage(Buffer.from(text, 'latin1'));
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

describe('parseMessage', () => {
  it('parses start line, headers in order, compact names and typed headers', () => {
    const m = req(INVITE);
    expect(m).toBeInstanceOf(SipRequestMessage);
    expect(m.method).toBe('INVITE');
    expect(m.uri).toBe('sip:bob@example.com');
    expect(m.headers.map((h) => h.name)).toEqual([
      'Via',
      'v',
      'Max-Forwards',
      'To',
      'f',
      'i',
      'CSeq',
      'm',
      'Content-Type',
      'l',
    ]);
    expect(m.body.toString()).toBe('v=0\r');
    expect(m.callId).toBe('a84b4c76e66710@pc33.example.com');
    expect(m.cseq).toEqual({ seq: 314159, method: 'INVITE' });
    expect(m.from.displayName).toBe('Alice "A"');
    expect(m.from.params).toEqual([['tag', '1928301774']]);
    expect(m.from.uri.params).toEqual([['transport', 'tcp']]);
    expect(m.vias.map((v) => [v.transport, v.host, v.port, v.branch])).toEqual([
      ['UDP', 'pc33.example.com', undefined, 'z9hG4bK776asdhds'],
      ['TCP', 'proxy.example.com', 5061, 'z9hG4bKx'],
      ['UDP', '[2001:db8::1]', 5070, 'z9hG4bK3'],
    ]);
    expect(m.via.branch).toBe('z9hG4bK776asdhds');
    expect(m.contacts.map((c) => [c.uri.host, c.params])).toEqual([
      ['pc33.example.com', [['expires', '60']]],
      ['192.0.2.4', [['q', '0.5']]],
    ]);
    expect(m.getHeader('call-id')).toBe(m.callId);
    expect(m.getHeader('Contact')).toBe('<sip:alice@pc33.example.com>;expires=60');
    expect(m.getHeaders('VIA')).toHaveLength(3);
  });

  it('serialises faithfully and sets Content-Length to the body length', () => {
    const m = req(INVITE);
    const out = m.toBuffer().toString('latin1');
    expect(out.endsWith('l: 4\r\n\r\nv=0\r')).toBe(true);
    const again = req(out);
    expect(again.headers).toEqual(m.headers);
    m.body = Buffer.from('hello world');
    expect(req(m.toString()).getHeader('Content-Length')).toBe('11');
  });

  it('keeps the written name on set/add/prepend and invalidates typed caches', () => {
    const m = req(INVITE);
    expect(m.cseq.seq).toBe(314159);
    m.setHeader('CSeq', '2 INVITE');
    expect(m.cseq.seq).toBe(2);
    m.prependHeader('Via', 'SIP/2.0/UDP me.example.org;branch=z9hG4bKtop');
    expect(m.via.host).toBe('me.example.org');
    expect(m.headers[0].name).toBe('Via');
    m.setHeader('Call-ID', 'x@y');
    expect(m.headers.find((h) => h.value === 'x@y')?.name).toBe('i');
    m.removeHeader('Contact');
    expect(m.contacts).toEqual([]);
  });

  it('datagram framing: missing Content-Length is the rest, too large is 400, negative is 400', () => {
    const base =
      'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n';
    expect(parseMessage(Buffer.from(base + '\r\nabc')).body.toString()).toBe('abc');
    for (const cl of ['5', '-1', 'x', '1, 2']) {
      const r = tryParseMessage(Buffer.from(base + `Content-Length: ${cl}\r\n\r\nabc`));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toBeInstanceOf(SipParseError);
        expect(r.error.status).toBe(400);
        expect(r.error.partial?.kind).toBe('request');
      }
    }
    expect(parseMessage(Buffer.from('\r\n\r\n' + base + 'l: 0\r\n\r\n')).kind).toBe('request');
  });

  it('createResponse copies Via, From, To, Call-ID, CSeq and adds a To tag when asked', () => {
    const m = req(INVITE);
    const r = createResponse(m, 180, undefined, { toTag: 'abc' });
    expect(r.toString()).toBe(
      [
        'SIP/2.0 180 Ringing',
        'Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds, SIP/2.0/TCP proxy.example.com:5061;branch=z9hG4bKx;received=192.0.2.1',
        'v: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK3;rport',
        'To: Bob <sip:bob@example.com>;tag=abc',
        'f: "Alice \\"A\\"" <sip:alice@example.com;transport=tcp>;tag=1928301774',
        'i: a84b4c76e66710@pc33.example.com',
        'CSeq: 314159 INVITE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  });

  it('an unmodified message serialises to its original bytes; direct edits of headers are seen', () => {
    const bytes = Buffer.from(INVITE.replace('l: 4', 'l: 5'), 'latin1');
    const m = parseMessage(bytes);
    expect(m.toBuffer().equals(bytes.subarray(0, bytes.length - 'EXTRA'.length))).toBe(true);
    const hs = m.headers;
    hs.push({ name: 'Subject', value: 'hi' });
    hs[0] = { name: 'X-Renamed', value: hs[0].value };
    expect(m.getHeader('subject')).toBe('hi');
    expect(m.getHeaders('Via')).toHaveLength(1);
    expect(m.toString()).toContain('\r\nSubject: hi\r\n');
  });

  it('bare-LF messages are tolerated; leading CRLFs skipped; CRLF-only datagrams dropped', () => {
    const m = parseMessage(
      Buffer.from('\r\nOPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nl: 4\n\nbody\r\n\r\nxx'),
    );
    expect(m.body.toString()).toBe('body');
    expect(m.toString()).toBe('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nl: 4\r\n\r\nbody');
    const r = tryParseMessage(Buffer.from('\r\n\r\n'));
    expect(r.ok === false && r.error.status).toBe(0);
  });

  it('start-line and header-line faults: 400 for requests, drop (0) for responses', () => {
    const cases: Array<[string, number]> = [
      ['OPTIONS sip:a@b\r\n\r\n', 400],
      ['OPTIONS  sip:a@b SIP/2.0\r\n\r\n', 400],
      ['OPT<IONS sip:a@b SIP/2.0\r\n\r\n', 400],
      ['OPTIONS sip:a@b HTTP/1.1\r\n\r\n', 400],
      ['OPTIONS sip:a@b SIP/2.0\r\nno colon here\r\n\r\n', 400],
      ['OPTIONS sip:a@b SIP/2.0\r\n continuation first\r\n\r\n', 400],
      ['OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n', 400],
      ['SIP/2.0 2000 OK\r\n\r\n', 0],
      ['SIP/2.0 099 Low\r\n\r\n', 0],
      ['SIP/3.0 200 OK\r\n\r\n', 0],
      ['SIP/2.0 200 OK\r\nno colon\r\n\r\n', 0],
      ['SIP/2.0 200 OK\r\nCSeq: x\r\n\r\n', 0],
    ];
    for (const [text, status] of cases) {
      const r = tryParseMessage(Buffer.from(text));
      expect(r.ok ? 'parsed' : r.error.status, text).toBe(status);
    }
    const v = parseMessage(Buffer.from('OPTIONS sip:a@b SIP/3.0\r\n\r\n'));
    expect(v.kind === 'request' && v.uri).toBe('sip:a@b');
  });

  it('does not split headers that are not lists; splits lists respecting quotes and <>', () => {
    const m = req(
      [
        'REGISTER sip:example.com SIP/2.0',
        'Authorization: Digest username="bob", realm="atlanta.example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sip:example.com", response="dfe56131d1958046689d83306477ecc"',
        'WWW-Authenticate: Digest realm="a", nonce="b"',
        'Date: Sat, 13 Nov 2010 23:29:00 GMT',
        'Contact: "Doe, John" <sip:j@a.example;x=1,2>;q=0.5, <sip:k@b.example>',
        'Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>',
        'Warning: 399 host "a, b", 370 other "c"',
        '',
        '',
      ].join('\r\n'),
    );
    expect(m.getHeaders('Authorization')).toHaveLength(1);
    expect(m.getHeader('WWW-Authenticate')).toBe('Digest realm="a", nonce="b"');
    expect(m.getHeaders('Date')).toEqual(['Sat, 13 Nov 2010 23:29:00 GMT']);
    expect(m.getHeaders('Contact')).toEqual(['"Doe, John" <sip:j@a.example;x=1,2>;q=0.5', '<sip:k@b.example>']);
    expect(m.contacts.map((c) => c.displayName)).toEqual(['Doe, John', undefined]);
    expect(m.getHeaders('Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(m.getHeaders('Warning')).toEqual(['399 host "a, b"', '370 other "c"']);
  });

  it('removeFirstValue pops the top Via of a combined line; 100 Trying copies Timestamp', () => {
    const m = req(INVITE) as SipRequestMessage;
    expect(m.removeFirstValue('Via')).toBe('SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds');
    expect(m.vias.map((v) => v.branch)).toEqual(['z9hG4bKx', 'z9hG4bK3']);
    m.addHeader('Timestamp', '54');
    const trying = createResponse(m, 100);
    expect(trying.getHeader('Timestamp')).toBe('54');
    expect(getParam(trying.to.params, 'tag')).toBeUndefined();
    const ok = createResponse(m, 200, 'Fine', {
      toTag: true,
      headers: [{ name: 'Contact', value: '<sip:me@192.0.2.9>' }],
      body: 'v=0\r\n',
    });
    expect(ok.reason).toBe('Fine');
    expect(getParam(ok.to.params, 'tag')).toMatch(/^[0-9a-f]{16}$/);
    expect(ok.getHeader('Timestamp')).toBeUndefined();
    expect(ok.toString().endsWith('Contact: <sip:me@192.0.2.9>\r\nContent-Length: 5\r\n\r\nv=0\r\n')).toBe(true);
  });

  it('createResponse copies Record-Route in order into 101-299 responses to dialog-creating requests only (RFC 3261 §12.1.1)', () => {
    const withRr = (text: string): string =>
      text.replace(
        'Max-Forwards: 70',
        'Record-Route: <sip:p2.example.com;lr>\r\nMax-Forwards: 70\r\nRecord-Route: <sip:p1.example.com;lr;ftag=x>, <sip:p0.example.com;lr>',
      );
    const rr = ['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr;ftag=x>', '<sip:p0.example.com;lr>'];
    const invite = req(withRr(INVITE));
    expect(createResponse(invite, 180, undefined, { toTag: 'a' }).getHeaders('Record-Route')).toEqual(rr);
    expect(createResponse(invite, 200, undefined, { toTag: 'a' }).getHeaders('Record-Route')).toEqual(rr);
    expect(createResponse(invite, 100).getHeaders('Record-Route')).toEqual([]);
    expect(createResponse(invite, 486, undefined, { toTag: 'a' }).getHeaders('Record-Route')).toEqual([]);
    const subscribe = req(
      withRr(INVITE).replace('INVITE sip:', 'SUBSCRIBE sip:').replace('314159 INVITE', '314159 SUBSCRIBE'),
    );
    expect(createResponse(subscribe, 202, undefined, { toTag: 'a' }).getHeaders('Record-Route')).toEqual(rr);
    const options = req(
      withRr(INVITE).replace('INVITE sip:', 'OPTIONS sip:').replace('314159 INVITE', '314159 OPTIONS'),
    );
    expect(createResponse(options, 200).getHeaders('Record-Route')).toEqual([]);
    // a re-INVITE (To tag present) keeps the dialog's route set: nothing copied
    const reinvite = req(
      withRr(INVITE).replace('To: Bob <sip:bob@example.com>', 'To: Bob <sip:bob@example.com>;tag=b'),
    );
    expect(createResponse(reinvite, 200).getHeaders('Record-Route')).toEqual([]);
  });

  it('a modified message keeps the bytes of its untouched lines (folding, spacing, compact names)', () => {
    const text =
      'OPTIONS sip:a@b SIP/2.0\r\nv:  SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject : folded\r\n  value\r\ni:x\r\nl: 3\r\n\r\nabc';
    const m = parseMessage(Buffer.from(text)) as SipRequestMessage;
    m.prependHeader('Via', 'SIP/2.0/TCP p;branch=z9hG4bK2');
    m.setHeader('Call-ID', 'y');
    m.body = Buffer.from('abcd');
    expect(m.toString()).toBe(
      'OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/TCP p;branch=z9hG4bK2\r\nv:  SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject : folded\r\n  value\r\ni: y\r\nl: 4\r\n\r\nabcd',
    );
    m.removeHeader('Subject');
    m.method = 'INFO';
    expect(m.toString()).toBe(
      'INFO sip:a@b SIP/2.0\r\nv: SIP/2.0/TCP p;branch=z9hG4bK2\r\nv:  SIP/2.0/UDP h;branch=z9hG4bK1\r\ni: y\r\nl: 4\r\n\r\nabcd',
    );
    m.headers[1].value = 'SIP/2.0/UDP changed;branch=z9hG4bK3';
    expect(m.toString()).toContain('\r\nv: SIP/2.0/UDP changed;branch=z9hG4bK3\r\ni: y\r\n');
  });

  it('lines reordered through `headers` are written in the new order, those still in order copied', () => {
    const text =
      'OPTIONS sip:a@b SIP/2.0\r\nv:  SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject : folded\r\n  value\r\ni:x\r\nl: 0\r\n\r\n';
    const m = parseMessage(Buffer.from(text));
    m.headers.reverse();
    const out = m.toString();
    expect(out).toBe(
      'OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\ni:x\r\nSubject: folded value\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n',
    );
    expect(parseMessage(Buffer.from(out)).headerFields).toEqual(m.headerFields);
  });
});
