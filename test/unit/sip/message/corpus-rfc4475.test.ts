/**
 * RFC 4475 torture messages, used as they are (../shared/testcorpus/rfc4475), each with the
 * verdict this server gives (INDEX.md §1; where the RFC allows a choice the choice is noted).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../../helpers/paths.js';
import {
  checkRequest,
  getParam,
  parseMessage,
  percentDecode,
  uriEquals,
  type SipRequestMessage,
  type SipRequest,
} from '../../../../src/sip/message/index.js';
import { shape, UAS_CAPS, verdictOf, type Verdict } from './corpus-helpers.js';

const dir = join(corpusDir, 'rfc4475/archive');

/** file → verdict (RFC 4475 section in the comment). */
const TABLE: Array<[file: string, verdict: Verdict, note?: string]> = [
  ['wsinv.dat', 'ok'], // 3.1.1.1
  ['intmeth.dat', 501], // 3.1.1.2 valid; unknown method at an endpoint → 501 + Allow
  ['esc01.dat', 'ok'], // 3.1.1.3
  ['escnull.dat', 'ok'], // 3.1.1.4
  ['esc02.dat', 501], // 3.1.1.5 RE%47IST%45R is an unknown method
  ['lwsdisp.dat', 'ok'], // 3.1.1.6
  ['longreq.dat', 'ok'], // 3.1.1.7
  ['dblreq.dat', 'ok'], // 3.1.1.8 trailing INVITE-like bytes discarded
  ['semiuri.dat', 'ok'], // 3.1.1.9
  ['transports.dat', 'ok'], // 3.1.1.10
  ['mpart01.dat', 'ok'], // 3.1.1.11
  ['unreason.dat', 'ok'], // 3.1.1.12 (response)
  ['noreason.dat', 'ok'], // 3.1.1.13 (response)
  ['badinv01.dat', 400], // 3.1.2.1
  ['clerr.dat', 400], // 3.1.2.2 (UDP)
  ['ncl.dat', 400], // 3.1.2.3
  ['scalar02.dat', 400], // 3.1.2.4 CSeq > 2^32-1
  ['scalarlg.dat', 'drop'], // 3.1.2.5 (response)
  ['quotbal.dat', 400], // 3.1.2.6
  ['ltgtruri.dat', 400], // 3.1.2.7
  ['lwsruri.dat', 400], // 3.1.2.8
  ['lwsstart.dat', 400], // 3.1.2.9 may reject: we reject (strict request line)
  ['trws.dat', 400], // 3.1.2.10 may reject: we reject
  ['escruri.dat', 400], // 3.1.2.11 400 acceptable: we reject headers in the Request-URI
  ['baddate.dat', 'ok'], // 3.1.2.12 may reject: Date is not interpreted, so ignored
  ['regbadct.dat', 400], // 3.1.2.13
  ['badaspec.dat', 400], // 3.1.2.14 400 reasonable: spaces inside <> rejected
  ['baddn.dat', 400], // 3.1.2.15 (archive copy without the final empty line: read to end of datagram)
  ['badvers.dat', 505], // 3.1.2.16
  ['mismatch01.dat', 400], // 3.1.2.17
  ['mismatch02.dat', 501], // 3.1.2.18 501 preferred
  ['bigcode.dat', 'drop'], // 3.1.2.19 (response)
  ['badbranch.dat', 'ok'], // 3.2.1 parse OK; we process (branch "z9hG4bK" is still a unique token)
  ['insuf.dat', 400], // 3.3.1
  ['unkscm.dat', 416], // 3.3.2
  ['novelsc.dat', 416], // 3.3.3
  ['unksm2.dat', 'ok'], // 3.3.4 valid syntax; the 400 is the registrar's (To/From not sip:), not this layer's
  ['bext01.dat', 420], // 3.3.5
  ['invut.dat', 'ok'], // 3.3.6 valid; 415 only with caps.accept (tested below)
  ['regaut01.dat', 'ok'], // 3.3.7 valid; authentication is the registrar's
  ['multi01.dat', 400], // 3.3.8
  ['mcl01.dat', 400], // 3.3.9
  ['bcast.dat', 'ok'], // 3.3.10 valid syntax (response)
  ['zeromf.dat', 'ok'], // 3.3.11 endpoint processes it
  ['cparam01.dat', 'ok'], // 3.3.12
  ['cparam02.dat', 'ok'], // 3.3.13
  ['regescrt.dat', 'ok'], // 3.3.14
  ['sdp01.dat', 'ok'], // 3.3.15 valid syntax; 406 is the handler's
  ['inv2543.dat', 'ok'], // 3.4.1
  ['test.dat', 400], // no RFC section: request line without SIP-Version
];

