/**
 * The UAS core over UDP: what it answers itself (OPTIONS, 404, 501, checks), the handler
 * chain, and when a request gets a server transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import type { IncomingRequest } from '../../src/sip/stack/incoming-request.js';
import { statusOf, UdpPeer } from '../helpers/udp-peer.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

let stack: SipStack;
let peer: UdpPeer;
let port = 0;
const calls: string[] = [];
let pending: IncomingRequest | undefined;

beforeAll(async () => {
  stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
  stack.handle('MESSAGE', (ctx) => {
    calls.push('first');
    if (ctx.request.uri.includes('second')) return false;
    ctx.reply(202, 'Accepted');
    return true;
  });
  stack.handle('MESSAGE', (ctx) => {
    calls.push('second');
    if (ctx.request.uri.includes('boom')) throw new Error('handler bug');
    if (ctx.request.uri.includes('later')) {
      pending = ctx;
      return true;
    }
    return false;
  });
  stack.handle('*', (ctx) => {
    calls.push('star');
    if (ctx.request.method !== 'PUBLISH') return false;
    ctx.reply(489, 'Bad Event');
    return true;
  });
  await stack.start();
  port = stack.addresses()[0]!.port;
  peer = await UdpPeer.open();
});

afterAll(async () => {
  await peer.close();
  await stack.stop();
});

let seq = 0;
function req(method: string, uri = 'sip:x@127.0.0.1', extra = '', branch?: string): string {
  seq++;
  return (
    `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${branch ?? `z9hG4bKcore${seq}`}\r\nMax-Forwards: 70\r\n` +
    `From: <sip:t@127.0.0.1>;tag=f${seq}\r\nTo: <${uri}>\r\nCall-ID: core-${branch ?? seq}\r\nCSeq: 1 ${method}\r\n${extra}Content-Length: 0\r\n\r\n`
  );
}

async function ask(text: string): Promise<string> {
  peer.clear();
  await peer.send(text, port);
  const [d] = await peer.waitFor(() => true, 1, 1500);
  return d?.text ?? '';
}

describe('UAS core', () => {
  it('OPTIONS → 200 with Allow (core methods + handled ones), Accept, Supported; To tag added', async () => {
    const r = await ask(req('OPTIONS'));
    expect(statusOf(r)).toBe(200);
    expect(r).toContain('\r\nAllow: OPTIONS, ACK, CANCEL, MESSAGE\r\n');
    expect(r).toContain('\r\nAccept: application/sdp\r\n');
    expect(r).toMatch(/\r\nSupported: ?\r\n/);
    expect(r).toMatch(/\r\nTo: <sip:x@127\.0\.0\.1>;tag=[0-9a-f]{16}\r\n/);
  });

  it('handlers run in order; the first that claims answers', async () => {
    calls.length = 0;
    expect(statusOf(await ask(req('MESSAGE')))).toBe(202);
    expect(calls).toEqual(['first']);
  });

  it('unclaimed by the method handlers → "*" handlers → core default (404 for a known method)', async () => {
    calls.length = 0;
    expect(statusOf(await ask(req('MESSAGE', 'sip:second@127.0.0.1')))).toBe(404);
    expect(calls).toEqual(['first', 'second', 'star']);
    expect(statusOf(await ask(req('PUBLISH')))).toBe(489);
  });

  it('unknown method → 501 with Allow; Require of an unknown extension → 420 with Unsupported', async () => {
    const r = await ask(req('FOO'));
    expect(statusOf(r)).toBe(501);
    expect(r).toContain('\r\nAllow: OPTIONS, ACK, CANCEL, MESSAGE\r\n');
    const r2 = await ask(req('OPTIONS', 'sip:x@127.0.0.1', 'Require: nope\r\n'));
    expect(statusOf(r2)).toBe(420);
    expect(r2).toContain('\r\nUnsupported: nope\r\n');
  });

  it('an INVITE without Call-ID, From and To → one stateless 400, no transaction, no retransmission (timer G would resend at T1)', async () => {
    const before = stack.transactionCount.server;
    peer.clear();
    const text = `INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKmalformed1\r\nMax-Forwards: 70\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
    await peer.send(text, port);
    const [d] = await peer.waitFor(() => true, 1, 1500);
    expect(statusOf(d?.text ?? '')).toBe(400);
    expect(stack.transactionCount.server).toBe(before);
    await holdsFor(() => peer.received.length === 1, {
      forMs: 1600,
      what: 'exactly one answer',
      detail: () => `${peer.received.length} answers`,
    });
  });

  it('a handler that throws → 500', async () => {
    expect(statusOf(await ask(req('MESSAGE', 'sip:second-boom@127.0.0.1')))).toBe(500);
  });

  it('a claimed request answered later: retransmissions meanwhile are absorbed (handler runs once), then get the final', async () => {
    calls.length = 0;
    pending = undefined;
    const text = req('MESSAGE', 'sip:second-later@127.0.0.1', '', 'z9hG4bKlater1');
    peer.clear();
    await peer.send(text, port);
    await waitFor(() => calls.includes('second'), { what: 'the handler to claim the request', timeoutMs: 2_000 });
    await peer.send(text, port);
    // The retransmission is absorbed: no second handler run, no answer before the final.
    await holdsFor(() => calls.length === 2 && peer.received.length === 0, {
      forMs: 100,
      what: 'the retransmission absorbed',
    });
    expect(calls).toEqual(['first', 'second']);
    expect(peer.received).toHaveLength(0);
    pending!.reply(200, 'OK');
    await peer.waitFor(() => true, 1, 1000);
    await peer.send(text, port);
    const got = await peer.waitFor(() => true, 2, 1000);
    expect(got.map((d) => statusOf(d.text))).toEqual([200, 200]);
    expect(got[1]!.text).toBe(got[0]!.text);
    expect(calls).toEqual(['first', 'second']);
    expect(pending!.reply(500)).toBeUndefined(); // too late: refused, not thrown
  });

  it('the core answers unclaimed non-INVITE requests without keeping a transaction', async () => {
    const before = stack.transactionCount.server;
    await ask(req('OPTIONS'));
    await ask(req('REGISTER'));
    expect(stack.transactionCount.server).toBe(before);
  });

  it('an INVITE nobody claims → 404 through an INVITE server transaction', async () => {
    const before = stack.transactionCount.server;
    expect(statusOf(await ask(req('INVITE')))).toBe(404);
    expect(stack.transactionCount.server).toBe(before + 1);
  });
});

describe('CANCEL for an INVITE already answered (RFC 3261 §9.2)', () => {
  it('gets 200 with the To tag of the final response, no 487; the INVITE context is let go once answered', async () => {
    const s = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    let answered: WeakRef<IncomingRequest> | undefined;
    s.handle('INVITE', (ctx) => {
      ctx.reply(ctx.request.uri.includes('busy') ? 486 : 200, undefined, [['Contact', '<sip:b@127.0.0.1>']]);
      answered = new WeakRef(ctx);
      return true;
    });
    await s.start();
    const p = await UdpPeer.open();
    try {
      const sPort = s.addresses()[0]!.port;
      for (const who of ['busy', 'ok']) {
        const uri = `sip:${who}@127.0.0.1`;
        const head = (method: string): string =>
          `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${p.port};branch=z9hG4bKans-${who}\r\nMax-Forwards: 70\r\n` +
          `From: <sip:t@127.0.0.1>;tag=fa\r\nTo: <${uri}>\r\nCall-ID: answered-${who}\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`;
        p.clear();
        await p.send(head('INVITE'), sPort);
        const [final] = await p.waitFor((d) => /^SIP\/2\.0 (486|200) /.test(d.text), 1);
        const tag = /\r\nTo: [^\r]*;tag=([^;\r]+)/.exec(final!.text)![1];
        await p.send(head('CANCEL'), sPort);
        const [ok] = await p.waitFor((d) => d.text.startsWith('SIP/2.0 200 ') && d.text.includes(' CANCEL\r\n'), 1);
        expect(ok!.text).toContain(`;tag=${tag}\r\n`);
        await holdsFor(() => p.received.every((d) => !d.text.startsWith('SIP/2.0 487 ')), {
          forMs: 200,
          what: 'no 487 for an INVITE already answered',
        });
      }
      // The stack no longer holds the answered INVITE's context (its transaction still waits out Timer H/L).
      expect(s.transactionCount.server).toBeGreaterThan(0);
      (await import('node:v8')).setFlagsFromString('--expose-gc');
      const gc = (await import('node:vm')).runInNewContext('gc') as () => void;
      await new Promise((r) => setImmediate(r));
      gc();
      expect(answered!.deref()).toBeUndefined();
    } finally {
      await p.close();
      await s.stop();
    }
  });
});

describe("an INVITE refused statelessly by its handler (RFC 3261 §8.2.7; the trust policy's 403/407)", () => {
  it('one answer, no 100 and no retransmission, no transaction left; the retransmitted INVITE is answered again, the ACK dropped', async () => {
    const s = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    let seen = 0;
    s.handle('INVITE', (ctx) => {
      seen++;
      ctx.replyStateless(407, 'Proxy Authentication Required', [
        ['Proxy-Authenticate', `Digest realm="x", nonce="n${seen}"`],
      ]);
      return true;
    });
    await s.start();
    const p = await UdpPeer.open();
    try {
      const sPort = s.addresses()[0]!.port;
      const msg = (method: string, toTag = ''): string =>
        `${method} sip:7777@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${p.port};branch=z9hG4bKrefused1\r\nMax-Forwards: 70\r\n` +
        `From: <sip:8888@127.0.0.1>;tag=fr\r\nTo: <sip:7777@127.0.0.1>${toTag}\r\nCall-ID: refused-1\r\nCSeq: 1 ${method}\r\nContact: <sip:8888@127.0.0.1:${p.port}>\r\nContent-Length: 0\r\n\r\n`;
      await p.send(msg('INVITE'), sPort);
      const [first] = await p.waitFor(() => true, 1);
      expect(statusOf(first!.text)).toBe(407);
      expect(first!.text).toContain('\r\nProxy-Authenticate: Digest realm="x", nonce="n1"\r\n');
      expect(s.transactionCount.server).toBe(0);
      await holdsFor(() => p.received.length === 1, {
        forMs: 1200,
        what: 'one answer: no 100 Trying, no timer G retransmission',
      });
      // The INVITE again (its 407 lost): processed again, a fresh answer with the same To tag.
      await p.send(msg('INVITE'), sPort);
      const two = await p.waitFor(() => true, 2);
      expect(statusOf(two[1]!.text)).toBe(407);
      expect(two[1]!.text).toContain('nonce="n2"');
      const tag = (t: string): string => /\r\nTo: [^\r]*;tag=([^;\r]+)/.exec(t)![1]!;
      expect(tag(two[1]!.text)).toBe(tag(first!.text));
      // Its ACK matches nothing: dropped, nothing answered, nothing dispatched.
      await p.send(msg('ACK', `;tag=${tag(first!.text)}`), sPort);
      await holdsFor(() => p.received.length === 2 && seen === 2, { forMs: 300, what: 'the ACK absorbed silently' });
      expect(s.transactionCount.server).toBe(0);
    } finally {
      await p.close();
      await s.stop();
    }
  });
});
