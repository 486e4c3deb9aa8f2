/**
 * Softswitch failover (behaviour §3.3): an INVITE that gets 503, or no answer at all, is retried
 * on the next softswitch for the number (new INVITE); a 486 is the callee's answer and is relayed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { runSipp, startSipp, sippTraceMessages } from '../helpers/sipp.js';
import { startCallServer, type CallServer } from './call-harness.js';
import { UdpPeer } from '../helpers/udp-peer.js';
import { waitFor } from '../helpers/wait.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);
/** A SIPp softswitch on 127.0.0.1:`port` playing `scenario` for one call. */
const softswitch = (scenario: string, target: string, port: number) =>
  startSipp({ scenario: scen(scenario), target, localPort: port, calls: 1, timeoutMs: 20_000 });
/** The customer's call to +15551231111 (200 ms long), run to its end. */
const customerCall = (target: string) =>
  runSipp({
    scenario: scen('uac-basic-call.xml'),
    target,
    calls: 1,
    timeoutMs: 20_000,
    args: ['-s', '+15551231111', '-d', '200'],
  });
/** The request line of the first INVITE a traced SIPp received. */
const inviteLine = (log: string) =>
  sippTraceMessages(log)
    .find((m) => m.dir === 'received' && m.text.startsWith('INVITE'))!
    .text.split('\n')[0]!
    .trim();

let server: CallServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function yaml(firstPort: number, secondPort: number, firstOptions = '', secondPrefix = '+1'): string {
  return `server:
  name: CallTest
  sip:
    listen: ["udp:127.0.0.1:5060"]
dns:
  - number: SBC-A
    type: voip-service
    options:
      contact: "127.0.0.1:${firstPort}"
      service-type: softswitch
      prefix: "+1"
      priority: "1"
${firstOptions}  - number: SBC-B
    type: voip-service
    options:
      contact: "127.0.0.1:${secondPort}"
      service-type: softswitch
      prefix: "${secondPrefix}"
      priority: "2"
`;
}

