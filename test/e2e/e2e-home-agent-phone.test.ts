/**
 * Acceptance, examples/home-agent-phone.yaml (behaviour §7, §12): Jay logs in on DN 8888 from
 * home with agent-phone +1 555 123 2222; a customer call to routing point 5000 reaches the SBC
 * (SIPp on the free port standing for the example's 127.0.0.1:5081) as sip:+15551232222@SBC;
 * the desktop sees Ringing/Established/Released and AfterCallWork (ManualIn). After logout, 8888
 * is the registered desk phone again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { E2eEnv, agentStatus, api, scenario, status } from './e2e-support.js';

describe('e2e home-agent-phone.yaml: agent-phone login, routed call, ACW, logout', () => {
  const env = new E2eEnv({
    example: 'home-agent-phone.yaml',
    softswitchPort: 5081,
    sipListen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
  });
  let desk: CtiTestClient | undefined;

  beforeAll(() => env.start());

  afterAll(() => env.stop());

  it('Jay opens, registers 8888 and logs in ManualIn with agent-phone +1 555 123 2222', async () => {
    desk = await env.desk();
    const opened = await desk.request('RequestOpen', { agentId: 'jay', password: 'jay-secret' });
    expect(opened).toMatchObject({ event: 'EventOpened', scope: 'agent', agentId: 'jay', thisDN: '8888' });
    expect(await desk.request('RequestRegisterAddress', { thisDN: '8888' })).toMatchObject({
      event: 'EventRegistered',
      thisDN: '8888',
    });
    const ref = desk.send('RequestAgentLogin', {
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'ManualIn',
      extensions: { 'agent-phone': '+1 555 123 2222' },
    });
    const login = await desk.waitFor((f) => f.referenceId === ref && f.event === 'EventAgentLogin');
    expect(login).toMatchObject({
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'ManualIn',
      extensions: { 'agent-phone': '+15551232222' },
    });
    await desk.waitFor((f) => f.referenceId === ref && f.event === 'EventAgentReady');
    expect(await agentStatus(env.server, 'jay')).toMatchObject({
      dn: '8888',
      state: 'Ready',
      agentPhone: '+15551232222',
    });
    const route = await api(env.server, 'GET', '/api/dns/8888/status');
    expect(route.json).toMatchObject({
      mode: 'agent-phone',
      target: `sip:+15551232222@${env.sbcAddress}`,
      via: 'Softswitch',
      inService: true,
    });
  });

  it('a customer call to 5000 rings the agent-phone through the SBC; BYE → Released, AfterCallWork', async () => {
    const before = desk!.events.length;
    const customer = await env.uac('e2e-uac-customer-call.xml', '5000', { pauseMs: 1500 });
    expect(await customer.waitExit(20_000)).toBe(0);

    // The SBC got exactly one INVITE, for the agent-phone number at the softswitch contact.
    const invites = env.sbc.receivedRequests('INVITE');
    expect(invites.map((m) => m.firstLine)).toEqual([`INVITE sip:+15551232222@${env.sbcAddress} SIP/2.0`]);
    expect(invites[0]!.text).toContain('s=e2e-customer-sdp');
    await waitFor(() => env.sbc.distinctRequests('BYE') === 1, { what: 'BYE relayed to the SBC' });

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
    const seen = desk!.events
      .slice(before)
      .map((f) => String(f.event))
      .filter((n) => n !== 'EventAgentReady');
    expect(seen).toEqual(['EventRinging', 'EventEstablished', 'EventReleased', 'EventAgentNotReady']);
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'AfterCallWork', workMode: 'AfterCallWork' });
    expect(((await status(env.server)).calls as Record<string, number>).active).toBe(0);
  });

  it('after logout, a direct call to 8888 reaches the phone registered with digest 8888-secret', async () => {
    expect(await desk!.request('RequestAgentLogout', { thisDN: '8888' })).toMatchObject({
      event: 'EventAgentLogout',
      thisDN: '8888',
      agentId: 'jay',
    });
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'LoggedOut' });

    const phonePort = await freePort();
    const reg = await env.register('e2e-uac-register-8888.xml', phonePort);
    const challenge = reg.messages().find((m) => m.dir === 'received' && m.firstLine.startsWith('SIP/2.0 401'));
    expect(/WWW-Authenticate: Digest [^\r\n]*algorithm=([A-Z0-9-]+)/.exec(challenge!.text)?.[1]).toBe('MD5');
    await waitFor(
      async () => {
        const regs = (await status(env.server)).registrations as Array<Record<string, unknown>>;
        return JSON.stringify(regs).includes(`127.0.0.1:${phonePort}`);
      },
      { what: 'registration of 8888 in /api/status' },
    );

    const phone = await env.sipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), localPort: phonePort });
    const invitesBefore = env.sbc.receivedRequests('INVITE').length;
    const caller = await env.uac('e2e-uac-customer-call.xml', '8888', { pauseMs: 500 });
    expect(await caller.waitExit(20_000), caller.errors()).toBe(0);
    expect(phone.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([
      `INVITE sip:8888@127.0.0.1:${phonePort} SIP/2.0`,
    ]);
    expect(env.sbc.receivedRequests('INVITE').length).toBe(invitesBefore);
    await waitFor(() => phone.distinctRequests('BYE') === 1, { what: 'BYE relayed to the phone' });
  });

  it('removing Jay from the configuration logs him out (EventAgentLogout) and drops his agent-phone', async () => {
    const login = await desk!.request('RequestAgentLogin', {
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'AutoIn',
      extensions: { 'agent-phone': '+1 555 123 2222' },
    });
    expect(login).toMatchObject({ event: 'EventAgentLogin' });
    expect((await api(env.server, 'GET', '/api/dns/8888/status')).json).toMatchObject({ mode: 'agent-phone' });
    const cs = await api(env.server, 'POST', '/api/config/change-sets', {
      changes: [
        { op: 'put', kind: 'agent-group', key: 'Support', value: { name: 'Support', agents: [] } },
        { op: 'delete', kind: 'agent', key: 'jay' },
      ],
    });
    expect(cs.status, JSON.stringify(cs.json)).toBe(200);
    expect(await desk!.waitFor('EventAgentLogout')).toMatchObject({ thisDN: '8888', agentId: 'jay' });
    expect((await api(env.server, 'GET', '/api/dns/8888/status')).json).toMatchObject({ mode: 'registered' });
    const agents = (await status(env.server)).agents as Array<Record<string, unknown>>;
    expect(agents.some((a) => a.id === 'jay')).toBe(false);
  });
});
