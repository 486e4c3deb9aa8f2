/**
 * CTI call control on live SIP calls (SIPp customer, agent phone and transfer target):
 * hold/retrieve by re-INVITEs, single-step transfer by re-INVITEs (no REFER), errors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallControlError } from '../../src/contact-center/call-control.js';
import { freePort } from '../helpers/ports.js';
import { runSipp, startSipp, sippTraceMessages } from '../helpers/sipp.js';
import { CONSULT_ESTABLISHED, eventsOf, startCallServer, type CallServer, scen } from './call-harness.js';
import { callYaml, extensionDn, softswitchDn } from './call-yaml.js';
import { waitFor } from '../helpers/wait.js';

const origin = { requesterId: 'desk-1', referenceId: 7 };

let server: CallServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function yaml(agentPort: number, ssPort: number): string {
  return callYaml([
    softswitchDn(ssPort),
    extensionDn('7001', agentPort, { 'dual-dialog-enabled': 'false', 'refer-enabled': 'false' }),
  ]);
}

async function established(s: CallServer): Promise<string> {
  await waitFor(() => s.events.some((e) => e.name === 'EventEstablished'), {
    what: 'EventEstablished',
    timeoutMs: 10_000,
  });
  return s.events.find((e) => e.name === 'EventEstablished')!.connId;
}

describe('CTI call control on a live call', () => {
  it('RequestHoldCall / RequestRetrieveCall: re-INVITEs to both legs, EventHeld / EventRetrieved', async () => {
    const agentPort = await freePort();
    server = await startCallServer(yaml(agentPort, await freePort()));
    const target = `127.0.0.1:${server.port}`;
    const agent = await startSipp({
      scenario: scen('uas-agent-held-retrieved.xml'),
      target,
      localPort: agentPort,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const customer = runSipp({
      scenario: scen('uac-held-retrieved.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
      args: ['-s', '7001'],
    });
    const connId = await established(server);
    await server.control.handle({ request: 'RequestHoldCall', thisDN: '7001', connId }, origin);
    await expect(
      server.control.handle({ request: 'RequestHoldCall', thisDN: '7001', connId }, origin),
    ).rejects.toBeInstanceOf(CallControlError);
    await server.control.handle({ request: 'RequestRetrieveCall', thisDN: '7001', connId }, origin);
    const [cu, ag] = await Promise.all([customer, agent.result()]);
    expect(cu.code, cu.errors + cu.messages.slice(-2500)).toBe(0);
    expect(ag.code, ag.errors + ag.messages.slice(-2500)).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    expect(server.events.map((e) => e.name)).toEqual([
      'EventRinging',
      'EventEstablished',
      'EventHeld',
      'EventRetrieved',
      'EventReleased',
    ]);
    const held = server.events[2]!;
    expect(held).toMatchObject({ thisDN: '7001', connId, otherDN: 'customer', callType: 'Inbound', origin });
  });

  it('RequestSingleStepTransfer: agent released (BYE), target INVITEd without offer, customer re-INVITEd with its offer', async () => {
    const agentPort = await freePort();
    const ssPort = await freePort();
    server = await startCallServer(yaml(agentPort, ssPort));
    const target = `127.0.0.1:${server.port}`;
    const agent = await startSipp({
      scenario: scen('uas-answer.xml'),
      target,
      localPort: agentPort,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const dest = await startSipp({
      scenario: scen('uas-phone-offer-in-200.xml'),
      target,
      localPort: ssPort,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const customer = runSipp({
      scenario: scen('uac-transferred.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
      args: ['-s', '7001'],
    });
    const connId = await established(server);
    await server.control.handle(
      { request: 'RequestSingleStepTransfer', thisDN: '7001', connId, otherDN: '9 123' },
      origin,
    );
    const [cu, ag, de] = await Promise.all([customer, agent.result(), dest.result()]);
    expect(cu.code, cu.errors + cu.messages.slice(-2500)).toBe(0);
    expect(ag.code, ag.errors).toBe(0);
    expect(de.code, de.errors + de.messages.slice(-2500)).toBe(0);
    expect(sippTraceMessages(ag.messages).some((m) => m.dir === 'received' && m.text.startsWith('REFER'))).toBe(false);
    const destInvite = sippTraceMessages(de.messages).find((m) => m.dir === 'received' && m.text.startsWith('INVITE'))!;
    expect(destInvite.text.split('\n')[0]!.trim()).toBe(`INVITE sip:9123@127.0.0.1:${ssPort} SIP/2.0`);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    const names = server.events.map((e) => `${e.name}:${e.thisDN}`);
    expect(names).toEqual(['EventRinging:7001', 'EventEstablished:7001', 'EventReleased:7001']);
    expect(server.events[2]!.origin).toEqual(origin);
  });

  it('phone-side hold: the agent re-INVITE (sendonly) and UPDATE (sendrecv) are relayed with their answers; EventHeld / EventRetrieved', async () => {
    const agentPort = await freePort();
    server = await startCallServer(yaml(agentPort, await freePort()));
    const target = `127.0.0.1:${server.port}`;
    const agent = await startSipp({
      scenario: scen('uas-agent-hold-by-phone.xml'),
      target,
      localPort: agentPort,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const customer = runSipp({
      scenario: scen('uac-answers-reinvite-update.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
      args: ['-s', '7001'],
    });
    const [cu, ag] = await Promise.all([customer, agent.result()]);
    expect(cu.code, cu.errors + cu.messages.slice(-2500)).toBe(0);
    expect(ag.code, ag.errors + ag.messages.slice(-2500)).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    expect(server.events.map((e) => `${e.name}:${e.thisDN}`)).toEqual([
      'EventRinging:7001',
      'EventEstablished:7001',
      'EventHeld:7001',
      'EventRetrieved:7001',
      'EventReleased:7001',
    ]);
  });

  it('consultation, single dialog (behaviour §6, §15.6): initiate then complete; the agent phone only ever sees re-INVITEs', async () => {
    const agentPort = await freePort();
    const ssPort = await freePort();
    server = await startCallServer(yaml(agentPort, ssPort));
    const target = `127.0.0.1:${server.port}`;
    const agent = await startSipp({
      scenario: scen('uas-agent-consult.xml'),
      target,
      localPort: agentPort,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const dest = await startSipp({
      scenario: scen('uas-target-consult.xml'),
      target,
      localPort: ssPort,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const customer = runSipp({
      scenario: scen('uac-consulted.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
      args: ['-s', '7001'],
    });
    const connId = await established(server);
    await server.control.handle(
      { request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' },
      origin,
    );
    await waitFor(() => server!.events.filter((e) => e.name === 'EventEstablished').length === 2, {
      what: 'EventEstablished of the call and of the consultation',
      timeoutMs: 10_000,
    });
    const consultId = server.events.find((e) => e.name === 'EventDialing')!.connId;
    expect(consultId).not.toBe(connId);
    await server.control.handle(
      { request: 'RequestCompleteTransfer', thisDN: '7001', connId, transferConnId: consultId },
      origin,
    );
    const [cu, ag, de] = await Promise.all([customer, agent.result(), dest.result()]);
    expect(cu.code, cu.errors + cu.messages.slice(-2500)).toBe(0);
    expect(ag.code, ag.errors + ag.messages.slice(-2500)).toBe(0);
    expect(de.code, de.errors + de.messages.slice(-2500)).toBe(0);
    const agentIn = sippTraceMessages(ag.messages).filter((m) => m.dir === 'received' && m.text.startsWith('INVITE'));
    const tagsOf = (t: string) => /^To:.*tag=([^;\s]+)/im.exec(t)?.[1];
    expect(agentIn).toHaveLength(2);
    expect(tagsOf(agentIn[1]!.text)).toBeDefined(); // the second INVITE is a re-INVITE in the same dialog
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    expect(eventsOf(server, connId)).toEqual([...CONSULT_ESTABLISHED, 'EventReleased:consult', 'EventReleased:main']);
    expect(server.events.find((e) => e.name === 'EventDialing')!.callType).toBe('Consult');
  });

  it('consultation then RequestReconnectCall: target released, agent back with the customer (EventRetrieved)', async () => {
    const agentPort = await freePort();
    const ssPort = await freePort();
    server = await startCallServer(yaml(agentPort, ssPort));
    const target = `127.0.0.1:${server.port}`;
    const agent = await startSipp({
      scenario: scen('uas-agent-consult-reconnect.xml'),
      target,
      localPort: agentPort,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const dest = await startSipp({
      scenario: scen('uas-target-consult-released.xml'),
      target,
      localPort: ssPort,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
    });
    const customer = runSipp({
      scenario: scen('uac-consult-reconnected.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
      args: ['-s', '7001'],
    });
    const connId = await established(server);
    await server.control.handle(
      { request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' },
      origin,
    );
    await waitFor(() => server!.events.filter((e) => e.name === 'EventEstablished').length === 2, {
      what: 'EventEstablished of the call and of the consultation',
      timeoutMs: 10_000,
    });
    await server.control.handle({ request: 'RequestReconnectCall', thisDN: '7001', connId }, origin);
    const [cu, ag, de] = await Promise.all([customer, agent.result(), dest.result()]);
    expect(cu.code, cu.errors + cu.messages.slice(-2500)).toBe(0);
    expect(ag.code, ag.errors + ag.messages.slice(-2500)).toBe(0);
    expect(de.code, de.errors + de.messages.slice(-2500)).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    expect(eventsOf(server, connId)).toEqual([
      ...CONSULT_ESTABLISHED,
      'EventReleased:consult',
      'EventRetrieved:main',
      'EventReleased:main',
    ]);
  });

  it('refuses what it cannot do: unknown ConnID (also for RequestAnswerCall), make-call to nowhere', async () => {
    server = await startCallServer(yaml(await freePort(), await freePort()));
    await expect(
      server.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId: '0000000000000000' }, origin),
    ).rejects.toMatchObject({ reason: 'unknown-conn-id' });
    await expect(
      server.control.handle({ request: 'RequestAnswerCall', thisDN: '7001', connId: '0000000000000000' }, origin),
    ).rejects.toMatchObject({ reason: 'unknown-conn-id' });
    await expect(
      server.control.handle({ request: 'RequestMakeCall', thisDN: '7001', otherDN: '5555' }, origin),
    ).rejects.toMatchObject({ reason: 'failed' });
  });
});
