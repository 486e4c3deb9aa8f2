/**
 * SIPp (the real peer) against the stack on loopback, over UDP and TCP: retransmission
 * absorption, timer G, CANCEL, and plain OPTIONS.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { freePort } from '../helpers/ports.js';
import { repoRoot } from '../helpers/paths.js';
import { runSipp, sippTraceMessages } from '../helpers/sipp.js';

const scenario = (name: string): string => join(repoRoot, 'test/integration/sipp', name);

let stack: SipStack;
let port = 0;
const held: string[] = [];
/** How many times the TU saw each Call-ID (absorbed retransmissions must not count). */
const seen = new Map<string, number>();

beforeAll(async () => {
  port = await freePort();
  // 100 Trying after 1 s (default 200 ms) so that SIPp retransmits the slow INVITE (at 500 ms)
  // before any response; slow handlers (sip:slow@…) answer at 1.5 s.
  stack = new SipStack({
    listen: [`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`],
    timers: { trying100Delay: 1000 },
  });
  const count = (id: string): void => void seen.set(id, (seen.get(id) ?? 0) + 1);
  stack.handle('OPTIONS', (ctx) => {
    if (!ctx.request.uri.startsWith('sip:slow@')) return false;
    count(ctx.request.callId);
    setTimeout(() => ctx.reply(200), 1500);
    return true;
  });
  // An INVITE handler that claims only sip:hold@… and never answers (for the CANCEL test).
  stack.handle('INVITE', (ctx) => {
    if (ctx.request.uri.startsWith('sip:slow@')) {
      count(ctx.request.callId);
      setTimeout(() => ctx.reply(404), 1500);
      return true;
    }
    if (!ctx.request.uri.startsWith('sip:hold@')) return false;
    held.push(ctx.request.callId);
    return true;
  });
  await stack.start();
});

afterAll(async () => {
  await stack.stop();
});

function received(messages: string): string[] {
  return sippTraceMessages(messages)
    .filter((m) => m.dir === 'received')
    .map((m) => m.text.split('\n')[0]!.trim());
}

function sent(messages: string): string[] {
  return sippTraceMessages(messages)
    .filter((m) => m.dir === 'sent')
    .map((m) => m.text.split('\n')[0]!.trim().split(' ')[0]!);
}

for (const transport of ['u1', 't1'] as const) {
  const name = transport === 'u1' ? 'UDP' : 'TCP';
  describe(`SIPp over ${name}`, () => {
    it('OPTIONS → 200 with Allow (20 calls)', async () => {
      const r = await runSipp({
        scenario: scenario('uac-options.xml'),
        target: `127.0.0.1:${port}`,
        transport,
        calls: 20,
        rate: 50,
        traceMessages: true,
      });
      expect(r.code, r.errors || r.stderr).toBe(0);
      expect(received(r.messages)).toEqual(Array(20).fill('SIP/2.0 200 OK'));
    });

    it('CANCEL: 100 Trying after the delay, 200 to the CANCEL, 487 to the INVITE; unmatched CANCEL → 481', async () => {
      const r = await runSipp({
        scenario: scenario('uac-cancel-487.xml'),
        target: `127.0.0.1:${port}`,
        transport,
        calls: 2,
        rate: 10,
        traceMessages: true,
      });
      expect(r.code, r.errors || r.stderr).toBe(0);
      const got = received(r.messages);
      expect(got.filter((l) => l.startsWith('SIP/2.0 100 '))).toHaveLength(2);
      expect(got.filter((l) => l === 'SIP/2.0 200 OK')).toHaveLength(2);
      expect(got.filter((l) => l === 'SIP/2.0 487 Request Terminated')).toHaveLength(2);
      expect(got.filter((l) => l === 'SIP/2.0 481 Call/Transaction Does Not Exist')).toHaveLength(2);
    });
  });
}

describe('SIPp over UDP retransmits, the server absorbs', () => {
  it('slow OPTIONS: SIPp retransmits (timer E), the TU sees each request once, one 200 per call', async () => {
    seen.clear();
    const r = await runSipp({
      scenario: scenario('uac-options-slow.xml'),
      target: `127.0.0.1:${port}`,
      transport: 'u1',
      calls: 3,
      rate: 10,
      traceMessages: true,
    });
    expect(r.code, r.errors || r.stderr).toBe(0);
    expect(sent(r.messages).filter((m) => m === 'OPTIONS').length).toBeGreaterThanOrEqual(6);
    expect(received(r.messages)).toEqual(Array(3).fill('SIP/2.0 200 OK'));
    expect([...seen.values()]).toEqual([1, 1, 1]);
  });

  it('slow INVITE → 404: SIPp retransmits (timer A) until our 100 Trying; the TU sees one INVITE; one 404; ACK absorbed', async () => {
    seen.clear();
    const r = await runSipp({
      scenario: scenario('uac-invite-slow-404.xml'),
      target: `127.0.0.1:${port}`,
      transport: 'u1',
      calls: 3,
      rate: 10,
      traceMessages: true,
    });
    expect(r.code, r.errors || r.stderr).toBe(0);
    const got = received(r.messages);
    expect(got.filter((l) => l.startsWith('SIP/2.0 404 '))).toHaveLength(3);
    expect(got.filter((l) => l.startsWith('SIP/2.0 100 '))).toHaveLength(3);
    expect(got).toHaveLength(6);
    expect(sent(r.messages).filter((m) => m === 'INVITE').length).toBeGreaterThanOrEqual(6);
    expect([...seen.values()]).toEqual([1, 1, 1]);
  });
});

describe('SIPp over TCP: requests repeated on the connection are absorbed', () => {
  it('a repeated OPTIONS (same branch) gets a byte-identical 200 (stateless core answer, RFC 3261 §8.2.7), nothing else', async () => {
    const r = await runSipp({
      scenario: scenario('uac-options-retrans.xml'),
      target: `127.0.0.1:${port}`,
      transport: 't1',
      calls: 5,
      rate: 20,
      traceMessages: true,
    });
    expect(r.code, r.errors || r.stderr).toBe(0);
    const responses = sippTraceMessages(r.messages).filter((m) => m.dir === 'received');
    expect(responses.map((m) => m.text.split('\n')[0]!.trim())).toEqual(Array(10).fill('SIP/2.0 200 OK'));
    for (let i = 0; i < 10; i += 2) expect(responses[i + 1]!.text).toBe(responses[i]!.text);
    expect(responses[2]!.text).not.toBe(responses[0]!.text); // another call: another To tag
  });

  it('INVITE → 404; the same INVITE again gets the 404 again; the ACK is absorbed', async () => {
    const r = await runSipp({
      scenario: scenario('uac-invite-404-absorb.xml'),
      target: `127.0.0.1:${port}`,
      transport: 't1',
      calls: 3,
      rate: 10,
      traceMessages: true,
    });
    expect(r.code, r.errors || r.stderr).toBe(0);
    expect(received(r.messages)).toEqual(Array(6).fill('SIP/2.0 404 Not Found'));
  });
});
