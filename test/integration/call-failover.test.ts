/**
 * Softswitch failover (behaviour §3.3): an INVITE that gets 503, or no answer at all, is retried
 * on the next softswitch for the number (new INVITE); a 486 is the callee's answer and is relayed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { runSipp, startSipp, sippTraceMessages } from '../helpers/sipp.js';
import { startCallServer, type CallServer } from './call-harness.js';
import { waitFor } from '../helpers/wait.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);

let server: CallServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function yaml(firstPort: number, secondPort: number): string {
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
  - number: SBC-B
    type: voip-service
    options:
      contact: "127.0.0.1:${secondPort}"
      service-type: softswitch
      prefix: "+1"
      priority: "2"
`;
}

describe('softswitch failover', () => {
  it('503 from the first softswitch: a new INVITE (new Call-ID) goes to the second, which answers', async () => {
    const p1 = await freePort();
    const p2 = await freePort();
    server = await startCallServer(yaml(p1, p2));
    const target = `127.0.0.1:${server.port}`;
    const first = await startSipp({
      scenario: scen('uas-unavailable-503.xml'),
      target,
      localPort: p1,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const second = await startSipp({
      scenario: scen('uas-answer.xml'),
      target,
      localPort: p2,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const customer = await runSipp({
      scenario: scen('uac-basic-call.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '+15551231111', '-d', '200'],
    });
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
    const second = await startSipp({
      scenario: scen('uas-answer.xml'),
      target,
      localPort: p2,
      calls: 1,
      timeoutMs: 20_000,
    });
    const customer = await runSipp({
      scenario: scen('uac-basic-call.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '+15551231111', '-d', '200'],
    });
    const b = await second.result();
    expect(customer.code, customer.errors).toBe(0);
    expect(b.code, b.errors).toBe(0);
  });

  it('486 from the first softswitch is the callee answer: relayed, no failover', async () => {
    const p1 = await freePort();
    const p2 = await freePort();
    server = await startCallServer(yaml(p1, p2));
    const target = `127.0.0.1:${server.port}`;
    const first = await startSipp({
      scenario: scen('uas-busy-486.xml'),
      target,
      localPort: p1,
      calls: 1,
      timeoutMs: 20_000,
    });
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
});
