/**
 * Acceptance, examples/office.yaml, agent-originated and special calls: Joe dials 7777 from his
 * registered phone (1pcc, Internal), RequestMakeCall with RFC 3725 Flow IV (8888 has
 * `contact = *`, so the Softswitch's Flow I setting does not apply), attached data, RONA on a
 * registered phone, and a customer giving up while queued.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { sdpBody as body, type SippPeer } from '../helpers/sipp.js';
import { holdsFor, waitFor } from '../helpers/wait.js';
import { E2eEnv, agentStatus, api, dnEvent as on, scenario, status } from './e2e-support.js';

describe('e2e office.yaml: agent-originated calls, attached data, RONA on a phone, queue abandon', () => {
  const env = new E2eEnv({ example: 'office.yaml', softswitchPort: 5081 });
  let pbx: SippPeer;
  let phone: SippPeer;
  let phonePort = 0;
  let joe: CtiTestClient | undefined;
  let jay: CtiTestClient | undefined;

  beforeAll(async () => {
    await env.start();
    pbx = env.sbc;
    ({ phone, port: phonePort } = await env.registerPhone());
    joe = await env.agentDesk('joe', 'joe-secret', '8888');
    jay = await env.agentDesk('jay', 'jay-secret', '7777');
  });

  beforeEach(() => {
    joe?.skipReceived();
    jay?.skipReceived();
  });

  afterAll(() => env.stop());

  it('Joe dials 7777 from his phone: Internal call, EventDialing on 8888, Ringing/Established on 7777, the PBX gets sip:7777', async () => {
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const c = await env.uac('e2e-uac-phone-8888-call.xml', '7777', { pauseMs: 300 });
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(
      pbx
        .receivedRequests('INVITE')
        .slice(pbxInvites0)
        .map((m) => m.firstLine),
    ).toEqual([`INVITE sip:7777@${env.sbcAddress} SIP/2.0`]);
    const dialing = await joe!.waitFor(on('EventDialing', '8888'));
    expect(dialing).toMatchObject({ otherDN: '7777', callType: 'Internal' });
    expect(await jay!.waitFor(on('EventRinging', '7777'))).toMatchObject({
      connId: dialing.connId,
      otherDN: '8888',
      callType: 'Internal',
    });
    await jay!.waitFor(on('EventEstablished', '7777'));
    await joe!.waitFor(on('EventEstablished', '8888'));
    await joe!.waitFor(on('EventReleased', '8888'));
    await jay!.waitFor(on('EventReleased', '7777'));
    // Not a routed call: nobody became Busy, both still Ready.
    expect(await agentStatus(env.server, 'joe')).toMatchObject({ state: 'Ready' });
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'Ready' });
  });

  it('Joe dials the routing point 5000 from his phone and with RequestMakeCall: both reach Jay', async () => {
    // Joe stays Ready and is idle the longest: routing must not offer him his own call.
    await jay!.request('RequestAgentNotReady', { thisDN: '7777' });
    await jay!.request('RequestAgentReady', { thisDN: '7777' });
    const phoneInvites0 = phone.receivedRequests('INVITE').length;
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const c = await env.uac('e2e-uac-phone-8888-call.xml', '5000', { pauseMs: 300 });
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(await jay!.waitFor(on('EventEstablished', '7777'))).toMatchObject({ otherDN: '8888' });
    await jay!.waitFor(on('EventReleased', '7777'));
    await jay!.waitFor(on('EventAgentReady', '7777'));

    const made = await joe!.request('RequestMakeCall', { thisDN: '8888', otherDN: '5000' }, 15_000);
    expect(made).toMatchObject({ event: 'EventDialing', thisDN: '8888', otherDN: '5000' });
    const est = await jay!.waitFor(on('EventEstablished', '7777'), 10_000);
    expect(est.connId).toBe(made.connId);
    expect(await joe!.waitFor((f) => on('EventEstablished', '8888')(f) && f.connId === made.connId)).toMatchObject({
      otherDN: '7777',
    });
    // Delivered by the router: a routed call for Jay.
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'BusyReady' });
    expect(
      pbx
        .receivedRequests('INVITE')
        .slice(pbxInvites0)
        .map((m) => m.firstLine),
    ).toEqual([`INVITE sip:7777@${env.sbcAddress} SIP/2.0`, `INVITE sip:7777@${env.sbcAddress} SIP/2.0`]);
    expect(await joe!.request('RequestReleaseCall', { thisDN: '8888', connId: made.connId })).toMatchObject({
      event: 'EventReleased',
    });
    await jay!.waitFor(on('EventReleased', '7777'));
    // Joe's phone got only the make-call's own INVITE and its re-INVITE, never a routed offer.
    expect(phone.receivedRequests('INVITE').length).toBe(phoneInvites0 + 2);
    expect(joe!.events.some((f) => f.event === 'EventAgentNotReady')).toBe(false);
  });

  it('RequestMakeCall 8888 → 7777 with Flow IV, attached data on both DNs, release by 7777', async () => {
    const phoneInvites0 = phone.receivedRequests('INVITE').length;
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const made = await joe!.request(
      'RequestMakeCall',
      { thisDN: '8888', otherDN: '7777', userData: { case: 'A-1' } },
      15_000,
    );
    expect(made).toMatchObject({ event: 'EventDialing', thisDN: '8888', otherDN: '7777', callType: 'Internal' });
    const connId = made.connId;
    await joe!.waitFor((f) => on('EventEstablished', '8888')(f) && f.connId === connId, 10_000);
    expect(await jay!.waitFor(on('EventEstablished', '7777'), 10_000)).toMatchObject({
      connId,
      userData: { case: 'A-1' },
    });

    const toPhone = phone.receivedRequests('INVITE').slice(phoneInvites0);
    expect(toPhone.length).toBe(2);
    expect(body(toPhone[0]!)).toMatch(/c=IN IP4 0\.0\.0\.0/);
    expect(body(toPhone[0]!)).toMatch(/a=inactive/);
    expect(body(toPhone[1]!)).toContain('s=e2e-callee-sdp');
    const toPbx = pbx.receivedRequests('INVITE').slice(pbxInvites0);
    expect(toPbx.map((m) => m.firstLine)).toEqual([`INVITE sip:7777@${env.sbcAddress} SIP/2.0`]);
    expect(toPbx[0]!.text).toMatch(/Content-Length:\s*0/i);
    await waitFor(() => pbx.receivedRequests('ACK').some((m) => /m=audio/.test(body(m))), {
      what: "the phone's answer in the ACK to the PBX",
    });

    const attached = await joe!.request('RequestAttachUserData', { thisDN: '8888', connId, userData: { priority: 2 } });
    expect(attached).toMatchObject({
      event: 'EventAttachedDataChanged',
      connId,
      userData: { case: 'A-1', priority: 2 },
    });
    expect(await jay!.waitFor(on('EventAttachedDataChanged', '7777'))).toMatchObject({
      connId,
      userData: { case: 'A-1', priority: 2 },
    });

    expect(await jay!.request('RequestReleaseCall', { thisDN: '7777', connId })).toMatchObject({
      event: 'EventReleased',
      connId,
    });
    expect(await joe!.waitFor(on('EventReleased', '8888'))).toMatchObject({
      connId,
      userData: { case: 'A-1', priority: 2 },
    });
  });

  it('RONA on the registered phone: CANCEL after sip-invite-timeout, Joe NotReady (RONA), the call goes to Jay', async () => {
    const cs = await api(env.server, 'POST', '/api/config/change-sets', {
      changes: [{ op: 'patch', kind: 'server', key: 'server', value: { options: { 'sip-invite-timeout': '2' } } }],
    });
    expect(cs.status).toBe(200);
    // Joe idle the longest: Jay goes NotReady and Ready again.
    await jay!.request('RequestAgentNotReady', { thisDN: '7777' });
    await jay!.request('RequestAgentReady', { thisDN: '7777' });
    await phone.stop();
    phone = await env.sipp({ scenario: scenario('e2e-uas-sbc-no-answer.xml'), localPort: phonePort });
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;

    const c = await env.uac('e2e-uac-customer-call.xml', '5000', { pauseMs: 300 });
    expect(await c.waitExit(20_000), c.errors()).toBe(0);
    expect(phone.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([
      `INVITE sip:8888@127.0.0.1:${phonePort} SIP/2.0`,
    ]);
    expect(phone.receivedRequests('CANCEL').length).toBe(1);
    expect(
      pbx
        .receivedRequests('INVITE')
        .slice(pbxInvites0)
        .map((m) => m.firstLine),
    ).toEqual([`INVITE sip:7777@${env.sbcAddress} SIP/2.0`]);

    const ringing = await joe!.waitFor(on('EventRinging', '8888'));
    expect(await joe!.waitFor(on('EventAgentNotReady', '8888'))).toMatchObject({
      workMode: 'AuxWork',
      reasonCode: 'RONA',
    });
    // Joe's desktop sees the offer end (no Established on 8888).
    const joeCall = joe!.names((f) => f.connId === ringing.connId && f.thisDN === '8888');
    expect(joeCall[0]).toBe('EventRinging');
    expect(joeCall).not.toContain('EventEstablished');
    expect(['EventReleased', 'EventAbandoned']).toContain(joeCall[joeCall.length - 1]);
    expect(await jay!.waitFor(on('EventEstablished', '7777'))).toMatchObject({ connId: ringing.connId });
    expect(await agentStatus(env.server, 'joe')).toMatchObject({ state: 'NotReady' });
  });

  it('a customer hanging up while queued: 487, the queue is empty again', async () => {
    await jay!.request('RequestAgentNotReady', { thisDN: '7777' });
    expect(await agentStatus(env.server, 'joe')).toMatchObject({ state: 'NotReady' });
    const c = await env.uac('e2e-uac-customer-abandon.xml', '5000', { pauseMs: 1000 });
    await waitFor(async () => ((await status(env.server)).calls as Record<string, number>).waiting === 1, {
      what: 'call queued',
    });
    expect(await c.waitExit(10_000), c.errors()).toBe(0);
    await waitFor(
      async () => {
        const calls = (await status(env.server)).calls as Record<string, number>;
        return calls.waiting === 0 && calls.active === 0;
      },
      { what: 'queue and calls empty' },
    );
    // Jay Ready now: no stale call is delivered.
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    await jay!.request('RequestAgentReady', { thisDN: '7777' });
    // Routing runs as Jay becomes Ready: a stale call would be offered to him (INVITE to the PBX) now.
    await holdsFor(() => pbx.receivedRequests('INVITE').length === pbxInvites0, {
      forMs: 500,
      what: 'no INVITE to the PBX after Jay became Ready',
    });
  });

  it('configuration changes apply at the next call: a DN added by PUT is reached behind the PBX; deleted, it is an external number there; no route → 404', async () => {
    const put = await api(env.server, 'PUT', '/api/dns/7778', { type: 'extension', options: {} });
    expect(put.status).toBe(200);
    expect((await api(env.server, 'GET', '/api/dns/7778/status')).json).toMatchObject({
      mode: 'softswitch',
      target: `sip:7778@${env.sbcAddress}`,
      via: 'Softswitch',
    });
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const c = await env.uac('e2e-uac-customer-call.xml', '7778', { pauseMs: 200 });
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(
      pbx
        .receivedRequests('INVITE')
        .slice(pbxInvites0)
        .map((m) => m.firstLine),
    ).toEqual([`INVITE sip:7778@${env.sbcAddress} SIP/2.0`]);
    expect((await api(env.server, 'DELETE', '/api/dns/7778')).status).toBe(200);
    // 7778 is now an external number behind the PBX's prefix 77: still reached, as a number.
    const c2 = await env.uac('e2e-uac-customer-call.xml', '7778', { pauseMs: 200 });
    expect(await c2.waitExit(15_000), c2.errors()).toBe(0);
    // A number matching no DN and no prefix: 404.
    const c3 = await env.uac('uac-expect-404.xml', '6000');
    expect(await c3.waitExit(15_000), c3.errors()).toBe(0);
  });
});
