/**
 * Acceptance, examples/office.yaml (behaviour §3, §9, §12): Joe's desk phone registers DN 8888
 * (SIPp with digest, then answering on the registered port), Jay's 7777 sits behind the office
 * PBX (SIPp on the free port standing for the example's 127.0.0.1:5081). Both receive routed
 * calls; Joe holds, retrieves and single-step transfers a customer to 7777 (re-INVITEs to the
 * customer leg, an INVITE for sip:7777@PBX at the PBX).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtiFrame, CtiTestClient } from '../helpers/cti-client.js';
import { sdpBody as body, type SippPeer, type TracedMessage } from '../helpers/sipp.js';
import { holdsFor, waitFor } from '../helpers/wait.js';
import { E2eEnv, agentStatus, api, dnEvent as on, status } from './e2e-support.js';

describe('e2e office.yaml: registered phone and PBX agent, hold, retrieve, single-step transfer', () => {
  const env = new E2eEnv({
    example: 'office.yaml',
    softswitchPort: 5081,
    sipListen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
  });
  let pbx: SippPeer;
  let phone: SippPeer;
  let phonePort = 0;
  let joeDesk: CtiTestClient | undefined;
  let jayDesk: CtiTestClient | undefined;

  beforeAll(async () => {
    await env.start();
    pbx = env.sbc;
    ({ phone, port: phonePort } = await env.registerPhone());
    joeDesk = await env.openDesk('joe', 'joe-secret', '8888');
    jayDesk = await env.openDesk('jay', 'jay-secret', '7777');
  });

  afterAll(() => env.stop());

  /**
   * Jay NotReady, Joe Ready: a customer (`file`) calling 5000 is routed to Joe, who goes
   * NotReady once established. `alsoSkip`: desktops whose received events are dropped too.
   */
  async function customerToJoe(
    file = 'e2e-uac-customer-stays.xml',
    pauseMs?: number,
    alsoSkip: CtiTestClient[] = [],
  ): Promise<{ customer: SippPeer; est: CtiFrame }> {
    await jayDesk!.request('RequestAgentNotReady', { thisDN: '7777' });
    await joeDesk!.request('RequestAgentReady', { thisDN: '8888' });
    joeDesk!.skipReceived();
    for (const d of alsoSkip) d.skipReceived();
    const customer = await env.uac(file, '5000', pauseMs !== undefined ? { pauseMs } : {});
    const est = await joeDesk!.waitFor(on('EventEstablished', '8888'), 10_000);
    await joeDesk!.request('RequestAgentNotReady', { thisDN: '8888' });
    return { customer, est };
  }

  it('routed calls reach Joe on his registered phone and Jay behind the PBX', async () => {
    await joeDesk!.request('RequestAgentLogin', { thisDN: '8888', agentId: 'joe', workMode: 'AutoIn' });
    // Joe Ready first: idle the longest (a tie in milliseconds goes to the group order, Joe first too).
    await joeDesk!.waitFor(on('EventAgentReady', '8888'));
    await jayDesk!.request('RequestAgentLogin', { thisDN: '7777', agentId: 'jay', workMode: 'AutoIn' });
    await jayDesk!.waitFor(on('EventAgentReady', '7777'));

    for (const [desk, dn] of [
      [joeDesk!, '8888'],
      [jayDesk!, '7777'],
    ] as const) {
      const c = await env.uac('e2e-uac-customer-call.xml', '5000', { pauseMs: 300 });
      expect(await c.waitExit(20_000), c.errors()).toBe(0);
      const ringing = await desk.waitFor(on('EventRinging', dn));
      expect(await desk.waitFor(on('EventEstablished', dn))).toMatchObject({
        connId: ringing.connId,
        dnis: '5000',
        callType: 'Inbound',
      });
      await desk.waitFor(on('EventReleased', dn));
      await desk.waitFor(on('EventAgentReady', dn));
    }
    expect(phone.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([
      `INVITE sip:8888@127.0.0.1:${phonePort} SIP/2.0`,
    ]);
    expect(pbx.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([
      `INVITE sip:7777@${env.sbcAddress} SIP/2.0`,
    ]);
  });

  it('Joe holds, retrieves and single-step transfers the customer to 7777', async () => {
    // Jay NotReady: the routed call goes to Joe; the transfer to 7777 is not a routed delivery.
    await jayDesk!.request('RequestAgentNotReady', { thisDN: '7777', workMode: 'AuxWork' });
    const phoneInvites0 = phone.receivedRequests('INVITE').length;
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;

    const customer = await env.uac('e2e-uac-customer-stays.xml', '5000');
    const est = await joeDesk!.waitFor(on('EventEstablished', '8888'), 10_000);
    const connId = est.connId;
    const reinvitesToCustomer = (): TracedMessage[] => customer.receivedRequests('INVITE');

    // Hold: the customer gets a sendonly re-INVITE, the phone a black-hole offer.
    const held = await joeDesk!.request('RequestHoldCall', { thisDN: '8888', connId });
    expect(held).toMatchObject({ event: 'EventHeld', thisDN: '8888', connId });
    await waitFor(() => reinvitesToCustomer().length === 1, { what: 'hold re-INVITE to the customer' });
    expect(body(reinvitesToCustomer()[0]!)).toMatch(/a=sendonly/);
    await waitFor(() => phone.receivedRequests('INVITE').length === phoneInvites0 + 2, {
      what: 'hold re-INVITE to the phone',
    });
    expect(body(phone.receivedRequests('INVITE')[phoneInvites0 + 1]!)).toMatch(/c=IN IP4 0\.0\.0\.0/);

    // Retrieve: offer-less re-INVITE to the phone, its offer to the customer.
    const retrieved = await joeDesk!.request('RequestRetrieveCall', { thisDN: '8888', connId });
    expect(retrieved).toMatchObject({ event: 'EventRetrieved', thisDN: '8888', connId });
    await waitFor(() => reinvitesToCustomer().length === 2, { what: 'retrieve re-INVITE to the customer' });
    const retrieveOffer = body(reinvitesToCustomer()[1]!);
    expect(retrieveOffer).toContain('s=e2e-callee-sdp');
    expect(retrieveOffer).not.toMatch(/a=sendonly|a=inactive/);
    await waitFor(() => phone.receivedRequests('INVITE').length === phoneInvites0 + 3, {
      what: 'retrieve re-INVITE to the phone',
    });
    expect(phone.receivedRequests('INVITE')[phoneInvites0 + 2]!.text).toMatch(/Content-Length:\s*0/i);

    // Single-step transfer to 7777: BYE to Joe's phone, INVITE without SDP to the PBX.
    const sst = await joeDesk!.request('RequestSingleStepTransfer', { thisDN: '8888', connId, otherDN: '7777' });
    expect(sst).toMatchObject({ event: 'EventReleased', thisDN: '8888', connId });
    await waitFor(() => phone.distinctRequests('BYE') === 2, { what: 'BYE to the phone' });
    const ringing = await jayDesk!.waitFor(on('EventRinging', '7777'), 10_000);
    const established = await jayDesk!.waitFor(on('EventEstablished', '7777'), 10_000);
    expect(established.connId).toBe(ringing.connId);
    // The ConnID, ANI and DNIS of the customer's call follow it to the new party.
    expect(ringing).toMatchObject({ connId, ani: '+15557654321', dnis: '5000', otherDN: '+15557654321' });
    const pbxInvites = pbx.receivedRequests('INVITE').slice(pbxInvites0);
    expect(pbxInvites.map((m) => m.firstLine)).toEqual([`INVITE sip:7777@${env.sbcAddress} SIP/2.0`]);
    expect(pbxInvites[0]!.text).toMatch(/Content-Length:\s*0/i);
    await waitFor(() => reinvitesToCustomer().length === 3, { what: 'transfer re-INVITE to the customer' });
    expect(body(reinvitesToCustomer()[2]!)).toContain('s=e2e-callee-sdp');
    // The PBX got the customer's answer in its ACK.
    await waitFor(() => pbx.receivedRequests('ACK').some((m) => body(m).includes('s=e2e-customer-sdp')), {
      what: 'ACK with the answer at the PBX',
    });
    expect(joeDesk!.names((f) => f.thisDN === '8888' && f.connId === connId)).toEqual([
      'EventRinging',
      'EventEstablished',
      'EventHeld',
      'EventRetrieved',
      'EventReleased',
    ]);

    // RFC 3264 §8: the customer leg keeps its o= line (user, session id) and the version grows.
    const answer200 = customer
      .messages()
      .find((m) => m.dir === 'received' && m.firstLine.startsWith('SIP/2.0 200') && m.text.includes('CSeq: 1 INVITE'))!;
    const origins = [answer200, ...reinvitesToCustomer()].map((m) => /^o=(\S+) (\S+) (\d+)/m.exec(body(m))!);
    expect(new Set(origins.map((o) => `${o[1]} ${o[2]}`)).size).toBe(1);
    const versions = origins.map((o) => BigInt(o[3]!));
    for (let i = 1; i < versions.length; i++) expect(versions[i]! > versions[i - 1]!).toBe(true);

    // Jay's desktop releases the call: BYE to the PBX and the customer.
    expect(await jayDesk!.request('RequestReleaseCall', { thisDN: '7777', connId: established.connId })).toMatchObject({
      event: 'EventReleased',
    });
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
    await waitFor(() => pbx.distinctRequests('BYE') === 2, { what: 'BYE to the PBX' });
    await waitFor(async () => (await agentStatus(env.server, 'joe'))?.state === 'Ready', {
      what: 'Joe Ready (AutoIn) after the call',
    });
  });

  it('a single-step transfer to the routing point 5000 is routed to the Ready agent (Jay behind the PBX)', async () => {
    await jayDesk!.request('RequestAgentReady', { thisDN: '7777' });
    // Joe must take the customer first: make Joe the longest idle by re-readying Jay after him.
    await joeDesk!.request('RequestAgentNotReady', { thisDN: '8888' });
    await joeDesk!.request('RequestAgentReady', { thisDN: '8888' });
    await jayDesk!.request('RequestAgentNotReady', { thisDN: '7777' });
    jayDesk!.skipReceived();
    joeDesk!.skipReceived();
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const customer = await env.uac('e2e-uac-customer-stays.xml', '5000');
    const est = await joeDesk!.waitFor(on('EventEstablished', '8888'), 10_000);
    expect(pbx.receivedRequests('INVITE').length).toBe(pbxInvites0);
    await jayDesk!.request('RequestAgentReady', { thisDN: '7777' });
    // Joe will not take the call back from the routing point (BusyNotReady → NotReady).
    expect(await joeDesk!.request('RequestAgentNotReady', { thisDN: '8888' })).toMatchObject({
      event: 'EventAgentNotReady',
    });
    const sst = await joeDesk!.request('RequestSingleStepTransfer', {
      thisDN: '8888',
      connId: est.connId,
      otherDN: '5000',
    });
    expect(sst).toMatchObject({ event: 'EventReleased', thisDN: '8888' });
    const jayEst = await jayDesk!.waitFor(on('EventEstablished', '7777'), 10_000);
    expect(
      pbx
        .receivedRequests('INVITE')
        .slice(pbxInvites0)
        .map((m) => m.firstLine),
    ).toEqual([`INVITE sip:7777@${env.sbcAddress} SIP/2.0`]);
    await waitFor(() => customer.receivedRequests('INVITE').length === 1, {
      what: 'transfer re-INVITE to the customer',
    });
    expect(jayEst.connId).toBe(est.connId);
    // Delivered through the routing point: a routed call, Jay is Busy.
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'BusyReady' });
    expect(await jayDesk!.request('RequestReleaseCall', { thisDN: '7777', connId: jayEst.connId })).toMatchObject({
      event: 'EventReleased',
    });
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
  });

  it('a customer transferred to 5000 who hangs up while queued leaves the queue', async () => {
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const { customer, est } = await customerToJoe('e2e-uac-customer-call.xml', 1500);
    await joeDesk!.request('RequestSingleStepTransfer', { thisDN: '8888', connId: est.connId, otherDN: '5000' });
    await waitFor(async () => ((await status(env.server)).calls as Record<string, number>).waiting === 1, {
      what: 'transferred call queued',
    });
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
    await waitFor(
      async () => {
        const calls = (await status(env.server)).calls as Record<string, number>;
        return calls.waiting === 0 && calls.active === 0;
      },
      { what: 'queue empty after the hang-up' },
    );
    await jayDesk!.request('RequestAgentReady', { thisDN: '7777' });
    // Routing runs as Jay becomes Ready: a stale call would be offered to him (INVITE to the PBX) now.
    await holdsFor(() => pbx.receivedRequests('INVITE').length === pbxInvites0, {
      forMs: 500,
      what: 'no INVITE to the PBX after Jay became Ready',
    });
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'Ready' });
  });

  it('a customer transferred to 5000 that nobody takes within router-timeout gets BYE', async () => {
    expect((await api(env.server, 'PATCH', '/api/dns/5000', { options: { 'router-timeout': '1' } })).status).toBe(200);
    const { customer, est } = await customerToJoe();
    expect(
      await joeDesk!.request('RequestSingleStepTransfer', { thisDN: '8888', connId: est.connId, otherDN: '5000' }),
    ).toMatchObject({ event: 'EventReleased' });
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
    expect(customer.distinctRequests('BYE')).toBe(1);
    await waitFor(async () => ((await status(env.server)).calls as Record<string, number>).active === 0, {
      what: 'no call left',
    });
  });

  it('a consultation with routing point 5000 reaches Jay; Joe completes the transfer', async () => {
    expect((await api(env.server, 'PATCH', '/api/dns/5000', { options: { 'router-timeout': null } })).status).toBe(200);
    const { customer, est } = await customerToJoe(undefined, undefined, [jayDesk!]);
    await jayDesk!.request('RequestAgentReady', { thisDN: '7777' });
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;

    const init = await joeDesk!.request(
      'RequestInitiateTransfer',
      { thisDN: '8888', connId: est.connId, otherDN: '5000' },
      10_000,
    );
    expect(init.event).toBe('EventHeld');
    const dialing = await joeDesk!.waitFor(on('EventDialing', '8888'));
    expect(dialing).toMatchObject({ callType: 'Consult', otherDN: '5000' });
    const jayEst = await jayDesk!.waitFor(on('EventEstablished', '7777'), 10_000);
    expect(jayEst.connId).toBe(dialing.connId);
    await joeDesk!.waitFor((f) => on('EventEstablished', '8888')(f) && f.connId === dialing.connId, 5000);
    expect(
      pbx
        .receivedRequests('INVITE')
        .slice(pbxInvites0)
        .map((m) => m.firstLine),
    ).toEqual([`INVITE sip:7777@${env.sbcAddress} SIP/2.0`]);
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'BusyReady' });

    const done = await joeDesk!.request(
      'RequestCompleteTransfer',
      { thisDN: '8888', connId: est.connId, transferConnId: dialing.connId },
      10_000,
    );
    expect(done.event).toBe('EventReleased');
    await jayDesk!.waitFor(on('EventPartyChanged', '7777'), 5000);
    await waitFor(() => customer.receivedRequests('INVITE').length === 2, {
      what: 'hold and transfer re-INVITEs to the customer',
    });
    expect(await jayDesk!.request('RequestReleaseCall', { thisDN: '7777', connId: est.connId })).toMatchObject({
      event: 'EventReleased',
    });
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
    await waitFor(async () => ((await status(env.server)).calls as Record<string, number>).active === 0, {
      what: 'no call left',
    });
  });

  it('a consultation waiting on 5000 leaves the queue when Joe reconnects', async () => {
    const { customer, est } = await customerToJoe();
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    await joeDesk!.request('RequestInitiateTransfer', { thisDN: '8888', connId: est.connId, otherDN: '5000' }, 10_000);
    const dialing = await joeDesk!.waitFor(on('EventDialing', '8888'));
    await waitFor(async () => ((await status(env.server)).calls as Record<string, number>).waiting === 1, {
      what: 'consultation queued',
    });
    await joeDesk!.request('RequestReconnectCall', { thisDN: '8888', connId: dialing.connId }, 10_000);
    await joeDesk!.waitFor((f) => on('EventRetrieved', '8888')(f) && f.connId === est.connId, 10_000);
    await waitFor(async () => ((await status(env.server)).calls as Record<string, number>).waiting === 0, {
      what: 'queue empty',
    });
    await jayDesk!.request('RequestAgentReady', { thisDN: '7777' });
    // Routing runs as Jay becomes Ready: the consultation that left the queue must not reach him.
    await holdsFor(() => pbx.receivedRequests('INVITE').length === pbxInvites0, {
      forMs: 500,
      what: 'no INVITE to the PBX after Jay became Ready',
    });
    expect(await joeDesk!.request('RequestReleaseCall', { thisDN: '8888', connId: est.connId })).toMatchObject({
      event: 'EventReleased',
    });
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
  });
});
