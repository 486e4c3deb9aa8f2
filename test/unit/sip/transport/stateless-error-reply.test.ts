import { describe, expect, it } from 'vitest';
import { buildRawErrorResponse } from '../../../../src/sip/transport/stateless-error-reply.js';

const lines = (s: string): Buffer => Buffer.from(s.split('\n').join('\r\n'), 'latin1');

describe('stateless error reply from raw lines (RFC 3261 §8.2.6.2)', () => {
  it('copies every Via (compact and folded too), From, To (+ tag), Call-ID, CSeq', () => {
    const raw = lines(
      'INVITE sip:user@example.com; lr SIP/2.0\nv: SIP/2.0/UDP a.example;branch=z9hG4bK1\nVia: SIP/2.0/UDP b.example\n ;branch=z9hG4bK2\n' +
        'f: <sip:a@example.com>;tag=9\nTo: <sip:user@example.com>\ni: abc@x\nCSeq: 1 INVITE\nContent-Length: 0\n\n',
    );
    const out = buildRawErrorResponse(raw, 400, 'Bad Request', 'T1')!.toString('latin1');
    expect(out).toBe(
      'SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b.example ;branch=z9hG4bK2\r\n' +
        'From: <sip:a@example.com>;tag=9\r\nTo: <sip:user@example.com>;tag=T1\r\nCall-ID: abc@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('keeps an existing To tag', () => {
    const raw = lines(
      'BYE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nFrom: <sip:x@y>;tag=1\nTo: <sip:a@b>;tag=old\nCall-ID: c\nCSeq: 2 BYE\n\n',
    );
    expect(buildRawErrorResponse(raw, 400, 'Bad Request', 'new')!.toString('latin1')).toContain(
      '\r\nTo: <sip:a@b>;tag=old\r\n',
    );
  });

  it('gives up on responses, non-SIP bytes, missing or repeated key headers', () => {
    expect(buildRawErrorResponse(lines('SIP/2.0 200 OK\nVia: SIP/2.0/UDP h\n\n'), 400, 'x', 't')).toBeUndefined();
    expect(buildRawErrorResponse(Buffer.from('hello world'), 400, 'x', 't')).toBeUndefined();
    expect(
      buildRawErrorResponse(
        lines('OPTIONS sip:a SIP/2.0\nVia: SIP/2.0/UDP h\nFrom: <sip:x@y>;tag=1\nCall-ID: c\nCSeq: 1 OPTIONS\n\n'),
        400,
        'x',
        't',
      ),
    ).toBeUndefined();
    expect(
      buildRawErrorResponse(
        lines(
          'OPTIONS sip:a SIP/2.0\nVia: SIP/2.0/UDP h\nFrom: <sip:x@y>;tag=1\nTo: <sip:a>\nCall-ID: c\nCall-ID: d\nCSeq: 1 OPTIONS\n\n',
        ),
        400,
        'x',
        't',
      ),
    ).toBeUndefined();
  });
});
