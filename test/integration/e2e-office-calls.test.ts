/**
 * Acceptance, examples/office.yaml, agent-originated and special calls: Joe dials 7777 from his
 * registered phone (1pcc, Internal), RequestMakeCall with RFC 3725 Flow IV (8888 has
 * `contact = *`, so the Softswitch's Flow I setting does not apply), attached data, RONA on a
 * registered phone, and a customer giving up while queued.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CtiTestClient, type CtiFrame } from '../helpers/cti-client.js';
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import {
  E2E_TOKEN,
  agentStatus,
  api,
  ctiUrl,
  eventually,
  example,
  lockPort,
  scenario,
  startSipp,
  status,
  stopAll,
  udpTarget,
  waitInService,
  type SippPeer,
  type TracedMessage,
} from './e2e-support.js';

const on = (name: string, dn: string) => (f: CtiFrame) => f.event === name && f.thisDN === dn;
const body = (m: TracedMessage): string => m.text.split(/\r?\n\r?\n/).slice(1).join('\n');

describe('e2e office.yaml: agent-originated calls, attached data, RONA on a phone, queue abandon', () => {
  let release: (() => void) | undefined;
  let server: ServerProcess | undefined;
  let pbx: SippPeer;
  let phone: SippPeer;
  let phonePort = 0;
  const peers: SippPeer[] = [];
  let joe: CtiTestClient | undefined;
  let jay: CtiTestClient | undefined;

  async function desktop(agentId: string, password: string, dn: string): Promise<CtiTestClient> {
    const d = await CtiTestClient.connect(ctiUrl(server!));
    await d.request('RequestOpen', { agentId, password });
    await d.request('RequestRegisterAddress', { thisDN: dn });
    const login = await d.request('RequestAgentLogin', { thisDN: dn, agentId, workMode: 'AutoIn' });
    expect(login).toMatchObject({ event: 'EventAgentLogin' });
    await d.waitFor(on('EventAgentReady', dn));
    return d;
  }

  beforeAll(async () => {
    release = await lockPort(5081);
    pbx = await startSipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), port: 5081 });
    peers.push(pbx);
    server = await startServerProcess({ config: example('office.yaml'), sipListen: ['udp:127.0.0.1:0'], env: { SIPSERVER_TOKEN: E2E_TOKEN } });
    await waitInService(server, 'Softswitch');
    phonePort = await freePort();
    const reg = await startSipp({
      scenario: scenario('e2e-uac-register-8888.xml'),
      target: udpTarget(server),
      port: phonePort,
      service: '8888',
      calls: 1,
      args: ['-au', '8888', '-ap', '8888-secret'],
    });
    peers.push(reg);
    expect(await reg.waitExit(15_000), reg.errors()).toBe(0);
    phone = await startSipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), port: phonePort });
    peers.push(phone);
    joe = await desktop('joe', 'joe-secret', '8888');
    jay = await desktop('jay', 'jay-secret', '7777');
  });

  beforeEach(() => {
    joe?.skipReceived();
    jay?.skipReceived();
  });

  afterAll(async () => {
    joe?.close();
    jay?.close();
    await stopAll(peers);
    await server?.stop();
    release?.();
  });

  it('Joe dials 7777 from his phone: Internal call, EventDialing on 8888, Ringing/Established on 7777, the PBX gets sip:7777', async () => {
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const c = await startSipp({ scenario: scenario('e2e-uac-phone-8888-call.xml'), target: udpTarget(server!), service: '7777', calls: 1, pauseMs: 300 });
    peers.push(c);
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(pbx.receivedRequests('INVITE').slice(pbxInvites0).map((m) => m.firstLine)).toEqual(['INVITE sip:7777@127.0.0.1:5081 SIP/2.0']);
    const dialing = await joe!.waitFor(on('EventDialing', '8888'));
    expect(dialing).toMatchObject({ otherDN: '7777', callType: 'Internal' });
    expect(await jay!.waitFor(on('EventRinging', '7777'))).toMatchObject({ connId: dialing.connId, otherDN: '8888', callType: 'Internal' });
    await jay!.waitFor(on('EventEstablished', '7777'));
    await joe!.waitFor(on('EventEstablished', '8888'));
    await joe!.waitFor(on('EventReleased', '8888'));
    await jay!.waitFor(on('EventReleased', '7777'));
    // Not a routed call: nobody became Busy, both still Ready.
    expect(await agentStatus(server!, 'joe')).toMatchObject({ state: 'Ready' });
    expect(await agentStatus(server!, 'jay')).toMatchObject({ state: 'Ready' });
  });

  it('Joe dials the routing point 5000 from his phone and with RequestMakeCall: both reach Jay', async () => {
    // Joe stays Ready and is idle the longest: routing must not offer him his own call.
    await jay!.request('RequestAgentNotReady', { thisDN: '7777' });
    await jay!.request('RequestAgentReady', { thisDN: '7777' });
    const phoneInvites0 = phone.receivedRequests('INVITE').length;
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const c = await startSipp({ scenario: scenario('e2e-uac-phone-8888-call.xml'), target: udpTarget(server!), service: '5000', calls: 1, pauseMs: 300 });
    peers.push(c);
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(await jay!.waitFor(on('EventEstablished', '7777'))).toMatchObject({ otherDN: '8888' });
    await jay!.waitFor(on('EventReleased', '7777'));
    await jay!.waitFor(on('EventAgentReady', '7777'));

    const made = await joe!.request('RequestMakeCall', { thisDN: '8888', otherDN: '5000' }, 15_000);
    expect(made).toMatchObject({ event: 'EventDialing', thisDN: '8888', otherDN: '5000' });
    const est = await jay!.waitFor(on('EventEstablished', '7777'), 10_000);
    expect(est.connId).toBe(made.connId);
    expect(await joe!.waitFor((f) => on('EventEstablished', '8888')(f) && f.connId === made.connId)).toMatchObject({ otherDN: '7777' });
    // Delivered by the router: a routed call for Jay.
    expect(await agentStatus(server!, 'jay')).toMatchObject({ state: 'BusyReady' });
    expect(pbx.receivedRequests('INVITE').slice(pbxInvites0).map((m) => m.firstLine)).toEqual([
      'INVITE sip:7777@127.0.0.1:5081 SIP/2.0',
      'INVITE sip:7777@127.0.0.1:5081 SIP/2.0',
    ]);
    expect(await joe!.request('RequestReleaseCall', { thisDN: '8888', connId: made.connId })).toMatchObject({ event: 'EventReleased' });
    await jay!.waitFor(on('EventReleased', '7777'));
    // Joe's phone got only the make-call's own INVITE and its re-INVITE, never a routed offer.
    expect(phone.receivedRequests('INVITE').length).toBe(phoneInvites0 + 2);
    expect(joe!.events.some((f) => f.event === 'EventAgentNotReady')).toBe(false);
  });

  it('RequestMakeCall 8888 → 7777 with Flow IV, attached data on both DNs, release by 7777', async () => {
    const phoneInvites0 = phone.receivedRequests('INVITE').length;
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const made = await joe!.request('RequestMakeCall', { thisDN: '8888', otherDN: '7777', userData: { case: 'A-1' } }, 15_000);
    expect(made).toMatchObject({ event: 'EventDialing', thisDN: '8888', otherDN: '7777', callType: 'Internal' });
    const connId = made.connId;
    await joe!.waitFor((f) => on('EventEstablished', '8888')(f) && f.connId === connId, 10_000);
    expect(await jay!.waitFor(on('EventEstablished', '7777'), 10_000)).toMatchObject({ connId, userData: { case: 'A-1' } });

    const toPhone = phone.receivedRequests('INVITE').slice(phoneInvites0);
    expect(toPhone.length).toBe(2);
    expect(body(toPhone[0]!)).toMatch(/c=IN IP4 0\.0\.0\.0/);
    expect(body(toPhone[0]!)).toMatch(/a=inactive/);
    expect(body(toPhone[1]!)).toContain('s=e2e-callee-sdp');
    const toPbx = pbx.receivedRequests('INVITE').slice(pbxInvites0);
    expect(toPbx.map((m) => m.firstLine)).toEqual(['INVITE sip:7777@127.0.0.1:5081 SIP/2.0']);
    expect(toPbx[0]!.text).toMatch(/Content-Length:\s*0/i);
    await eventually(() => pbx.receivedRequests('ACK').some((m) => /m=audio/.test(body(m))), "the phone's answer in the ACK to the PBX");

    const attached = await joe!.request('RequestAttachUserData', { thisDN: '8888', connId, userData: { priority: 2 } });
    expect(attached).toMatchObject({ event: 'EventAttachedDataChanged', connId, userData: { case: 'A-1', priority: 2 } });
    expect(await jay!.waitFor(on('EventAttachedDataChanged', '7777'))).toMatchObject({ connId, userData: { case: 'A-1', priority: 2 } });

    expect(await jay!.request('RequestReleaseCall', { thisDN: '7777', connId })).toMatchObject({ event: 'EventReleased', connId });
    expect(await joe!.waitFor(on('EventReleased', '8888'))).toMatchObject({ connId, userData: { case: 'A-1', priority: 2 } });
  });

  it('RONA on the registered phone: CANCEL after sip-invite-timeout, Joe NotReady (RONA), the call goes to Jay', async () => {
    const cs = await api(server!, 'POST', '/api/config/change-sets', {
      changes: [{ op: 'patch', kind: 'server', key: 'server', value: { options: { 'sip-invite-timeout': '2' } } }],
    });
    expect(cs.status).toBe(200);
    // Joe idle the longest: Jay goes NotReady and Ready again.
    await jay!.request('RequestAgentNotReady', { thisDN: '7777' });
    await jay!.request('RequestAgentReady', { thisDN: '7777' });
    await phone.stop();
    phone = await startSipp({ scenario: scenario('e2e-uas-sbc-no-answer.xml'), port: phonePort });
    peers.push(phone);
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;

    const c = await startSipp({ scenario: scenario('e2e-uac-customer-call.xml'), target: udpTarget(server!), service: '5000', calls: 1, pauseMs: 300 });
    peers.push(c);
    expect(await c.waitExit(20_000), c.errors()).toBe(0);
    expect(phone.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([`INVITE sip:8888@127.0.0.1:${phonePort} SIP/2.0`]);
    expect(phone.receivedRequests('CANCEL').length).toBe(1);
    expect(pbx.receivedRequests('INVITE').slice(pbxInvites0).map((m) => m.firstLine)).toEqual(['INVITE sip:7777@127.0.0.1:5081 SIP/2.0']);

    const ringing = await joe!.waitFor(on('EventRinging', '8888'));
    expect(await joe!.waitFor(on('EventAgentNotReady', '8888'))).toMatchObject({ workMode: 'AuxWork', reasonCode: 'RONA' });
    // Joe's desktop sees the offer end (no Established on 8888).
    const joeCall = joe!.names((f) => f.connId === ringing.connId && f.thisDN === '8888');
    expect(joeCall[0]).toBe('EventRinging');
    expect(joeCall).not.toContain('EventEstablished');
    expect(['EventReleased', 'EventAbandoned']).toContain(joeCall[joeCall.length - 1]);
    expect(await jay!.waitFor(on('EventEstablished', '7777'))).toMatchObject({ connId: ringing.connId });
    expect(await agentStatus(server!, 'joe')).toMatchObject({ state: 'NotReady' });
  });

  it('a customer hanging up while queued: 487, the queue is empty again', async () => {
    await jay!.request('RequestAgentNotReady', { thisDN: '7777' });
    expect(await agentStatus(server!, 'joe')).toMatchObject({ state: 'NotReady' });
    const c = await startSipp({ scenario: scenario('e2e-uac-customer-abandon.xml'), target: udpTarget(server!), service: '5000', calls: 1, pauseMs: 1000 });
    peers.push(c);
    await eventually(async () => ((await status(server!)).calls as Record<string, number>).waiting === 1, 'call queued');
    expect(await c.waitExit(10_000), c.errors()).toBe(0);
    await eventually(async () => {
      const calls = (await status(server!)).calls as Record<string, number>;
      return calls.waiting === 0 && calls.active === 0;
    }, 'queue and calls empty');
    // Jay Ready now: no stale call is delivered.
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    await jay!.request('RequestAgentReady', { thisDN: '7777' });
    await new Promise((r) => setTimeout(r, 500));
    expect(pbx.receivedRequests('INVITE').length).toBe(pbxInvites0);
  });

  it('configuration changes apply at the next call: a DN added by PUT is reached behind the PBX; deleted, it is an external number there; no route → 404', async () => {
    const put = await api(server!, 'PUT', '/api/dns/7778', { type: 'extension', options: {} });
    expect(put.status).toBe(200);
    expect((await api(server!, 'GET', '/api/dns/7778/status')).json).toMatchObject({ mode: 'softswitch', target: 'sip:7778@127.0.0.1:5081', via: 'Softswitch' });
    const pbxInvites0 = pbx.receivedRequests('INVITE').length;
    const c = await startSipp({ scenario: scenario('e2e-uac-customer-call.xml'), target: udpTarget(server!), service: '7778', calls: 1, pauseMs: 200 });
    peers.push(c);
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(pbx.receivedRequests('INVITE').slice(pbxInvites0).map((m) => m.firstLine)).toEqual(['INVITE sip:7778@127.0.0.1:5081 SIP/2.0']);
    expect((await api(server!, 'DELETE', '/api/dns/7778')).status).toBe(200);
    // 7778 is now an external number behind the PBX's prefix 77: still reached, as a number.
    const c2 = await startSipp({ scenario: scenario('e2e-uac-customer-call.xml'), target: udpTarget(server!), service: '7778', calls: 1, pauseMs: 200 });
    peers.push(c2);
    expect(await c2.waitExit(15_000), c2.errors()).toBe(0);
    // A number matching no DN and no prefix: 404.
    const c3 = await startSipp({ scenario: scenario('uac-expect-404.xml'), target: udpTarget(server!), service: '6000', calls: 1 });
    peers.push(c3);
    expect(await c3.waitExit(15_000), c3.errors()).toBe(0);
  });
});
