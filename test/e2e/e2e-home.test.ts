/**
 * Acceptance, examples/home.yaml (behaviour §9, §12): Joe (+1 555 123 1111) and Jay
 * (+1 555 123 2222) work from home behind the SBC (SIPp on the free port standing for the
 * example's 127.0.0.1:5071).
 * Routed calls go to the longest-idle Ready agent; `reject-call-notready` keeps a NotReady agent
 * from ringing; RONA after `sip-invite-timeout` re-routes the call and sets the agent NotReady.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { callIdOf, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { E2eEnv, agentStatus, api, dnEvent as agentEvent, expectOneByeEach } from './e2e-support.js';

const JOE = '+15551231111';
const JAY = '+15551232222';

describe('e2e home.yaml: longest idle, reject-call-notready, RONA', () => {
  const env = new E2eEnv({
    example: 'home.yaml',
    softswitchPort: 5071,
    sipListen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
  });
  let sup: CtiTestClient | undefined;
  /** INVITE request lines for Joe and Jay at the SBC (the example's 127.0.0.1:5071, a free port here). */
  let JOE_RURI = '';
  let JAY_RURI = '';

  /** One customer call to `service`, expected to end with SIPp exit code `code`. */
  async function customerCall(service: string, file = 'e2e-uac-customer-call.xml', code = 0): Promise<SippPeer> {
    const c = await env.uac(file, service, { pauseMs: 300 });
    expect(await c.waitExit(25_000), c.errors()).toBe(code);
    return c;
  }

  beforeAll(async () => {
    await env.start();
    JOE_RURI = `INVITE sip:${JOE}@${env.sbcAddress} SIP/2.0`;
    JAY_RURI = `INVITE sip:${JAY}@${env.sbcAddress} SIP/2.0`;
    // A supervisor desktop in application scope drives both agents.
    sup = await env.supervisorDesk([JOE, JAY]);
  });

  afterAll(() => env.stop());

  it('routed calls go to the longest-idle Ready agent (Joe, Jay, Joe)', async () => {
    // Joe becomes Ready first: he is idle the longest (a tie in milliseconds goes to the group order, Joe first too).
    await sup!.request('RequestAgentLogin', { thisDN: '+1 555 123 1111', agentId: 'joe', workMode: 'AutoIn' });
    await sup!.waitFor(agentEvent('EventAgentReady', JOE));
    await sup!.request('RequestAgentLogin', { thisDN: '+1 555 123 2222', agentId: 'jay', workMode: 'AutoIn' });
    await sup!.waitFor(agentEvent('EventAgentReady', JAY));

    for (const expected of [JOE, JAY, JOE]) {
      await customerCall('5000');
      const est = await sup!.waitFor(agentEvent('EventEstablished', expected));
      await sup!.waitFor((f) => f.event === 'EventReleased' && f.connId === est.connId);
      // AutoIn: Ready again after the call, idle from now on.
      await sup!.waitFor(agentEvent('EventAgentReady', expected));
    }
    expect(env.sbc.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([JOE_RURI, JAY_RURI, JOE_RURI]);
    expect(await agentStatus(env.server, 'joe')).toMatchObject({ state: 'Ready' });
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'Ready' });
  });

  it('two simultaneous customers: one call each, never both to the same agent', async () => {
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const c = await env.uac('e2e-uac-customer-call.xml', '5000', {
      calls: 2,
      pauseMs: 1000,
      args: ['-r', '2', '-l', '2'],
    });
    expect(await c.waitExit(25_000), c.errors()).toBe(0);
    const ruris = env.sbc
      .receivedRequests('INVITE')
      .slice(invites0)
      .map((m) => m.firstLine);
    expect([...ruris].sort()).toEqual([JOE_RURI, JAY_RURI]);
    for (const dn of [JOE, JAY]) {
      await sup!.waitFor(agentEvent('EventEstablished', dn));
      await sup!.waitFor(agentEvent('EventAgentReady', dn));
    }
  });

  it('dual-dialog-enabled=false: Joe, Ready but on a direct call, is skipped by routing (no RONA); Jay gets the routed call', async () => {
    // Joe idle the longest.
    await sup!.request('RequestAgentNotReady', { thisDN: JAY });
    await sup!.request('RequestAgentReady', { thisDN: JAY });
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const direct = await env.uac('e2e-uac-customer-call.xml', JOE, { pauseMs: 1500 });
    await sup!.waitFor(agentEvent('EventEstablished', JOE), 10_000);
    expect(await agentStatus(env.server, 'joe')).toMatchObject({ state: 'Ready' }); // a direct call is not routed
    await customerCall('5000');
    expect(
      env.sbc
        .receivedRequests('INVITE')
        .slice(invites0)
        .map((m) => m.firstLine),
    ).toEqual([JOE_RURI, JAY_RURI]);
    expect(await direct.waitExit(10_000), direct.errors()).toBe(0);
    expect(sup!.events.some((f) => f.event === 'EventAgentNotReady' && f.reasonCode === 'RONA')).toBe(false);
    expect(await agentStatus(env.server, 'joe')).toMatchObject({ state: 'Ready' });
    await sup!.waitFor(agentEvent('EventAgentReady', JAY));
  });

  it('a NotReady agent with reject-call-notready (set on the Softswitch, inherited) is never rung', async () => {
    const patch = await api(env.server, 'PATCH', '/api/dns/Softswitch', {
      options: { 'reject-call-notready': 'true' },
    });
    expect(patch.status).toBe(200);
    const eff = await api(env.server, 'GET', `/api/dns/${encodeURIComponent(JOE)}/effective-options`);
    expect(JSON.stringify(eff.json)).toMatch(/"reject-call-notready"[^}]*"true"/);

    expect(await sup!.request('RequestAgentNotReady', { thisDN: JOE, workMode: 'AuxWork' })).toMatchObject({
      event: 'EventAgentNotReady',
    });
    const before = env.sbc.receivedRequests('INVITE').length;
    const joeRinging0 = sup!.events.filter(agentEvent('EventRinging', JOE)).length;
    // Two routed calls: both to Jay, although Joe is idle the longest.
    for (let i = 0; i < 2; i++) {
      await customerCall('5000');
      await sup!.waitFor(agentEvent('EventEstablished', JAY));
      await sup!.waitFor(agentEvent('EventAgentReady', JAY));
    }
    // A direct call to Joe's DN is refused with 480, without ringing him.
    await customerCall(JOE, 'uac-expect-480.xml');
    expect(
      env.sbc
        .receivedRequests('INVITE')
        .slice(before)
        .map((m) => m.firstLine),
    ).toEqual([JAY_RURI, JAY_RURI]);
    // Joe's DN never rang.
    expect(sup!.events.filter(agentEvent('EventRinging', JOE)).length).toBe(joeRinging0);

    const unpatch = await api(env.server, 'PATCH', '/api/dns/Softswitch', {
      options: { 'reject-call-notready': null },
    });
    expect(unpatch.status).toBe(200);
    // Without the option the same direct call rings NotReady Joe through the SBC.
    await customerCall(JOE);
    expect(
      env.sbc
        .receivedRequests('INVITE')
        .slice(before)
        .map((m) => m.firstLine),
    ).toEqual([JAY_RURI, JAY_RURI, JOE_RURI]);
    // One BYE for each of these three calls (counted by dialog: an earlier call's late BYE is not theirs).
    await expectOneByeEach(
      env.sbc,
      [...new Set(env.sbc.receivedRequests('INVITE').slice(before).map(callIdOf))],
      'BYE of the direct call',
    );
  });

  it('RONA: Joe does not answer within sip-invite-timeout → CANCEL, Joe NotReady (RONA), the call goes to Jay', async () => {
    const cs = await api(env.server, 'POST', '/api/config/change-sets', {
      changes: [{ op: 'patch', kind: 'server', key: 'server', value: { options: { 'sip-invite-timeout': '2' } } }],
    });
    expect(cs.status, JSON.stringify(cs.json)).toBe(200);
    // Joe Ready, then Jay Ready again: Joe is idle the longest and gets the call first.
    expect(await sup!.request('RequestAgentReady', { thisDN: JOE })).toMatchObject({ event: 'EventAgentReady' });
    await sup!.request('RequestAgentNotReady', { thisDN: JAY });
    expect(await sup!.request('RequestAgentReady', { thisDN: JAY })).toMatchObject({ event: 'EventAgentReady' });
    await env.swapSbc('e2e-uas-sbc-rona.xml');

    const t0 = Date.now();
    await customerCall('5000');
    const invites = env.sbc.receivedRequests('INVITE').map((m) => m.firstLine);
    expect(invites).toEqual([JOE_RURI, JAY_RURI]);
    expect(env.sbc.receivedRequests('CANCEL').map((m) => m.firstLine)).toEqual([
      `CANCEL sip:${JOE}@${env.sbcAddress} SIP/2.0`,
    ]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);

    const rona = await sup!.waitFor(agentEvent('EventAgentNotReady', JOE));
    expect(rona).toMatchObject({ agentId: 'joe', workMode: 'AuxWork', reasonCode: 'RONA' });
    await sup!.waitFor(agentEvent('EventEstablished', JAY));
    await waitFor(async () => (await agentStatus(env.server, 'jay'))?.state === 'Ready', {
      what: 'Jay Ready after the call',
    });
    expect(await agentStatus(env.server, 'joe')).toMatchObject({ state: 'NotReady', workMode: 'AuxWork' });
  });
});
