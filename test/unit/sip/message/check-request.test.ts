import { describe, expect, it } from 'vitest';
import {
  checkRequest,
  createRequest,
  generateBranch,
  generateCallId,
  generateTag,
  parseMessage,
  type SipRequest,
} from '../../../../src/sip/message/index.js';
import { UAS_CAPS } from './corpus-helpers.js';

function req(lines: string[]): SipRequest {
  const m = parseMessage(Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'));
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

const BASE = [
  'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
  'Max-Forwards: 70',
  'From: <sip:a@example.com>;tag=1',
  'To: <sip:b@example.com>',
  'Call-ID: c1',
  'CSeq: 1 OPTIONS',
  'Content-Length: 0',
];

describe('checkRequest (RFC 3261 §8.2)', () => {
  it('accepts a well-formed request', () => {
    expect(checkRequest(req(['OPTIONS sip:b@example.com SIP/2.0', ...BASE]), UAS_CAPS)).toBeUndefined();
  });

  it('505 for another SIP version, before anything else', () => {
    expect(checkRequest(req(['OPTIONS sip:b@example.com SIP/3.0', 'CSeq: x']), UAS_CAPS)?.status).toBe(505);
  });

  it('400 for each missing or malformed mandatory header; Max-Forwards may be absent', () => {
    for (const drop of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) {
      const lines = BASE.filter((l) => !l.startsWith(drop + ':'));
      expect(checkRequest(req(['OPTIONS sip:b@example.com SIP/2.0', ...lines]), UAS_CAPS)?.status, drop).toBe(400);
    }
    expect(
      checkRequest(
        req(['OPTIONS sip:b@example.com SIP/2.0', ...BASE.filter((l) => !l.startsWith('Max-Forwards'))]),
        UAS_CAPS,
      ),
    ).toBeUndefined();
    for (const bad of [
      'Max-Forwards: -1',
      'CSeq: 4294967296 OPTIONS',
      'CSeq: OPTIONS',
      'Via: SIP/2.0/UDP',
      'Via: SIP/3.0/UDP h;branch=z9hG4bKx',
      'Contact: <sip:x',
      'Call-ID: a b',
    ]) {
      const key = bad.slice(0, bad.indexOf(':') + 1);
      const lines = BASE.filter((l) => !l.startsWith(key)).concat(bad);
      expect(checkRequest(req(['OPTIONS sip:b@example.com SIP/2.0', ...lines]), UAS_CAPS)?.status, bad).toBe(400);
    }
    // Headers that may appear once (RFC 3261 §20: Max-Forwards, CSeq, Call-ID, From, To) repeated.
    for (const twice of [
      'Max-Forwards: 69',
      'CSeq: 2 OPTIONS',
      'Call-ID: c2',
      'From: <sip:c@example.com>;tag=2',
      'To: <sip:d@example.com>',
    ]) {
      const v = checkRequest(req(['OPTIONS sip:b@example.com SIP/2.0', ...BASE, twice]), UAS_CAPS);
      expect(v?.status, twice).toBe(400);
      expect(v?.detail, twice).toBe(`more than one ${twice.slice(0, twice.indexOf(':'))}`);
    }
  });

  it('501 with Allow for unknown methods, also when the CSeq method differs', () => {
    const v = checkRequest(
      req(['FOO sip:b@example.com SIP/2.0', ...BASE.map((l) => l.replace('1 OPTIONS', '1 FOO'))]),
      UAS_CAPS,
    );
    expect(v).toEqual({
      status: 501,
      reason: 'Not Implemented',
      headers: [{ name: 'Allow', value: UAS_CAPS.methods.join(', ') }],
      detail: 'method FOO not implemented',
    });
    expect(checkRequest(req(['FOO sip:b@example.com SIP/2.0', ...BASE]), UAS_CAPS)?.status).toBe(501);
    expect(checkRequest(req(['INVITE sip:b@example.com SIP/2.0', ...BASE]), UAS_CAPS)?.status).toBe(400);
  });

  it('416 for a Request-URI scheme not served; 400 for a bad Request-URI', () => {
    expect(checkRequest(req(['OPTIONS mailto:b@example.com SIP/2.0', ...BASE]), UAS_CAPS)).toMatchObject({
      status: 416,
      reason: 'Unsupported URI Scheme',
    });
    expect(checkRequest(req(['OPTIONS tel:+15551234 SIP/2.0', ...BASE]), UAS_CAPS)).toBeUndefined();
    expect(checkRequest(req(['OPTIONS sip:b@ SIP/2.0', ...BASE]), UAS_CAPS)?.status).toBe(400);
  });

  it('420 + Unsupported for unknown Require tags, never for ACK and CANCEL', () => {
    const v = checkRequest(
      req(['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'Require: timer, foo', 'Require: bar']),
      UAS_CAPS,
    );
    expect([v?.status, v?.headers]).toEqual([420, [{ name: 'Unsupported', value: 'foo, bar' }]]);
    const ack = BASE.map((l) => l.replace('1 OPTIONS', '1 ACK'));
    expect(checkRequest(req(['ACK sip:b@example.com SIP/2.0', ...ack, 'Require: foo']), UAS_CAPS)).toBeUndefined();
  });
});

describe('createRequest and identifiers', () => {
  it('builds a request that serialises with Content-Length and parses back', () => {
    const branch = generateBranch();
    const r = createRequest({
      method: 'OPTIONS',
      uri: 'sip:b@example.com',
      headers: [
        { name: 'Via', value: `SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}` },
        { name: 'From', value: `<sip:a@example.com>;tag=${generateTag()}` },
        { name: 'To', value: '<sip:b@example.com>' },
        { name: 'Call-ID', value: generateCallId('127.0.0.1') },
        { name: 'CSeq', value: '1 OPTIONS' },
        { name: 'Max-Forwards', value: '70' },
      ],
      body: 'hi',
    });
    const text = r.toString();
    expect(text.startsWith('OPTIONS sip:b@example.com SIP/2.0\r\nVia: ')).toBe(true);
    expect(text.endsWith('Max-Forwards: 70\r\nContent-Length: 2\r\n\r\nhi')).toBe(true);
    const back = parseMessage(r.toBuffer()) as SipRequest;
    expect(back.via.branch).toBe(branch);
    expect(checkRequest(back, UAS_CAPS)).toBeUndefined();
  });

  it('branches carry the magic cookie; tags and Call-IDs are unique', () => {
    expect(generateBranch()).toMatch(/^z9hG4bK[0-9a-f]{24}$/);
    const tags = new Set(Array.from({ length: 2000 }, () => generateTag()));
    expect(tags.size).toBe(2000);
    expect(generateCallId('h')).toMatch(/^[0-9a-f]{32}@h$/);
  });
});
