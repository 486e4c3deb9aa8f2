/**
 * Calls to a routing point and to an agent DN, with the real agent service, router and B2BUA;
 * customer and agent phone are SIPp processes on loopback.
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

function yaml(phonePort: number, inviteTimeout = '5', routerTimeout = '1'): string {
  return `server:
  name: CallTest
  sip:
    listen: ["udp:127.0.0.1:5060"]
dns:
  - number: "7001"
    type: extension
    options:
      contact: "127.0.0.1:${phonePort}"
      reject-call-notready: "true"
      sip-invite-timeout: "${inviteTimeout}"
  - number: "5000"
    type: routing-point
    options:
      agent-group: Support
      router-timeout: "${routerTimeout}"
agents:
  - { id: jay, name: Jay, password: "jay-secret", dn: "7001" }
agent-groups:
  - name: Support
    agents: [jay]
`;
}

describe('routed and direct calls to an agent DN', () => {
  it('routing point → Ready agent: phone rung at its static contact, events routed to 7001', async () => {
    const phonePort = await freePort();
    server = await startCallServer(yaml(phonePort));
    server.agents.login({ agentId: 'jay', password: 'jay-secret', thisDN: '7001', workMode: 'AutoIn' });
    const phone = await startSipp({
      scenario: scen('uas-answer.xml'),
      target: `127.0.0.1:${server.port}`,
      localPort: phonePort,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const customer = await runSipp({
      scenario: scen('uac-basic-call.xml'),
      target: `127.0.0.1:${server.port}`,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '5000', '-d', '300'],
    });
    const ph = await phone.result();
    expect(customer.code, customer.errors).toBe(0);
    expect(ph.code, ph.errors).toBe(0);
    const invite = sippTraceMessages(ph.messages).find((m) => m.dir === 'received' && m.text.startsWith('INVITE'))!;
    expect(invite.text.split('\n')[0]!.trim()).toBe(`INVITE sip:7001@127.0.0.1:${phonePort} SIP/2.0`);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    const seq = server.events.map((e) => `${e.name}:${e.thisDN}:${e.callType}:${e.routed ? 'routed' : '-'}`);
    expect(seq).toEqual([
      'EventRinging:7001:Inbound:routed',
      'EventEstablished:7001:Inbound:routed',
      'EventReleased:7001:Inbound:routed',
    ]);
    const est = server.events[1]!;
    expect(est.otherDN).toBe('customer');
    expect(est.dnis).toBe('5000');
    expect(est.connId).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(server.events.map((e) => e.connId)).size).toBe(1);
  });

  it('reject-call-notready: a NotReady agent is not rung by a direct call, the caller gets 480', async () => {
    const phonePort = await freePort();
    server = await startCallServer(yaml(phonePort));
    server.agents.login({ agentId: 'jay', password: 'jay-secret', thisDN: '7001', workMode: 'AuxWork' });
    const customer = await runSipp({
      scenario: scen('uac-expect-480.xml'),
      target: `127.0.0.1:${server.port}`,
      calls: 1,
      timeoutMs: 10_000,
      traceMessages: true,
      args: ['-s', '7001'],
    });
    expect(customer.code, customer.errors).toBe(0);
    expect(server.events).toEqual([]);
  });

  it('RONA: the agent phone rings past sip-invite-timeout, gets CANCEL, the agent goes NotReady, the caller 480 at router-timeout', async () => {
    const phonePort = await freePort();
    server = await startCallServer(yaml(phonePort, '1', '3'));
    server.agents.login({ agentId: 'jay', password: 'jay-secret', thisDN: '7001', workMode: 'AutoIn' });
    const phone = await startSipp({
      scenario: scen('uas-ringing-no-answer.xml'),
      target: `127.0.0.1:${server.port}`,
      localPort: phonePort,
      calls: 1,
      timeoutMs: 20_000,
    });
    const customer = await runSipp({
      scenario: scen('uac-expect-480.xml'),
      target: `127.0.0.1:${server.port}`,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '5000'],
    });
    const ph = await phone.result();
    expect(ph.code, ph.errors).toBe(0);
    expect(customer.code, customer.errors).toBe(0);
    expect(server.agents.sessionByDn('7001')?.status.state).toBe('NotReady');
    expect(server.events.map((e) => `${e.name}:${e.thisDN}:${e.routed ? 'routed' : '-'}`)).toEqual([
      'EventRinging:7001:routed',
      'EventReleased:7001:routed',
    ]);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
  });

  it('routing point with nobody Ready: after router-timeout the caller gets 480', async () => {
    const phonePort = await freePort();
    server = await startCallServer(yaml(phonePort));
    const customer = await runSipp({
      scenario: scen('uac-expect-480.xml'),
      target: `127.0.0.1:${server.port}`,
      calls: 1,
      timeoutMs: 10_000,
      traceMessages: true,
      args: ['-s', '5000'],
    });
    expect(customer.code, customer.errors).toBe(0);
    const got = sippTraceMessages(customer.messages)
      .filter((m) => m.dir === 'received')
      .map((m) => m.text.split('\n')[0]!.trim());
    expect(got).toContain('SIP/2.0 180 Ringing');
    expect(got.some((l) => l.startsWith('SIP/2.0 480'))).toBe(true);
  });
});
