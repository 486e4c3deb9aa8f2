/**
 * The console's server-sent events parser (web/src/shared/sse-parser.ts): events split anywhere
 * across chunks, CRLF and CR line ends, multi-line data, comments (heartbeats) skipped, an event
 * without `event:` named `message`, an event never dispatched before its blank line.
 */
import { describe, expect, it } from 'vitest';
import { SseParser, readSse } from '../../../web/src/shared/sse-parser.js';

describe('SseParser', () => {
  const text = 'event: snapshot\ndata: {"a":1}\n\n: heartbeat\n\nevent: agents\ndata: [1,\ndata: 2]\n\ndata: x\n\n';
  const expected = [
    { event: 'snapshot', data: '{"a":1}' },
    { event: 'agents', data: '[1,\n2]' },
    { event: 'message', data: 'x' },
  ];

  it('gives the same events whatever the chunking', () => {
    for (let size = 1; size <= text.length; size++) {
      const p = new SseParser();
      const out = [];
      for (let i = 0; i < text.length; i += size) out.push(...p.push(text.slice(i, i + size)));
      expect(out, `chunks of ${size}`).toEqual(expected);
    }
  });

  it('accepts CRLF and CR line ends, a CRLF split between chunks included', () => {
    const crlf = text.replace(/\n/g, '\r\n');
    const p = new SseParser();
    const cut = crlf.indexOf('\r\n') + 1;
    expect([...p.push(crlf.slice(0, cut)), ...p.push(crlf.slice(cut))]).toEqual(expected);
    expect(new SseParser().push(text.replace(/\n/g, '\r'))).toEqual(expected);
  });

  it('holds an event until its blank line', () => {
    const p = new SseParser();
    expect(p.push('event: load\ndata: 1\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'load', data: '1' }]);
  });

  it('reads a byte stream, a UTF-8 character split between chunks included', async () => {
    const bytes = new TextEncoder().encode('event: agents\ndata: "Zoë"\n\n');
    const split = bytes.indexOf(0xc3) + 1;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, split));
        c.enqueue(bytes.slice(split));
        c.close();
      },
    });
    const got: unknown[] = [];
    await readSse(body, (e) => got.push(e));
    expect(got).toEqual([{ event: 'agents', data: '"Zoë"' }]);
  });
});