function load(name: string): Buffer {
  return readFileSync(join(dir, name));
}

describe('RFC 4475 torture messages', () => {
  it('covers every file of the archive', async () => {
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).sort()).toEqual(TABLE.map(([f]) => f).sort());
  });

  it.each(TABLE)('%s → %s', (file, expected) => {
    const { verdict, message } = verdictOf(load(file));
    expect(verdict).toBe(expected);
    if (verdict === 'ok' && message) {
      // What parses serialises back faithfully (re-parse equal).
      const again = parseMessage(message.toBuffer());
      expect(shape(again)).toEqual(shape(message));
    }
  });

  it('wsinv: folding, odd spacing and compact names are understood', () => {
    const m = parseMessage(load('wsinv.dat')) as SipRequest;
    expect(m.to.params).toEqual([['tag', '1918181833n']]);
    expect(m.from.displayName).toBe('J Rosenberg \\"');
    expect(m.cseq).toEqual({ seq: 9, method: 'INVITE' });
    expect((m as SipRequestMessage).maxForwards).toBe(68);
    expect(m.vias.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(m.getHeader('Subject')).toBe('');
    expect(m.getHeader('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(m.contacts[0].displayName).toBe('Quoted string ""');
    expect(m.contacts[0].params).toEqual([
      ['newparam', 'newvalue'],
      ['secondparam', null],
      ['q', '0.33'],
    ]);
    expect(m.body.length).toBe(150);
  });

  it('intmeth: 501 carries Allow; the odd Request-URI parses with its password', () => {
    const m = parseMessage(load('intmeth.dat')) as SipRequest;
    const v = checkRequest(m, UAS_CAPS);
    expect(v?.headers).toEqual([{ name: 'Allow', value: UAS_CAPS.methods.join(', ') }]);
    expect(m.requestUri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(m.requestUri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(m.to.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    // the message is valid UTF-8 and serialises byte for byte
    expect(m.toBuffer().equals(load('intmeth.dat'))).toBe(true);
  });

  it('esc01: escaped and unescaped forms compare equal', () => {
    const m = parseMessage(load('esc01.dat')) as SipRequest;
    expect(percentDecode(m.requestUri.user ?? '')).toBe('sips:user@example.com');
    expect(uriEquals(m.to.uri, { ...m.to.uri, user: percentDecode(m.to.uri.user ?? '') })).toBe(true);
  });

  it('escnull: %00 does not cut the user, two distinct contacts', () => {
    const m = parseMessage(load('escnull.dat')) as SipRequest;
    expect(percentDecode(m.to.uri.user ?? '')).toBe('null-\x00-null');
    const [a, b] = m.contacts;
    expect([percentDecode(a.uri.user ?? ''), percentDecode(b.uri.user ?? '')]).toEqual(['\x00', '\x00\x00']);
    expect(uriEquals(a.uri, b.uri)).toBe(false);
  });

  it('esc02: C%6Fntact is an unknown header, so two Contact values', () => {
    const m = parseMessage(load('esc02.dat')) as SipRequest;
    expect(m.method).toBe('RE%47IST%45R');
    expect(m.contacts).toHaveLength(2);
    expect(m.hasHeader('C%6Fntact')).toBe(true);
  });

  it('dblreq: the body is Content-Length bytes, trailing bytes dropped', () => {
    const m = parseMessage(load('dblreq.dat'));
    expect(m.body.length).toBe(0);
    expect(m.toBuffer().toString('latin1')).not.toContain('INVITE');
  });

  it('semiuri: ; in the user part stays in the user', () => {
    const m = parseMessage(load('semiuri.dat')) as SipRequest;
    expect(m.requestUri.user).toBe('user;par=u%40example.net');
    expect(m.requestUri.host).toBe('example.com');
  });

  it('mpart01: binary multipart body framed by Content-Length', () => {
    const m = parseMessage(load('mpart01.dat'));
    expect(m.body.length).toBe(553);
    expect(m.body.includes(0)).toBe(true);
  });

  it('unreason / noreason: reason phrases kept, UTF-8 included', () => {
    const u = parseMessage(load('unreason.dat'));
    expect(u.kind === 'response' && u.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    const n = parseMessage(load('noreason.dat'));
    expect(n.kind === 'response' && [n.status, n.reason]).toEqual([100, '']);
  });

  it('bext01: 420 lists the unsupported Require tags', () => {
    const m = parseMessage(load('bext01.dat')) as SipRequest;
    expect(checkRequest(m, UAS_CAPS)?.headers).toEqual([
      { name: 'Unsupported', value: 'nothingSupportsThis, nothingSupportsThisEither' },
    ]);
    expect(checkRequest(m, { ...UAS_CAPS, proxyRequire: true })?.headers).toEqual([
      {
        name: 'Unsupported',
        value: 'nothingSupportsThis, nothingSupportsThisEither, noProxiesSupportThis, norDoAnyProxiesSupportThis',
      },
    ]);
  });

  it('invut: an endpoint accepting only SDP answers 415 with Accept', () => {
    const m = parseMessage(load('invut.dat')) as SipRequest;
    const v = checkRequest(m, { ...UAS_CAPS, accept: ['application/sdp'] });
    expect([v?.status, v?.headers]).toEqual([415, [{ name: 'Accept', value: 'application/sdp' }]]);
  });

  it('cparam01 / cparam02: header param vs URI param', () => {
    const c1 = (parseMessage(load('cparam01.dat')) as SipRequest).contacts[0];
    expect(getParam(c1.params, 'unknownparam')).toBeNull();
    expect(getParam(c1.uri.params, 'unknownparam')).toBeUndefined();
    const c2 = (parseMessage(load('cparam02.dat')) as SipRequest).contacts[0];
    expect(getParam(c2.uri.params, 'unknownparam')).toBeNull();
    expect(getParam(c2.params, 'unknownparam')).toBeUndefined();
  });

  it('regescrt: the escaped Route header stays on the Contact URI', () => {
    const c = (parseMessage(load('regescrt.dat')) as SipRequest).contacts[0];
    expect(c.uri.headers).toEqual([['Route', '%3Csip:sip.example.com%3E']]);
  });

  it('transports: unknown transports parse', () => {
    const m = parseMessage(load('transports.dat'));
    expect(m.vias.map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  });

  it('inv2543: no Content-Length → body is the rest of the datagram; serialiser adds Content-Length', () => {
    const raw = load('inv2543.dat');
    const m = parseMessage(raw);
    expect(m.body.length).toBeGreaterThan(100);
    expect((m as SipRequestMessage).maxForwards).toBeUndefined();
    expect(m.toString()).toContain(`Content-Length: ${m.body.length}\r\n`);
  });

  it('clerr / ncl / mcl01: 400 still carries the readable request to answer', () => {
    for (const f of ['clerr.dat', 'ncl.dat', 'mcl01.dat']) {
      try {
        parseMessage(load(f));
        expect.unreachable();
      } catch (err) {
        expect((err as { partial?: SipRequest }).partial?.callId).toBeTruthy();
      }
    }
  });

  it('variants/baddn-terminated: 400 for the display name alone', () => {
    expect(verdictOf(readFileSync(join(corpusDir, 'rfc4475/variants/baddn-terminated.dat'))).verdict).toBe(400);
  });
});