describe('softswitch failover', () => {
  it('503 from the first softswitch: a new INVITE (new Call-ID) goes to the second, which answers', async () => {
    const p1 = await freePort();
    const p2 = await freePort();
    server = await startCallServer(yaml(p1, p2));
    const target = `127.0.0.1:${server.port}`;
    const first = await softswitch('uas-unavailable-503.xml', target, p1);
    const second = await softswitch('uas-answer.xml', target, p2);
    const customer = await customerCall(target);
    const [a, b] = await Promise.all([first.result(), second.result()]);
    expect(customer.code, customer.errors).toBe(0);
    expect(a.code, a.errors).toBe(0);
    expect(b.code, b.errors).toBe(0);
    const inv = (log: string) =>
      sippTraceMessages(log).find((m) => m.dir === 'received' && m.text.startsWith('INVITE'))!.text;
    const callId = (t: string) => /^Call-ID:\s*(.*)$/im.exec(t)![1]!.trim();
    expect(inv(a.messages).split('\n')[0]!.trim()).toBe(`INVITE sip:+15551231111@127.0.0.1:${p1} SIP/2.0`);
    expect(inv(b.messages).split('\n')[0]!.trim()).toBe(`INVITE sip:+15551231111@127.0.0.1:${p2} SIP/2.0`);
    expect(callId(inv(a.messages))).not.toBe(callId(inv(b.messages)));
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
  });

  it('no answer at all (Timer B, T1 = 50 ms here) fails over too', async () => {
    const dead = await freePort();
    const p2 = await freePort();
    server = await startCallServer(yaml(dead, p2), { t1: 50 });
    const target = `127.0.0.1:${server.port}`;
    const second = await softswitch('uas-answer.xml', target, p2);
    const customer = await customerCall(target);
    const b = await second.result();
    expect(customer.code, customer.errors).toBe(0);
    expect(b.code, b.errors).toBe(0);
  });

  it('486 from the first softswitch is the callee answer: relayed, no failover', async () => {
    const p1 = await freePort();
    const p2 = await freePort();
    server = await startCallServer(yaml(p1, p2));
    const target = `127.0.0.1:${server.port}`;
    const first = await softswitch('uas-busy-486.xml', target, p1);
    const customer = await runSipp({
      scenario: scen('uac-expect-486.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '+15551231111'],
    });
    expect(customer.code, customer.errors).toBe(0);
    expect((await first.result()).code).toBe(0);
  });

  describe('sip-trying-timeout (behaviour §4, §14)', () => {
    let silent: UdpPeer | undefined;
    afterEach(async () => {
      await silent?.close();
      silent = undefined;
    });
    const invitesAt = (p: UdpPeer) => p.received.filter((d) => d.text.startsWith('INVITE ')).length;

    it('the first softswitch never answers (no 100): after sip-trying-timeout = 1 s the INVITE goes to the second, which answers — not after 32 s of Timer B', async () => {
      silent = await UdpPeer.open();
      const p2 = await freePort();
      server = await startCallServer(yaml(silent.port, p2, '      sip-trying-timeout: "1"\n'));
      const target = `127.0.0.1:${server.port}`;
      const second = await softswitch('uas-answer.xml', target, p2);
      const t0 = Date.now();
      const customer = await customerCall(target);
      const took = Date.now() - t0;
      expect(customer.code, customer.errors).toBe(0);
      expect((await second.result()).code).toBe(0);
      expect(invitesAt(silent)).toBeGreaterThanOrEqual(1);
      expect(took).toBeGreaterThanOrEqual(1000);
      expect(took).toBeLessThan(8000);
      // No provisional response: no CANCEL may be sent (RFC 3261 §9.1).
      expect(silent.received.some((d) => d.text.startsWith('CANCEL '))).toBe(false);
      await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    });

    it('the only softswitch never answers: after 1 s the call goes to its no-response-dn (through another softswitch), which answers', async () => {
      silent = await UdpPeer.open();
      const p2 = await freePort();
      server = await startCallServer(
        yaml(silent.port, p2, '      sip-trying-timeout: "1"\n      no-response-dn: "+2000"\n', '+2'),
      );
      const target = `127.0.0.1:${server.port}`;
      const second = await softswitch('uas-answer.xml', target, p2);
      const customer = await customerCall(target);
      expect(customer.code, customer.errors).toBe(0);
      const b = await second.result();
      expect(b.code, b.errors).toBe(0);
      expect(inviteLine(b.messages)).toBe(`INVITE sip:+2000@127.0.0.1:${p2} SIP/2.0`);
      expect(invitesAt(silent)).toBeGreaterThanOrEqual(1);
      await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    });

    it('the first softswitch sends only 100 Trying: after 1 s it is CANCELled (200, 487, ACK) and the call goes to its no-response-dn', async () => {
      const p1 = await freePort();
      const p2 = await freePort();
      server = await startCallServer(
        yaml(p1, p2, '      sip-trying-timeout: "1"\n      no-response-dn: "+2000"\n', '+2'),
      );
      const target = `127.0.0.1:${server.port}`;
      const first = await softswitch('uas-trying-only.xml', target, p1);
      const second = await softswitch('uas-answer.xml', target, p2);
      const customer = await customerCall(target);
      expect(customer.code, customer.errors).toBe(0);
      const a = await first.result();
      expect(a.code, a.errors).toBe(0);
      const b = await second.result();
      expect(b.code, b.errors).toBe(0);
      expect(inviteLine(b.messages)).toBe(`INVITE sip:+2000@127.0.0.1:${p2} SIP/2.0`);
      await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    });

    it('the only softswitch never answers and there is no no-response-dn: the caller gets 408 after 1 s', async () => {
      silent = await UdpPeer.open();
      const p2 = await freePort();
      server = await startCallServer(yaml(silent.port, p2, '      sip-trying-timeout: "1"\n', '+2'));
      const target = `127.0.0.1:${server.port}`;
      const t0 = Date.now();
      const customer = await runSipp({
        scenario: scen('uac-expect-408.xml'),
        target,
        calls: 1,
        timeoutMs: 20_000,
        args: ['-s', '+15551231111'],
      });
      expect(customer.code, customer.errors).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8000);
      await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    });
  });
});
