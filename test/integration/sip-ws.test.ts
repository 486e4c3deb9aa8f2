/**
 * SIP over WebSocket (RFC 7118) with the `ws` client as the peer: subprotocol `sip`, one SIP
 * message per WebSocket message, responses and our requests over the client's connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: SipStack;
let port = 0;

beforeAll(async () => {
  stack = new SipStack({ listen: ['ws:127.0.0.1:0'], limits: { maxConnectionsPerIp: 3 } });
  await stack.start();
  port = stack.addresses()[0]!.port;
});

afterAll(async () => {
  await stack.stop();
});

/** A WebSocket client collecting the messages it receives; from `localAddress` (another loopback address: another source IP). */
async function connect(
  protocol = 'sip',
  localAddress = '127.0.0.1',
): Promise<{ ws: WebSocket; got: string[]; next: (ms?: number) => Promise<string | undefined> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, protocol ? [protocol] : [], { localAddress });
  const got: string[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (d: WebSocket.RawData) => {
    got.push(Buffer.isBuffer(d) ? d.toString('utf8') : String(d));
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
    ws.once('unexpected-response', (_req, r) => rej(new Error(`HTTP ${r.statusCode}`)));
  });
  let read = 0;
  const next = async (ms = 1500): Promise<string | undefined> => {
    const deadline = Date.now() + ms;
    while (got.length <= read && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, deadline - Date.now());
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return got.length > read ? got[read++] : undefined;
  };
  return { ws, got, next };
}

const options = (n: string): string =>
  `OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK${n}\r\nMax-Forwards: 70\r\n` +
  `From: <sip:alice@example.com>;tag=${n}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ws-${n}\r\nCSeq: 1 OPTIONS\r\n\r\n`;

describe('SIP over WebSocket', () => {
  it('answers OPTIONS (no Content-Length needed) over the same WebSocket, received added to the .invalid Via', async () => {
    const c = await connect();
    try {
      expect(c.ws.protocol).toBe('sip');
      c.ws.send(options('a1'));
      const r = await c.next();
      expect(r).toMatch(/^SIP\/2\.0 200 OK\r\n/);
      expect(r).toContain('\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKa1;received=127.0.0.1\r\n');
    } finally {
      c.ws.close();
    }
  });

  it('a malformed request gets 400 and the connection stays', async () => {
    const c = await connect();
    try {
      c.ws.send(options('b1').replace('CSeq: 1 OPTIONS', 'CSeq: 99999999999 OPTIONS'));
      expect(await c.next()).toMatch(/^SIP\/2\.0 400 /);
      c.ws.send(options('b2'));
      expect(await c.next()).toMatch(/^SIP\/2\.0 200 /);
    } finally {
      c.ws.close();
    }
  });

  it('refuses a handshake without the sip subprotocol (RFC 7118 §4.1)', async () => {
    await expect(connect('')).rejects.toThrow(/HTTP 400/);
    await expect(connect('xmpp')).rejects.toThrow(/HTTP 400/);
  });

  it('our requests to the client go over its connection', async () => {
    const c = await connect();
    try {
      c.ws.send(options('c1'));
      await c.next();
      // The client's address as the stack saw it.
      const local = (c.ws as unknown as { _socket: import('node:net').Socket })._socket.localPort!;
      const req = stack.createRequest({ method: 'OPTIONS', uri: 'sip:alice@df7jal23ls0d.invalid;transport=ws' });
      const finals: number[] = [];
      stack.sendRequest(
        req,
        { transport: 'ws', host: '127.0.0.1', port: local },
        {
          onFinal: (r) => finals.push(r.status),
          onTimeout: () => finals.push(408),
          onTransportError: () => finals.push(503),
        },
      );
      const got = await c.next();
      expect(got).toMatch(
        /^OPTIONS sip:alice@df7jal23ls0d\.invalid;transport=ws SIP\/2\.0\r\nVia: SIP\/2\.0\/WS 127\.0\.0\.1:\d+;branch=z9hG4bK\w+;rport\r\n/,
      );
      const head = got!.split('\r\n');
      const pick = (n: string): string => head.find((l) => l.startsWith(n + ':'))!;
      c.ws.send(
        `SIP/2.0 200 OK\r\n${pick('Via')}\r\n${pick('From')}\r\n${pick('To')};tag=w\r\n${pick('Call-ID')}\r\n${pick('CSeq')}\r\nContent-Length: 0\r\n\r\n`,
      );
      await waitFor(() => finals.length > 0, { what: 'the final response to reach the transaction', timeoutMs: 2_000 });
      expect(finals).toEqual([200]);
    } finally {
      c.ws.close();
    }
  });

  it('a request to an address with no WebSocket connection is a transport error', async () => {
    const events: string[] = [];
    const req = stack.createRequest({ method: 'OPTIONS', uri: 'sip:bob@127.0.0.1;transport=ws' });
    stack.sendRequest(
      req,
      { transport: 'ws', host: '127.0.0.1', port: 9 },
      {
        onFinal: () => events.push('final'),
        onTimeout: () => events.push('timeout'),
        onTransportError: (e) => events.push(e.message),
      },
    );
    expect(events).toEqual(['no ws connection from 127.0.0.1:9']);
  });

  it('caps connections per IP', async () => {
    // From 127.0.0.2: a source IP of its own, whatever the earlier tests' connections from 127.0.0.1 are doing.
    const fromOwnIp = (): ReturnType<typeof connect> => connect('sip', '127.0.0.2');
    const open = await Promise.allSettled([fromOwnIp(), fromOwnIp(), fromOwnIp(), fromOwnIp(), fromOwnIp()]);
    const ok = open.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(3);
    expect(open.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual(
      ['Error: HTTP 503', 'Error: HTTP 503'],
    );
    for (const r of ok) (r as PromiseFulfilledResult<{ ws: WebSocket }>).value.ws.close();
  });
});
