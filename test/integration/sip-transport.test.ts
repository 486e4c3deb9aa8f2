/**
 * The transport layer with real sockets on loopback: UDP absorption and timer G on the wire,
 * received/rport, TCP framing errors, CRLF keepalive, connection limits and idle timeout,
 * connection reuse, IPv6, UAC requests and their failures.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SipResponse } from '../../src/sip/message/types.js';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { tcpConnectionOpen } from '../helpers/ports.js';
import { StreamPeer } from '../helpers/tcp-peer.js';
import { statusOf, UdpPeer } from '../helpers/udp-peer.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const stacks: SipStack[] = [];
const peers: Array<{ close?: () => Promise<void>; destroy?: () => void }> = [];

afterEach(async () => {
  for (const p of peers.splice(0)) {
    p.destroy?.();
    await p.close?.();
  }
  for (const s of stacks.splice(0)) await s.stop();
});

async function startStack(opts: Partial<ConstructorParameters<typeof SipStack>[0]> = {}): Promise<SipStack> {
  const s = new SipStack({ listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'], ...opts });
  stacks.push(s);
  await s.start();
  return s;
}

function port(s: SipStack, transport: string): number {
  return s.addresses().find((a) => a.transport === transport)!.port;
}

function request(method: string, via: string, opts: { branch?: string; callId?: string; extra?: string } = {}): string {
  return (
    `${method} sip:100@127.0.0.1 SIP/2.0\r\n` +
    `Via: SIP/2.0/${via};branch=${opts.branch ?? 'z9hG4bK' + Math.random().toString(36).slice(2)}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=ft1\r\nTo: <sip:100@127.0.0.1>\r\n` +
    `Call-ID: ${opts.callId ?? Math.random().toString(36).slice(2)}\r\nCSeq: 1 ${method}\r\n${opts.extra ?? ''}Content-Length: 0\r\n\r\n`
  );
}

describe('UDP on the wire', () => {
  it('a retransmitted OPTIONS gets the identical 200 again, nothing more', async () => {
    const s = await startStack();
    const peer = await UdpPeer.open();
    peers.push(peer);
    const req = request('OPTIONS', `UDP 127.0.0.1:${peer.port}`);
    await peer.send(req, port(s, 'udp'));
    await peer.waitFor(() => true, 1);
    await peer.send(req, port(s, 'udp'));
    const got = await peer.waitFor(() => true, 3, 700);
    expect(got).toHaveLength(2);
    expect(got[1]!.text).toBe(got[0]!.text);
    expect(statusOf(got[0]!.text)).toBe(200);
  });

  it('an unacknowledged 404 is retransmitted after T1 then 2·T1; the ACK stops it', async () => {
    const s = await startStack({ timers: { t1: 200 } });
    const peer = await UdpPeer.open();
    peers.push(peer);
    const branch = 'z9hG4bKtimerg1';
    await peer.send(request('INVITE', `UDP 127.0.0.1:${peer.port}`, { branch, callId: 'g1' }), port(s, 'udp'));
    const got = await peer.waitFor(() => true, 3, 1500);
    expect(got.map((d) => statusOf(d.text))).toEqual([404, 404, 404]);
    const gap1 = got[1]!.at - got[0]!.at;
    const gap2 = got[2]!.at - got[1]!.at;
    expect(gap1).toBeGreaterThanOrEqual(150);
    expect(gap2).toBeGreaterThanOrEqual(300);
    const toTag = /\r\nTo: ([^\r]*)/.exec(got[0]!.text)![1];
    const ack =
      `ACK sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${branch}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:t@127.0.0.1>;tag=ft1\r\nTo: ${toTag}\r\nCall-ID: g1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`;
    await peer.send(ack, port(s, 'udp'));
    const n = peer.received.length;
    await peer.waitFor(() => false, 1, 1500);
    expect(peer.received.length).toBe(n);
  });

  it('received is added when the Via host is not the source; rport is filled in and used (RFC 3581)', async () => {
    const s = await startStack();
    const peer = await UdpPeer.open();
    peers.push(peer);
    // Via names another host, asks for rport, and a port where nobody listens: the answer must come to our source port.
    await peer.send(request('OPTIONS', 'UDP 192.0.2.7:9;rport'), port(s, 'udp'));
    const [res] = await peer.waitFor(() => true, 1);
    expect(res).toBeDefined();
    // rport filled in where it was, received added at the end of the top Via.
    expect(res!.text).toMatch(
      new RegExp(
        `\\r\\nVia: SIP/2\\.0/UDP 192\\.0\\.2\\.7:9;rport=${peer.port};branch=[^;\\r]+;received=127\\.0\\.0\\.1\\r\\n`,
      ),
    );
  });

  it('without rport the response goes to received at the Via port (RFC 3261 §18.2.2)', async () => {
    const s = await startStack();
    const sender = await UdpPeer.open();
    const target = await UdpPeer.open();
    peers.push(sender, target);
    await sender.send(request('OPTIONS', `UDP localhost:${target.port}`), port(s, 'udp'));
    const [res] = await target.waitFor(() => true, 1);
    expect(res!.text).toMatch(
      new RegExp(`Via: SIP/2.0/UDP localhost:${target.port};branch=[^;\\r]+;received=127\\.0\\.0\\.1\\r\\n`),
    );
    expect(sender.received).toHaveLength(0);
  });

  it('a malformed request with readable headers gets a stateless 400; without them it is dropped', async () => {
    const s = await startStack();
    const peer = await UdpPeer.open();
    peers.push(peer);
    const bad = request('OPTIONS', `UDP 127.0.0.1:${peer.port}`).replace('Content-Length: 0', 'Content-Length: 50');
    await peer.send(bad, port(s, 'udp'));
    const [res] = await peer.waitFor(() => true, 1);
    expect(statusOf(res!.text)).toBe(400);
    peer.clear();
    await peer.send('HELLO WORLD\r\n\r\n', port(s, 'udp'));
    await peer.send('\x00\x01\x02 garbage', port(s, 'udp'));
    await peer.waitFor(() => true, 1, 400);
    expect(peer.received).toHaveLength(0);
    expect(s.malformedCount).toBe(3);
  });

  it('responses: a foreign top Via is dropped (RFC 3261 §18.1.2); ours without a transaction goes to onStrayResponse', async () => {
    const s = await startStack();
    const strays: number[] = [];
    s.delegate.onStrayResponse = (r) => strays.push(r.status);
    const peer = await UdpPeer.open();
    peers.push(peer);
    const res = (via: string): string =>
      `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP ${via};branch=z9hG4bKnotx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    await peer.send(res('192.0.2.1:5060'), port(s, 'udp'));
    await peer.send(res(`127.0.0.1:${port(s, 'udp')}`), port(s, 'udp'));
    await waitFor(() => strays.length > 0, { what: 'the stray response', timeoutMs: 2_000 });
    expect(strays).toEqual([200]);
    expect(s.foreignResponseCount).toBe(1);
  });

  it('IPv6 loopback: OPTIONS to udp:[::1] gets 200', async () => {
    const s = await startStack({ listen: ['udp:[::1]:0'] });
    const peer = await UdpPeer.open('::1');
    peers.push(peer);
    await peer.send(request('OPTIONS', `UDP [::1]:${peer.port}`), port(s, 'udp'), '::1');
    const [res] = await peer.waitFor(() => true, 1);
    expect(statusOf(res!.text)).toBe(200);
    expect(s.addressStrings()[0]).toMatch(/^udp:\[::1\]:\d+$/);
  });
});

describe('TCP', () => {
  it('answers over the connection the request came on; keeps it open for more', async () => {
    const s = await startStack();
    const c = await StreamPeer.tcp(port(s, 'tcp'));
    peers.push(c);
    c.write(request('OPTIONS', 'TCP 127.0.0.1:5999'));
    expect(await c.until(() => c.data.includes('\r\n\r\n'))).toBe(true);
    expect(statusOf(c.data)).toBe(200);
    c.data = '';
    c.write(request('REGISTER', 'TCP 127.0.0.1:5999'));
    expect(await c.until(() => c.data.includes('\r\n\r\n'))).toBe(true);
    expect(statusOf(c.data)).toBe(404);
    expect(c.closed).toBe(false);
  });

  it('answers a CRLFCRLF ping with a CRLF pong (RFC 5626 §3.5.1)', async () => {
    const s = await startStack();
    const c = await StreamPeer.tcp(port(s, 'tcp'));
    peers.push(c);
    c.write('\r\n\r\n');
    expect(await c.until(() => c.data === '\r\n')).toBe(true);
  });

  it('a well-framed malformed request gets 400 and the connection stays', async () => {
    const s = await startStack();
    const c = await StreamPeer.tcp(port(s, 'tcp'));
    peers.push(c);
    c.write(request('OPTIONS', 'TCP 127.0.0.1:5999').replace('CSeq: 1 OPTIONS', 'CSeq: 99999999999999 OPTIONS'));
    expect(await c.until(() => c.data.includes('\r\n\r\n'))).toBe(true);
    expect(statusOf(c.data)).toBe(400);
    expect(c.closed).toBe(false);
  });

  it('garbage, or a bad Content-Length, closes the connection', async () => {
    const s = await startStack({ limits: { maxHeaderBytes: 4096 } });
    const a = await StreamPeer.tcp(port(s, 'tcp'));
    peers.push(a);
    a.write(Buffer.alloc(6000, 0x41));
    expect(await a.until(() => a.closed)).toBe(true);
    const b = await StreamPeer.tcp(port(s, 'tcp'));
    peers.push(b);
    b.write(request('OPTIONS', 'TCP 127.0.0.1:5999').replace('Content-Length: 0', 'Content-Length: -5'));
    expect(await b.until(() => b.closed)).toBe(true);
    expect(b.data).toBe('');
  });

  it('caps connections per source IP: of 2000 idle connections from one peer, 50 stay open', async () => {
    const s = await startStack({ limits: { maxConnectionsPerIp: 50 } });
    const conns: StreamPeer[] = [];
    for (let i = 0; i < 2000; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, () => StreamPeer.tcp(port(s, 'tcp')).catch(() => undefined)),
      );
      for (const c of batch) if (c) conns.push(c);
    }
    for (const c of conns) peers.push(c);
    await waitFor(() => conns.filter((c) => !c.closed).length <= 50, {
      what: 'the connections over the cap closed',
      timeoutMs: 4_000,
    });
    expect(conns.filter((c) => !c.closed)).toHaveLength(50);
    // The survivors still work.
    const alive = conns.find((c) => !c.closed)!;
    alive.write(request('OPTIONS', 'TCP 127.0.0.1:5999'));
    expect(await alive.until(() => alive.data.includes('\r\n\r\n'))).toBe(true);
    // Closing some frees slots: once the server has closed its ends, a new connection is served.
    const closing = conns.filter((x) => !x.closed).slice(0, 5);
    const closingPorts = closing.map((c) => c.localPort);
    for (const c of closing) c.destroy();
    await waitFor(() => closingPorts.every((p) => !tcpConnectionOpen(port(s, 'tcp'), p)), {
      what: 'the server to close its ends of the 5 connections',
      timeoutMs: 4_000,
    });
    const fresh = await StreamPeer.tcp(port(s, 'tcp'));
    peers.push(fresh);
    fresh.write(request('OPTIONS', 'TCP 127.0.0.1:5999'));
    expect(await fresh.until(() => fresh.data.includes('\r\n\r\n') || fresh.closed)).toBe(true);
    expect(statusOf(fresh.data)).toBe(200);
    expect(fresh.closed).toBe(false);
  });

  it('caps total connections', async () => {
    const s = await startStack({ limits: { maxConnections: 5 } });
    const conns: StreamPeer[] = [];
    for (let i = 0; i < 12; i++) {
      const c = await StreamPeer.tcp(port(s, 'tcp'));
      conns.push(c);
      peers.push(c);
    }
    await waitFor(() => conns.filter((c) => !c.closed).length <= 5, {
      what: 'at most 5 connections left open',
      timeoutMs: 3_000,
    });
  });

  it('closes idle connections after the idle timeout', async () => {
    const s = await startStack({ limits: { idleTimeoutMs: 300 } });
    const c = await StreamPeer.tcp(port(s, 'tcp'));
    peers.push(c);
    expect(await c.until(() => c.closed, 2000)).toBe(true);
  });

  it('a request to a peer that connected to us reuses its connection (RFC 3261 §18.1.1)', async () => {
    const s = await startStack();
    const c = await StreamPeer.tcp(port(s, 'tcp'));
    peers.push(c);
    c.write(request('OPTIONS', `TCP 127.0.0.1:${c.localPort}`));
    expect(await c.until(() => c.data.includes('\r\n\r\n'))).toBe(true);
    c.data = '';
    const req = s.createRequest({ method: 'OPTIONS', uri: `sip:phone@127.0.0.1:${c.localPort};transport=tcp` });
    const events: string[] = [];
    s.sendRequest(
      req,
      { transport: 'tcp', host: '127.0.0.1', port: c.localPort },
      {
        onFinal: (r) => events.push(`final ${r.status}`),
        onTimeout: () => events.push('timeout'),
        onTransportError: (e) => events.push(e.message),
      },
    );
    expect(await c.until(() => c.data.includes('\r\n\r\n'))).toBe(true);
    expect(c.data).toMatch(/^OPTIONS sip:phone@/);
    expect(c.data).toMatch(
      new RegExp(`\\r\\nVia: SIP/2.0/TCP 127\\.0\\.0\\.1:${port(s, 'tcp')};branch=z9hG4bK[^;]+;rport\\r\\n`),
    );
    // Answer it on the same connection.
    const head = c.data.split('\r\n\r\n')[0]!.split('\r\n');
    const pick = (n: string): string => head.find((l) => l.toLowerCase().startsWith(n.toLowerCase() + ':'))!;
    c.write(
      `SIP/2.0 200 OK\r\n${pick('Via')}\r\n${pick('From')}\r\n${pick('To')};tag=p1\r\n${pick('Call-ID')}\r\n${pick('CSeq')}\r\nContent-Length: 0\r\n\r\n`,
    );
    await waitFor(() => events.length > 0, { what: 'the final response to reach the transaction', timeoutMs: 2_000 });
    expect(events).toEqual(['final 200']);
  });

  it("when the request's connection is gone, the response opens a connection to the Via sent-by (RFC 3261 §18.2.2)", async () => {
    const s = await startStack();
    let pending: import('../../src/sip/stack/incoming-request.js').IncomingRequest | undefined;
    s.handle('INVITE', (ctx) => {
      pending = ctx;
      return true;
    });
    // Where the phone listens (its Via sent-by).
    let received = '';
    const phoneSockets: import('node:net').Socket[] = [];
    const phone = createServer((sock) => {
      phoneSockets.push(sock);
      sock.on('data', (b: Buffer) => (received += b.toString('latin1')));
    });
    await new Promise<void>((r) => phone.listen(0, '127.0.0.1', () => r()));
    const phonePort = (phone.address() as import('node:net').AddressInfo).port;
    try {
      const c = await StreamPeer.tcp(port(s, 'tcp'));
      peers.push(c);
      c.write(request('INVITE', `TCP 127.0.0.1:${phonePort}`));
      await waitFor(() => pending, { what: 'the INVITE at the server', timeoutMs: 2_000 });
      pending!.reply(180, 'Ringing');
      expect(await c.until(() => c.data.includes('\r\n\r\n'))).toBe(true);
      expect(statusOf(c.data)).toBe(180);
      const clientPort = c.localPort;
      c.destroy();
      await waitFor(() => !tcpConnectionOpen(port(s, 'tcp'), clientPort), {
        what: 'the server to close its end of the connection',
        timeoutMs: 2_000,
      });
      pending!.reply(486, 'Busy Here');
      await waitFor(() => received.includes('\r\n\r\n'), {
        what: 'the 486 on a new connection to the Via sent-by',
        timeoutMs: 2_000,
      });
      expect(received).toMatch(/^SIP\/2\.0 486 Busy Here\r\n/);
    } finally {
      for (const so of phoneSockets) so.destroy();
      await new Promise<void>((r) => phone.close(() => r()));
    }
  });

  it('a request to a closed TCP port reports a transport error (RFC 3261 §17.1.4)', async () => {
    const s = await startStack();
    const srv = createServer();
    const closedPort = await new Promise<number>((res) =>
      srv.listen(0, '127.0.0.1', () => {
        const a = srv.address();
        const p = typeof a === 'object' && a ? a.port : 0;
        srv.close(() => res(p));
      }),
    );
    const events: string[] = [];
    const req = s.createRequest({ method: 'OPTIONS', uri: `sip:x@127.0.0.1:${closedPort};transport=tcp` });
    s.sendRequest(
      req,
      { transport: 'tcp', host: '127.0.0.1', port: closedPort },
      {
        onFinal: () => events.push('final'),
        onTimeout: () => events.push('timeout'),
        onTransportError: (e) => events.push(`error ${e.message.split(' ')[0]}`),
      },
    );
    await waitFor(() => events.length > 0, { what: 'the transport error', timeoutMs: 2_000 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatch(/^error /);
  });
});

describe('UAC over UDP', () => {
  it('sends with our Via (rport), retransmits with timer E, and hears the final response', async () => {
    const s = await startStack({ timers: { t1: 100 } });
    const peer = await UdpPeer.open();
    peers.push(peer);
    const finals: SipResponse[] = [];
    const req = s.createRequest({ method: 'OPTIONS', uri: `sip:peer@127.0.0.1:${peer.port}` });
    s.sendRequest(
      req,
      { transport: 'udp', host: '127.0.0.1', port: peer.port },
      { onFinal: (r) => finals.push(r), onTimeout: () => undefined, onTransportError: () => undefined },
    );
    const got = await peer.waitFor(() => true, 2, 1000);
    expect(got).toHaveLength(2);
    expect(got[1]!.text).toBe(got[0]!.text);
    const head = got[0]!.text.split('\r\n');
    expect(head[0]).toBe(`OPTIONS sip:peer@127.0.0.1:${peer.port} SIP/2.0`);
    expect(head[1]).toMatch(
      new RegExp(`^Via: SIP/2.0/UDP 127\\.0\\.0\\.1:${port(s, 'udp')};branch=z9hG4bK\\w+;rport$`),
    );
    const pick = (n: string): string => head.find((l) => l.startsWith(n + ':'))!;
    await peer.send(
      `SIP/2.0 200 OK\r\n${pick('Via')}\r\n${pick('From')}\r\n${pick('To')};tag=x\r\n${pick('Call-ID')}\r\n${pick('CSeq')}\r\nContent-Length: 0\r\n\r\n`,
      port(s, 'udp'),
    );
    await waitFor(() => finals.length > 0, { what: 'the final response to reach the transaction', timeoutMs: 2_000 });
    expect(finals.map((f) => f.status)).toEqual([200]);
    const n = peer.received.length;
    // No retransmission after the final response (timer E would fire every 100-400 ms).
    await holdsFor(() => peer.received.length === n, {
      forMs: 500,
      what: 'no retransmission after the final response',
    });
  });

  it('CANCEL (RFC 3261 §9.1): deferred until the 1xx, same branch, then the 487 is ACKed by the transaction', async () => {
    const s = await startStack();
    const peer = await UdpPeer.open();
    peers.push(peer);
    const dest = { transport: 'udp' as const, host: '127.0.0.1', port: peer.port };
    const events: string[] = [];
    const invite = s.createRequest({ method: 'INVITE', uri: `sip:agent@127.0.0.1:${peer.port}` });
    s.sendRequest(invite, dest, {
      onProvisional: (r) => events.push(`1xx ${r.status}`),
      onFinal: (r) => events.push(`final ${r.status}`),
      onTimeout: () => events.push('timeout'),
      onTransportError: () => events.push('error'),
    });
    const [inv] = await peer.waitFor((d) => d.text.startsWith('INVITE '), 1);
    const cancelEvents: string[] = [];
    expect(
      s.sendCancel(invite, dest, {
        onFinal: (r) => cancelEvents.push(`final ${r.status}`),
        onTimeout: () => cancelEvents.push('timeout'),
        onTransportError: () => cancelEvents.push('error'),
      }),
    ).toBe('deferred');
    await holdsFor(() => peer.received.every((d) => !d.text.startsWith('CANCEL ')), {
      forMs: 100,
      what: 'no CANCEL before a provisional response',
    });
    const head = inv!.text.split('\r\n');
    const pick = (n: string): string => head.find((l) => l.startsWith(n + ':'))!;
    const answer = (status: string, cseq: string, tag = ';tag=callee'): string =>
      `SIP/2.0 ${status}\r\n${pick('Via')}\r\n${pick('From')}\r\n${pick('To')}${tag}\r\n${pick('Call-ID')}\r\nCSeq: ${cseq}\r\nContent-Length: 0\r\n\r\n`;
    await peer.send(answer('180 Ringing', '1 INVITE'), port(s, 'udp'));
    const [cancel] = await peer.waitFor((d) => d.text.startsWith('CANCEL '), 1);
    expect(cancel).toBeDefined();
    const ch = cancel!.text.split('\r\n');
    expect(ch[0]).toBe(`CANCEL sip:agent@127.0.0.1:${peer.port} SIP/2.0`);
    expect(ch.filter((l) => l.startsWith('Via:'))).toEqual([pick('Via')]);
    expect(ch).toContain(pick('Call-ID'));
    expect(ch).toContain(pick('From'));
    expect(ch).toContain(pick('To'));
    expect(ch).toContain(`CSeq: ${pick('CSeq').split(' ')[1]} CANCEL`);
    await peer.send(answer('200 OK', `${pick('CSeq').split(' ')[1]} CANCEL`, ''), port(s, 'udp'));
    await peer.send(answer('487 Request Terminated', pick('CSeq').slice(6)), port(s, 'udp'));
    const [ack] = await peer.waitFor((d) => d.text.startsWith('ACK '), 1);
    expect(ack!.text).toContain(`\r\n${pick('Via')}\r\n`);
    expect(events).toEqual(['1xx 180', 'final 487']);
    expect(cancelEvents).toEqual(['final 200']);
    expect(s.sendCancel(invite, dest)).toBe('not-needed');
  });

  it('times out with timer F (64·T1) when nobody answers', async () => {
    const s = await startStack({ timers: { t1: 20, t2: 80 } });
    const peer = await UdpPeer.open();
    peers.push(peer);
    const events: string[] = [];
    const start = Date.now();
    const req = s.createRequest({ method: 'OPTIONS', uri: `sip:peer@127.0.0.1:${peer.port}` });
    s.sendRequest(
      req,
      { transport: 'udp', host: '127.0.0.1', port: peer.port },
      {
        onFinal: () => events.push('final'),
        onTimeout: () => events.push('timeout'),
        onTransportError: () => events.push('error'),
      },
    );
    await waitFor(() => events.length > 0, { what: 'timer F', timeoutMs: 4_000 });
    expect(events).toEqual(['timeout']);
    expect(Date.now() - start).toBeGreaterThanOrEqual(64 * 20 - 20);
    expect(peer.received.length).toBeGreaterThanOrEqual(10);
  });
});

describe('ACK for a 2xx re-sent by the TU (RFC 3261 §13.2.2.4)', () => {
  it('goes out again unchanged: one Via, the same branch, the same bytes', async () => {
    const s = await startStack();
    const peer = await UdpPeer.open();
    peers.push(peer);
    const dest = { transport: 'udp' as const, host: '127.0.0.1', port: peer.port };
    const ack = s.createRequest({
      method: 'ACK',
      uri: `sip:b@127.0.0.1:${peer.port}`,
      cseq: 1,
      to: `<sip:b@127.0.0.1>;tag=t1`,
    });
    s.sendAck(ack, dest);
    s.sendAck(ack, dest); // the 2xx came again
    const got = await peer.waitFor((d) => d.text.startsWith('ACK '), 2);
    expect(got).toHaveLength(2);
    for (const d of got) expect(d.text.match(/^Via:/gm)).toHaveLength(1);
    expect(got[1]!.text).toBe(got[0]!.text);
  });
});
