import { describe, expect, it } from 'vitest';
import { StreamFramer, type FramerEvent } from '../../../../src/sip/message/index.js';

const MSG = (body = '', cl: string | null = String(Buffer.byteLength(body))) =>
  'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n' +
  (cl === null ? '' : `Content-Length: ${cl}\r\n`) +
  '\r\n' +
  body;

function types(events: FramerEvent[]): string[] {
  return events.map((e) => e.type);
}

describe('StreamFramer (RFC 3261 §18.3, RFC 5626 §3.5.1)', () => {
  it('frames by Content-Length; missing Content-Length means no body on streams', () => {
    const f = new StreamFramer();
    const ev = f.push(Buffer.from(MSG('hello') + MSG('', null) + MSG('x')));
    expect(types(ev)).toEqual(['message', 'message', 'message']);
    const bodies = ev.map((e) => (e.type === 'message' ? e.message.body.toString() : '?'));
    expect(bodies).toEqual(['hello', '', 'x']);
  });

  it('reports CRLFCRLF pings and CRLF pongs between messages, byte by byte too', () => {
    const data = Buffer.from('\r\n\r\n' + MSG() + '\r\n' + MSG() + '\r\n\r\n\r\n\r\n');
    const whole = types(new StreamFramer().push(data));
    expect(whole).toEqual(['ping', 'message', 'pong', 'message', 'ping', 'ping']);
    const f = new StreamFramer();
    const bytewise: string[] = [];
    for (const b of data) bytewise.push(...types(f.push(Buffer.from([b]))));
    expect(bytewise).toEqual(whole);
  });

  it('waits for the whole body', () => {
    const f = new StreamFramer();
    const text = MSG('0123456789');
    expect(f.push(Buffer.from(text.slice(0, -3)))).toEqual([]);
    expect(f.buffered).toBe(Buffer.byteLength(text) - 3);
    expect(types(f.push(Buffer.from(text.slice(-3))))).toEqual(['message']);
  });

  it('a bad or conflicting Content-Length is fatal and the framer stays closed', () => {
    for (const cl of ['-1', 'abc', '5\r\nl: 6']) {
      const f = new StreamFramer();
      const ev = f.push(Buffer.from(MSG('hello', cl) + MSG()));
      expect(types(ev)).toEqual(['fatal']);
      expect(f.closed).toBe(true);
      expect(f.push(Buffer.from(MSG()))).toEqual([]);
    }
  });

  it('an over-long header section is fatal, even before its end arrives', () => {
    const f = new StreamFramer({ maxHeaderBytes: 1024 });
    const ev = f.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nX-Junk: ' + 'a'.repeat(2000)));
    expect(types(ev)).toEqual(['fatal']);
    if (ev[0].type === 'fatal') expect(ev[0].error.status).toBe(400);
  });

  it('a well-framed but unparseable message is reported and the stream goes on', () => {
    const f = new StreamFramer();
    const ev = f.push(Buffer.from('GARBAGE\r\nContent-Length: 0\r\n\r\n' + MSG()));
    expect(types(ev)).toEqual(['invalid', 'message']);
    if (ev[0].type === 'invalid') expect(ev[0].error.status).toBe(400);
  });

  it('a Content-Length above maxBodyBytes is fatal before the body arrives', () => {
    const f = new StreamFramer({ maxBodyBytes: 100 });
    const ev = f.push(Buffer.from(MSG('', '101')));
    expect(types(ev)).toEqual(['fatal']);
    expect(new StreamFramer({ maxBodyBytes: 100 }).push(Buffer.from(MSG('x'.repeat(100))))).toHaveLength(1);
  });

  it('keeps at most one message worth of bytes and releases them', () => {
    const f = new StreamFramer();
    const big = MSG('y'.repeat(200_000));
    const events: FramerEvent[] = [];
    for (let i = 0; i < big.length; i += 65536) events.push(...f.push(Buffer.from(big.slice(i, i + 65536))));
    expect(types(events)).toEqual(['message']);
    if (events[0].type === 'message') expect(events[0].message.body.length).toBe(200_000);
    expect(f.buffered).toBe(0);
  });
});
