/**
 * Acceptance, examples/home-agent-phone.yaml (behaviour §7, §12): Jay logs in on DN 8888 from
 * home with agent-phone +1 555 123 2222; a customer call to routing point 5000 reaches the SBC
 * (SIPp on the example's fixed 127.0.0.1:5081) as sip:+15551232222@127.0.0.1:5081; the desktop
 * sees Ringing/Established/Released and AfterCallWork (ManualIn). After logout, 8888 is the
 * registered desk phone again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtiTestClient } from '../helpers/cti-client.js';
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
} from './e2e-support.js';

describe('e2e home-agent-phone.yaml: agent-phone login, routed call, ACW, logout', () => {
  let release: (() => void) | undefined;
  let server: ServerProcess | undefined;
  let sbc: SippPeer;
  const peers: SippPeer[] = [];
  let desk: CtiTestClient | undefined;

  beforeAll(async () => {
    release = await lockPort(5081);
    sbc = await startSipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), port: 5081 });
    peers.push(sbc);
    server = await startServerProcess({
      config: example('home-agent-phone.yaml'),
      sipListen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
      env: { SIPSERVER_TOKEN: E2E_TOKEN },
    });
    await waitInService(server, 'Softswitch');
  });

  afterAll(async () => {
    desk?.close();
    await stopAll(peers);
    await server?.stop();
    release?.();
  });

  it('Jay opens, registers 8888 and logs in ManualIn with agent-phone +1 555 123 2222', async () => {
    desk = await CtiTestClient.connect(ctiUrl(server!));
    const opened = await desk.request('RequestOpen', { agentId: 'jay', password: 'jay-secret' });
    expect(opened).toMatchObject({ event: 'EventOpened', scope: 'agent', agentId: 'jay', thisDN: '8888' });
    expect(await desk.request('RequestRegisterAddress', { thisDN: '8888' })).toMatchObject({ event: 'EventRegistered', thisDN: '8888' });
    const ref = desk.send('RequestAgentLogin', {
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'ManualIn',
      extensions: { 'agent-phone': '+1 555 123 2222' },
    });
    const login = await desk.waitFor((f) => f.referenceId === ref && f.event === 'EventAgentLogin');
    expect(login).toMatchObject({ thisDN: '8888', agentId: 'jay', workMode: 'ManualIn', extensions: { 'agent-phone': '+15551232222' } });
    await desk.waitFor((f) => f.referenceId === ref && f.event === 'EventAgentReady');
    expect(await agentStatus(server!, 'jay')).toMatchObject({ dn: '8888', state: 'Ready', agentPhone: '+15551232222' });
    const route = await api(server!, 'GET', '/api/dns/8888/status');
    expect(route.json).toMatchObject({ mode: 'agent-phone', target: 'sip:+15551232222@127.0.0.1:5081', via: 'Softswitch', inService: true });
  });

  it('a customer call to 5000 rings the agent-phone through the SBC; BYE → Released, AfterCallWork', async () => {
    const before = desk!.events.length;
    const customer = await startSipp({ scenario: scenario('e2e-uac-customer-call.xml'), target: udpTarget(server!), service: '5000', calls: 1, pauseMs: 1500 });
    peers.push(customer);
    expect(await customer.waitExit(20_000)).toBe(0);

    // The SBC got exactly one INVITE, for the agent-phone number at the softswitch contact.
    const invites = sbc.receivedRequests('INVITE');
    expect(invites.map((m) => m.firstLine)).toEqual(['INVITE sip:+15551232222@127.0.0.1:5081 SIP/2.0']);
    expect(invites[0]!.text).toContain('s=e2e-customer-sdp');
    await eventually(() => sbc.distinctRequests('BYE') === 1, 'BYE relayed to the SBC');

    const ringing = await desk!.waitFor('EventRinging');
    const established = await desk!.waitFor('EventEstablished');
    const released = await desk!.waitFor('EventReleased');
    const acw = await desk!.waitFor('EventAgentNotReady');
    expect(ringing).toMatchObject({ thisDN: '8888', callType: 'Inbound', dnis: '5000', ani: '+15557654321' });
    expect(String(ringing.connId)).toMatch(/^[0-9a-f]{16}$/);
    expect(established).toMatchObject({ thisDN: '8888', connId: ringing.connId, ani: '+15557654321', dnis: '5000' });
    expect(released).toMatchObject({ thisDN: '8888', connId: ringing.connId });
    expect(acw).toMatchObject({ thisDN: '8888', agentId: 'jay', workMode: 'AfterCallWork' });
    // Order as seen by the desktop (call events, then the agent state the end of the call causes).
    const seen = desk!.events.slice(before).map((f) => String(f.event)).filter((n) => n !== 'EventAgentReady');
    expect(seen).toEqual(['EventRinging', 'EventEstablished', 'EventReleased', 'EventAgentNotReady']);
    expect(await agentStatus(server!, 'jay')).toMatchObject({ state: 'AfterCallWork', workMode: 'AfterCallWork' });
    expect(((await status(server!)).calls as Record<string, number>).active).toBe(0);
  });

  it('after logout, a direct call to 8888 reaches the phone registered with digest 8888-secret', async () => {
    expect(await desk!.request('RequestAgentLogout', { thisDN: '8888' })).toMatchObject({ event: 'EventAgentLogout', thisDN: '8888', agentId: 'jay' });
    expect(await agentStatus(server!, 'jay')).toMatchObject({ state: 'LoggedOut' });

    const phonePort = await freePort();
    const reg = await startSipp({
      scenario: scenario('e2e-uac-register-8888.xml'),
      target: udpTarget(server!),
      port: phonePort,
      service: '8888',
      calls: 1,
      args: ['-au', '8888', '-ap', '8888-secret'],
    });
    peers.push(reg);
    expect(await reg.waitExit(15_000), reg.errors()).toBe(0);
    const challenge = reg.messages().find((m) => m.dir === 'received' && m.firstLine.startsWith('SIP/2.0 401'));
    expect(/WWW-Authenticate: Digest [^\r\n]*algorithm=([A-Z0-9-]+)/.exec(challenge!.text)?.[1]).toBe('MD5');
    await eventually(async () => {
      const regs = (await status(server!)).registrations as Array<Record<string, unknown>>;
      return JSON.stringify(regs).includes(`127.0.0.1:${phonePort}`);
    }, 'registration of 8888 in /api/status');

    const phone = await startSipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), port: phonePort });
    peers.push(phone);
    const invitesBefore = sbc.receivedRequests('INVITE').length;
    const caller = await startSipp({ scenario: scenario('e2e-uac-customer-call.xml'), target: udpTarget(server!), service: '8888', calls: 1, pauseMs: 500 });
    peers.push(caller);
    expect(await caller.waitExit(20_000), caller.errors()).toBe(0);
    expect(phone.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([`INVITE sip:8888@127.0.0.1:${phonePort} SIP/2.0`]);
    expect(sbc.receivedRequests('INVITE').length).toBe(invitesBefore);
    await eventually(() => phone.distinctRequests('BYE') === 1, 'BYE relayed to the phone');
  });

  it('removing Jay from the configuration logs him out (EventAgentLogout) and drops his agent-phone', async () => {
    const login = await desk!.request('RequestAgentLogin', { thisDN: '8888', agentId: 'jay', workMode: 'AutoIn', extensions: { 'agent-phone': '+1 555 123 2222' } });
    expect(login).toMatchObject({ event: 'EventAgentLogin' });
    expect((await api(server!, 'GET', '/api/dns/8888/status')).json).toMatchObject({ mode: 'agent-phone' });
    const cs = await api(server!, 'POST', '/api/config/change-sets', {
      changes: [
        { op: 'put', kind: 'agent-group', key: 'Support', value: { name: 'Support', agents: [] } },
        { op: 'delete', kind: 'agent', key: 'jay' },
      ],
    });
    expect(cs.status, JSON.stringify(cs.json)).toBe(200);
    expect(await desk!.waitFor('EventAgentLogout')).toMatchObject({ thisDN: '8888', agentId: 'jay' });
    expect((await api(server!, 'GET', '/api/dns/8888/status')).json).toMatchObject({ mode: 'registered' });
    const agents = (await status(server!)).agents as Array<Record<string, unknown>>;
    expect(agents.some((a) => a.id === 'jay')).toBe(false);
  });
});
