/**
 * Acceptance, examples/home-agent-phone.yaml, more call situations of a PSTN home agent (Jay on
 * 8888 with agent-phone +1 555 123 2222 behind the SBC on 127.0.0.1:5081): hold/retrieve with
 * `dual-dialog-enabled = false` (music for the customer, silence for the agent, behaviour §6), the agent hanging up first, a customer abandoning while the agent
 * rings, queueing until the agent is Ready, `router-timeout` → 480, and RequestMakeCall with
 * RFC 3725 Flow I (`make-call-rfc3725-flow = 1`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { callIdOf, sdpBody as body } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { E2eEnv, agentStatus, api, dnEvent, expectOneByeEach, status, tcpTarget } from './e2e-support.js';

const on = (name: string) => dnEvent(name, '8888');

describe('e2e home-agent-phone.yaml: PSTN home agent call situations', () => {
  const env = new E2eEnv({
    example: 'home-agent-phone.yaml',
    softswitchPort: 5081,
    sipListen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
  });
  let desk: CtiTestClient | undefined;
  /** The INVITE request line for the agent-phone at the SBC (the example's 127.0.0.1:5081, a free port here). */
  let PHONE_RURI = '';

  const customer = (file: string, pauseMs?: number) => env.uac(file, '5000', pauseMs !== undefined ? { pauseMs } : {});

  beforeAll(async () => {
    await env.start();
    PHONE_RURI = `INVITE sip:+15551232222@${env.sbcAddress} SIP/2.0`;
    desk = await env.agentDesk('jay', 'jay-secret', '8888', { agentPhone: '+1 555 123 2222' });
  });

  // Each test awaits only the events its own calls cause.
  beforeEach(() => desk?.skipReceived());

  afterAll(() => env.stop());

  it('hold with dual-dialog-enabled=false: the customer is held on music, the agent leg on a silence endpoint without a hold direction; retrieve; release', async () => {
    const c = await customer('e2e-uac-customer-stays.xml');
    const est = await desk!.waitFor(on('EventEstablished'), 10_000);
    const connId = est.connId;
    expect(await desk!.request('RequestHoldCall', { thisDN: '8888', connId })).toMatchObject({
      event: 'EventHeld',
      connId,
    });
    await waitFor(() => env.sbc.receivedRequests('INVITE').length === 2, {
      what: 'hold re-INVITE to the agent-phone leg',
    });
    // Both point at endpoints of the server's media server (its address, a port of its range).
    const holdToAgent = body(env.sbc.receivedRequests('INVITE')[1]!);
    expect(holdToAgent).toMatch(/c=IN IP4 127\.0\.0\.1/);
    expect(holdToAgent).toMatch(/m=audio [1-9]\d* RTP\/AVP 0 8/);
    expect(holdToAgent).not.toMatch(/a=(sendonly|recvonly|inactive)/);
    await waitFor(() => c.receivedRequests('INVITE').length === 1, { what: 'hold re-INVITE to the customer' });
    const holdToCustomer = body(c.receivedRequests('INVITE')[0]!);
    expect(holdToCustomer).toMatch(/a=sendonly/);
    expect(holdToCustomer).toMatch(/c=IN IP4 127\.0\.0\.1/);
    expect(/m=audio (\d+)/.exec(holdToCustomer)![1]).not.toBe(/m=audio (\d+)/.exec(holdToAgent)![1]);

    expect(await desk!.request('RequestRetrieveCall', { thisDN: '8888', connId })).toMatchObject({
      event: 'EventRetrieved',
      connId,
    });
    await waitFor(() => c.receivedRequests('INVITE').length === 2, { what: 'retrieve re-INVITE to the customer' });
    expect(body(c.receivedRequests('INVITE')[1]!)).toContain('s=e2e-callee-sdp');

    expect(await desk!.request('RequestReleaseCall', { thisDN: '8888', connId })).toMatchObject({
      event: 'EventReleased',
      connId,
    });
    expect(await c.waitExit(10_000), c.errors()).toBe(0);
    await waitFor(() => env.sbc.distinctRequests('BYE', env.sbc.callIds()) === 1, {
      what: 'BYE to the agent-phone leg',
    });
    await desk!.waitFor(on('EventAgentReady'));
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'Ready' });
  });

  it('a customer over TCP: the call reaches the agent-phone over UDP and ends cleanly', async () => {
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const c = await env.uac('e2e-uac-customer-call.xml', '5000', {
      target: tcpTarget(env.server),
      transport: 't1',
      pauseMs: 300,
    });
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(
      env.sbc
        .receivedRequests('INVITE')
        .slice(invites0)
        .map((m) => m.firstLine),
    ).toEqual([PHONE_RURI]);
    expect(await desk!.waitFor(on('EventEstablished'))).toMatchObject({ dnis: '5000' });
    await desk!.waitFor(on('EventReleased'));
    await desk!.waitFor(on('EventAgentReady'));
  });

  it('a BusyReady agent gets no second routed call: it waits until the first call ends', async () => {
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const first = await customer('e2e-uac-customer-stays.xml');
    const est = await desk!.waitFor(on('EventEstablished'), 10_000);
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'BusyReady' });
    const second = await customer('e2e-uac-customer-call.xml', 300);
    await waitFor(async () => ((await status(env.server)).calls as Record<string, number>).waiting === 1, {
      what: 'second call queued',
    });
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invites0 + 1);
    // Nor may the desktop open a second dialog with RequestMakeCall: CALL_FAILED.
    expect(await desk!.request('RequestMakeCall', { thisDN: '8888', otherDN: '+15559876543' })).toMatchObject({
      event: 'EventError',
      errorCode: 1052,
    });
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invites0 + 1);
    expect(await desk!.request('RequestReleaseCall', { thisDN: '8888', connId: est.connId })).toMatchObject({
      event: 'EventReleased',
    });
    expect(await first.waitExit(10_000), first.errors()).toBe(0);
    expect(await second.waitExit(15_000), second.errors()).toBe(0);
    expect(
      env.sbc
        .receivedRequests('INVITE')
        .slice(invites0)
        .map((m) => m.firstLine),
    ).toEqual([PHONE_RURI, PHONE_RURI]);
    await desk!.waitFor((f) => on('EventEstablished')(f) && f.connId !== est.connId);
  });

  it('dual-dialog-enabled=false: a second direct call to 8888 while the agent-phone is on a call gets 486, the phone is not rung', async () => {
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const first = await env.uac('e2e-uac-customer-stays.xml', '8888');
    const est = await desk!.waitFor(on('EventEstablished'), 10_000);
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invites0 + 1);
    const second = await env.uac('uac-expect-486.xml', '8888');
    expect(await second.waitExit(10_000), second.errors()).toBe(0);
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invites0 + 1);
    // Nor may the desktop open a second dialog with RequestMakeCall: CALL_FAILED.
    expect(await desk!.request('RequestMakeCall', { thisDN: '8888', otherDN: '+15559876543' })).toMatchObject({
      event: 'EventError',
      errorCode: 1052,
    });
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invites0 + 1);
    expect(await desk!.request('RequestReleaseCall', { thisDN: '8888', connId: est.connId })).toMatchObject({
      event: 'EventReleased',
    });
    expect(await first.waitExit(10_000), first.errors()).toBe(0);
  });

  it('a call waits on the routing point until the agent is Ready, then is delivered', async () => {
    expect(await desk!.request('RequestAgentNotReady', { thisDN: '8888' })).toMatchObject({
      event: 'EventAgentNotReady',
    });
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const c = await customer('e2e-uac-customer-call.xml', 300);
    await waitFor(async () => ((await status(env.server)).calls as Record<string, number>).waiting === 1, {
      what: 'one call waiting',
    });
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invites0);
    expect(await desk!.request('RequestAgentReady', { thisDN: '8888' })).toMatchObject({ event: 'EventAgentReady' });
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(
      env.sbc
        .receivedRequests('INVITE')
        .slice(invites0)
        .map((m) => m.firstLine),
    ).toEqual([PHONE_RURI]);
    await desk!.waitFor(on('EventReleased'));
    await desk!.waitFor(on('EventAgentReady'));
  });

  it('RequestMakeCall with Flow I: offer-less INVITE to the agent-phone, its offer to the destination, the answer in the ACK', async () => {
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const made = await desk!.request('RequestMakeCall', { thisDN: '8888', otherDN: '+1 555 987 6543' }, 15_000);
    expect(made).toMatchObject({
      event: 'EventDialing',
      thisDN: '8888',
      otherDN: '+15559876543',
      callType: 'Outbound',
    });
    const est = await desk!.waitFor(on('EventEstablished'), 10_000);
    expect(est.connId).toBe(made.connId);
    const invites = env.sbc.receivedRequests('INVITE').slice(invites0);
    expect(invites.map((m) => m.firstLine)).toEqual([PHONE_RURI, `INVITE sip:+15559876543@${env.sbcAddress} SIP/2.0`]);
    expect(invites[0]!.text).toMatch(/Content-Length:\s*0/i);
    expect(body(invites[1]!)).toContain('s=e2e-callee-sdp');
    // This call's two dialogs (the agent-phone leg, the destination leg): the SBC has seen the
    // earlier calls of this file too, whose BYEs may still arrive (late on a loaded machine, or
    // retransmitted for up to 64·T1) — only this call's requests count.
    const legs = invites.map(callIdOf);
    expect(new Set(legs).size).toBe(2);
    // The agent-phone leg is never re-INVITEd in Flow I; its ACK carries the destination's answer.
    await waitFor(
      () =>
        env.sbc.receivedRequests('ACK').some((m) => callIdOf(m) === legs[0] && body(m).includes('s=e2e-callee-sdp')),
      { what: 'ACK with the answer' },
    );
    expect(await desk!.request('RequestReleaseCall', { thisDN: '8888', connId: made.connId })).toMatchObject({
      event: 'EventReleased',
    });
    await expectOneByeEach(env.sbc, legs, 'BYE to both legs', 20_000);
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invites0 + 2);
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'Ready' });
  });

  it('the agent hangs up first: the customer gets BYE, EventReleased, the agent is Ready again (AutoIn)', async () => {
    await env.swapSbc('e2e-uas-sbc-answer-hangup.xml', 500);
    const c = await customer('e2e-uac-customer-stays.xml');
    const est = await desk!.waitFor(on('EventEstablished'), 10_000);
    expect(await c.waitExit(10_000), c.errors()).toBe(0);
    expect(c.distinctRequests('BYE')).toBe(1);
    expect(await desk!.waitFor(on('EventReleased'))).toMatchObject({ connId: est.connId });
    await desk!.waitFor(on('EventAgentReady'));
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'Ready' });
  });

  it('the customer abandons while the agent-phone rings: CANCEL to the SBC, EventAbandoned, no RONA', async () => {
    await env.swapSbc('e2e-uas-sbc-no-answer.xml');
    const c = await customer('e2e-uac-customer-abandon.xml', 1500);
    const ringing = await desk!.waitFor(on('EventRinging'), 10_000);
    expect(await c.waitExit(10_000), c.errors()).toBe(0);
    expect(await desk!.waitFor(on('EventAbandoned'))).toMatchObject({ connId: ringing.connId });
    await waitFor(() => env.sbc.receivedRequests('CANCEL').length === 1, { what: 'CANCEL to the SBC' });
    expect(env.sbc.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([PHONE_RURI]);
    // The server ACKs the SBC's 487 once it has handled the end of the offer (where a RONA would be decided).
    await waitFor(() => env.sbc.receivedRequests('ACK').length === 1, {
      what: "the server's ACK of the 487 at the SBC",
    });
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'Ready' });
    expect(desk!.events.some((f) => f.event === 'EventAgentNotReady' && f.reasonCode === 'RONA')).toBe(false);
  });

  it('router-timeout: nobody Ready, the call is released with 480 after the wait', async () => {
    const patch = await api(env.server, 'PATCH', '/api/dns/5000', { options: { 'router-timeout': '1' } });
    expect(patch.status).toBe(200);
    expect(await desk!.request('RequestAgentNotReady', { thisDN: '8888' })).toMatchObject({
      event: 'EventAgentNotReady',
    });
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const c = await env.uac('uac-expect-480.xml', '5000');
    expect(await c.waitExit(10_000), c.errors()).toBe(0);
    expect(c.messages().find((m) => m.dir === 'received' && m.firstLine.startsWith('SIP/2.0 480'))?.firstLine).toMatch(
      /^SIP\/2\.0 480 Temporarily Unavailable/,
    );
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invites0);
    expect(((await status(env.server)).calls as Record<string, number>).waiting).toBe(0);
  });

  it('reject-call-notready on the Softswitch governs 8888 while Jay works on the agent-phone: a direct call gets 480', async () => {
    expect(
      (await api(env.server, 'PATCH', '/api/dns/Softswitch', { options: { 'reject-call-notready': 'true' } })).status,
    ).toBe(200);
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'NotReady' });
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const events0 = desk!.events.length;
    const c = await env.uac('uac-expect-480.xml', '8888');
    expect(await c.waitExit(10_000), c.errors()).toBe(0);
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invites0);
    expect(desk!.events.slice(events0).some((f) => f.event === 'EventRinging')).toBe(false);
  });

  it("logout during a call: the call goes on, the customer's BYE ends it, the agent stays logged out", async () => {
    expect(
      (await api(env.server, 'PATCH', '/api/dns/Softswitch', { options: { 'reject-call-notready': null } })).status,
    ).toBe(200);
    await env.swapSbc('e2e-uas-sbc-answer.xml');
    await desk!.request('RequestAgentReady', { thisDN: '8888' });
    desk!.skipReceived();
    const c = await customer('e2e-uac-customer-call.xml', 1500);
    const est = await desk!.waitFor(on('EventEstablished'), 10_000);
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'BusyReady' });
    expect(await desk!.request('RequestAgentLogout', { thisDN: '8888' })).toMatchObject({ event: 'EventAgentLogout' });
    expect(await c.waitExit(10_000), c.errors()).toBe(0);
    expect(await desk!.waitFor(on('EventReleased'))).toMatchObject({ connId: est.connId });
    await waitFor(() => env.sbc.distinctRequests('BYE', env.sbc.callIds()) === 1, {
      what: 'BYE to the agent-phone leg',
    });
    await waitFor(async () => ((await status(env.server)).calls as Record<string, number>).active === 0, {
      what: 'the call released at the server',
    });
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'LoggedOut' });
    expect((await api(env.server, 'GET', '/api/dns/8888/status')).json).toMatchObject({ mode: 'unreachable' });
  });

  it('refer-enabled=false on the Softswitch: a REFER from the agent-phone leg gets 403, the call stays', async () => {
    expect(
      (await api(env.server, 'PATCH', '/api/dns/Softswitch', { options: { 'refer-enabled': 'false' } })).status,
    ).toBe(200);
    await env.swapSbc('e2e-uas-sbc-refer-403.xml', 300);
    await desk!.request('RequestAgentLogin', {
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'AutoIn',
      extensions: { 'agent-phone': '+1 555 123 2222' },
    });
    desk!.skipReceived();
    const c = await customer('e2e-uac-customer-stays.xml');
    const est = await desk!.waitFor(on('EventEstablished'), 10_000);
    await waitFor(() => env.sbc.messages().some((m) => m.dir === 'received' && m.firstLine.startsWith('SIP/2.0 403')), {
      what: '403 to the REFER',
    });
    expect(c.receivedRequests('REFER').length).toBe(0);
    expect(await desk!.request('RequestReleaseCall', { thisDN: '8888', connId: est.connId })).toMatchObject({
      event: 'EventReleased',
    });
    expect(await c.waitExit(10_000), c.errors()).toBe(0);
    await waitFor(() => env.sbc.distinctRequests('BYE', env.sbc.callIds()) === 1, {
      what: 'BYE to the agent-phone leg',
    });
  });
});
