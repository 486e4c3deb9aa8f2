/**
 * Acceptance, nailed-up connections (behaviour §10, §15 scenario 8) for both example files:
 * `home-nailed-up.yaml` (softswitch with `connect-nailedup-on-login = gcti::park`: the agent's
 * phone is called at login) and `home-nailed-up-legacy.yaml` (the DN's own `contact`, nothing at
 * login: the connection is made with the first call). A SIPp UAS plays the SBC and the agent's
 * PSTN phone; SIPp UACs are the customers calling routing point 5000. Checked: exactly one INVITE
 * dialog to the phone, three customer calls each carried by a re-INVITE on it (and re-parked by
 * another), no BYE until logout, then one; the CTI events of each call (EventRinging then
 * EventEstablished, EventReleased; nothing for the park); the agent hanging up mid-call releases
 * the customer and the next call makes a new connection; with `home-nailed-up.yaml`, the SBC
 * that stops answering OPTIONS (oos-check = oos-force = 1 s) has its parked connection ended with
 * BYE, and the first call once it is back in service makes a new one. The legacy file gets a customers' trunk
 * (its own configuration admits no inbound caller); it runs twice: as shipped (the first call makes
 * the connection) and with `connect-nailedup-on-login = gcti::park` set on the DN (one INVITE at
 * login, as with the softswitch form). During a call the status says `active`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtiFrame, CtiTestClient } from '../helpers/cti-client.js';
import { callIdOf, sdpBody, type TracedMessage } from '../helpers/sipp.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import {
  E2eEnv,
  agentStatus,
  api,
  dnEvent,
  metricValue,
  metricsText,
  waitDeviceState,
  waitInService,
} from './e2e-support.js';

const JOE = '+15551231111';
const on = (name: string) => dnEvent(name, JOE);
const CALL_EVENTS = new Set(['EventRinging', 'EventEstablished', 'EventReleased', 'EventDialing', 'EventAbandoned']);

/** The `nailedUp` field of `GET /api/dns/{JOE}/status`. */
async function nailedUpState(env: E2eEnv): Promise<unknown> {
  return (await api(env.server, 'GET', `/api/dns/${encodeURIComponent(JOE)}/status`)).json.nailedUp;
}

/** Wait until the server's media endpoints (`sipserver_media_endpoints`) are `n`: the park endpoint, or none. */
async function waitMediaEndpoints(env: E2eEnv, n: number): Promise<void> {
  await waitFor(async () => metricValue(await metricsText(env.server.httpUrl!), 'sipserver_media_endpoints') === n, {
    what: `${n} media endpoints`,
  });
}

async function waitNailedUp(env: E2eEnv, state: string): Promise<void> {
  await waitFor(async () => (await nailedUpState(env)) === state, { what: `nailed-up ${state}`, timeoutMs: 10_000 });
}

/** INVITEs the phone received (initial and re-INVITEs), retransmissions counted once. */
function invitesAtPhone(env: E2eEnv): TracedMessage[] {
  const seen = new Set<string>();
  return env.sbc.receivedRequests('INVITE').filter((m) => {
    const key = `${callIdOf(m)} ${/^CSeq:\s*(\d+)/im.exec(m.text)?.[1]}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Replace the SBC SIPp by one running `file`. `probed`: the softswitch is probed (OPTIONS): a
 * probe lost while the SBC was swapped may set it out of service oos-force later, which would
 * end a connection, so go on once the new SBC answered one and the softswitch is in service.
 */
async function swapSbc(env: E2eEnv, file: string, probed: boolean, pauseMs?: number): Promise<void> {
  await env.swapSbc(file, pauseMs);
  if (!probed) return;
  await waitFor(() => env.sbc.receivedRequests('OPTIONS').length > 0, { what: 'a probe', timeoutMs: 15_000 });
  await waitInService(env.server, 'Softswitch');
}

/** One routed customer call (SIPp UAC to 5000, talks `pauseMs`, hangs up): its CTI events on JOE. */
async function customerCall(
  env: E2eEnv,
  desk: CtiTestClient,
  pauseMs = 300,
): Promise<{ events: CtiFrame[]; ready: CtiFrame }> {
  desk.skipReceived();
  const c = await env.uac('e2e-uac-customer-call.xml', '5000', { pauseMs });
  expect(await c.waitExit(15_000), c.errors()).toBe(0);
  const released = await desk.waitFor(on('EventReleased'), 10_000);
  const ready = await desk.waitFor(on('EventAgentReady'), 10_000);
  const events = desk.events.filter(
    (f) => f.thisDN === JOE && f.connId === released.connId && CALL_EVENTS.has(String(f.event)),
  );
  return { events, ready };
}

/**
 * The flows both example files share once the connection exists. `parkOnDn`: the legacy file with
 * `connect-nailedup-on-login = gcti::park` set on the agent's DN by the admin API (behaviour §10:
 * on the agent DN or its softswitch), so that it too connects at login.
 */
function nailedUpFlows(
  example: string,
  opts: { softswitch: 'in-config' | 'legacy'; connectsAtLogin: boolean; parkOnDn?: boolean },
): void {
  const variant = opts.parkOnDn ? ' with connect-nailedup-on-login = gcti::park on the DN' : '';
  describe(`e2e ${example}${variant}: nailed-up connection`, () => {
    const env = new E2eEnv({
      example,
      softswitchPort: 5071,
      ...(opts.softswitch === 'legacy' ? { softswitch: null } : {}),
    });
    let desk: CtiTestClient;

    beforeAll(async () => {
      await env.start();
      if (opts.softswitch === 'legacy') {
        await env.swapSbc('e2e-uas-sbc-answer.xml');
        // The legacy example has no softswitch, so nobody may call in (docs/security.md): the
        // customers' carrier is added as a trunk on loopback (never sent to: no prefix).
        const trunk = await api(env.server, 'PUT', '/api/dns/Customers', {
          type: 'trunk',
          options: { contact: `127.0.0.1:${await freePort()}` },
        });
        expect(trunk.status).toBe(200);
      }
      if (opts.parkOnDn) {
        const park = { options: { 'connect-nailedup-on-login': 'gcti::park' } };
        expect((await api(env.server, 'PATCH', `/api/dns/${encodeURIComponent(JOE)}`, park)).status).toBe(200);
      }
    });
    afterAll(() => env.stop());

    it('one INVITE dialog carries three customer calls by re-INVITE; logout sends one BYE', async () => {
      desk = await env.openDesk('joe', 'joe-secret', JOE);
      const login = await desk.request('RequestAgentLogin', { thisDN: JOE, agentId: 'joe', workMode: 'AutoIn' });
      expect(login).toMatchObject({
        event: 'EventAgentLogin',
        extensions: { 'nailed-up': opts.connectsAtLogin ? 'connecting' : 'none' },
      });
      await desk.waitFor(on('EventAgentReady'));
      if (opts.connectsAtLogin) {
        await waitNailedUp(env, 'parked');
        const [connect] = invitesAtPhone(env);
        expect(invitesAtPhone(env)).toHaveLength(1);
        // make-call-rfc3725-flow = 1 (from the softswitch): no SDP, the park answer goes in the ACK.
        expect(connect!.firstLine).toBe(`INVITE sip:${JOE}@${env.sbcAddress} SIP/2.0`);
        expect(sdpBody(connect!).trim()).toBe('');
      } else {
        expect(await nailedUpState(env)).toBe('none');
        expect(invitesAtPhone(env)).toHaveLength(0);
      }

      for (let i = 0; i < 3; i++) {
        const { events, ready } = await customerCall(env, desk);
        // Auto-answer: EventRinging then EventEstablished at once; then EventReleased.
        expect(events.map((f) => f.event)).toEqual(['EventRinging', 'EventEstablished', 'EventReleased']);
        // Ready again once the call left the connection, which is being re-parked.
        expect(ready.extensions).toEqual({ 'nailed-up': 'parked' });
        await waitNailedUp(env, 'parked');
      }

      // One connection INVITE, then per call: the customer's re-INVITE and the re-park re-INVITE
      // (the state says parked as soon as a call is over; the last re-park may still be on its way).
      await waitFor(() => invitesAtPhone(env).length >= 1 + 3 * 2, { what: 'the last re-park re-INVITE' });
      const invites = invitesAtPhone(env);
      const dialog = callIdOf(invites[0]!);
      expect(invites.map(callIdOf)).toEqual(invites.map(() => dialog));
      expect(invites).toHaveLength(1 + 3 * 2);
      // The park endpoint of the connection, and nothing else left open.
      await waitMediaEndpoints(env, 1);
      for (let i = 0; i < 3; i++) {
        expect(sdpBody(invites[1 + 2 * i]!)).toContain('s=e2e-customer-sdp');
        // The re-park: a black hole, or the park endpoint on our address when a media server runs.
        const repark = sdpBody(invites[2 + 2 * i]!);
        expect(repark).not.toContain('s=e2e-customer-sdp');
        expect(repark).toMatch(/c=IN IP4 (0\.0\.0\.0|127\.0\.0\.1)/);
      }
      expect(env.sbc.distinctRequests('BYE', [dialog])).toBe(0);
      // The park is no call: no call event outside the three customer calls.
      const connIds = new Set(desk.events.filter((f) => CALL_EVENTS.has(String(f.event))).map((f) => f.connId));
      expect(connIds.size).toBe(3);

      expect(await desk.request('RequestAgentLogout', { thisDN: JOE })).toMatchObject({ event: 'EventAgentLogout' });
      await waitFor(() => env.sbc.distinctRequests('BYE', [dialog]) === 1, { what: 'BYE at logout' });
      await waitNailedUp(env, 'none');
      expect(env.sbc.distinctRequests('BYE', [dialog])).toBe(1);
      await waitMediaEndpoints(env, 0);
      expect(invitesAtPhone(env)).toHaveLength(7);
      desk.close();
    });

    it('the agent hangs up mid-call: the customer is released, the next call makes a new connection', async () => {
      await swapSbc(env, 'e2e-uas-nailed-agent-hangup.xml', opts.softswitch === 'in-config', 1000);
      desk = await env.openDesk('joe', 'joe-secret', JOE);
      expect(
        await desk.request('RequestAgentLogin', { thisDN: JOE, agentId: 'joe', workMode: 'AutoIn' }),
      ).toMatchObject({ event: 'EventAgentLogin' });
      await desk.waitFor(on('EventAgentReady'));
      if (opts.connectsAtLogin) await waitNailedUp(env, 'parked');
      for (let i = 0; i < 2; i++) {
        desk.skipReceived();
        const c = await env.uac('e2e-uac-customer-stays.xml', '5000');
        await desk.waitFor(on('EventEstablished'), 10_000);
        expect(await nailedUpState(env)).toBe('active');
        // The agent's BYE (after 1 s) releases the customer: our BYE, its 200.
        expect(await c.waitExit(15_000), c.errors()).toBe(0);
        await desk.waitFor(on('EventReleased'), 10_000);
        await waitNailedUp(env, 'none');
        await desk.waitFor(on('EventAgentReady'), 10_000);
      }
      const dialogs = env.sbc.callIds('INVITE');
      expect(dialogs).toHaveLength(2);
      // Each dialog: the connection INVITE and the customer's re-INVITE; the agent sent the BYE.
      for (const d of dialogs) expect(invitesAtPhone(env).filter((m) => callIdOf(m) === d)).toHaveLength(2);
      expect(env.sbc.distinctRequests('BYE')).toBe(0);
      await waitMediaEndpoints(env, 0);
      expect(await desk.request('RequestAgentLogout', { thisDN: JOE })).toMatchObject({ event: 'EventAgentLogout' });
      desk.close();
    });

    // Only a softswitch is probed by OPTIONS; the legacy form has none, so no such test there.
    if (opts.softswitch === 'in-config')
      it('the softswitch stops answering OPTIONS: the parked connection is ended with BYE (state none); back in service, the next call makes it again', async () => {
        const patch = { options: { 'oos-check': '1', 'oos-force': '1' } };
        expect((await api(env.server, 'PATCH', '/api/dns/Softswitch', patch)).status).toBe(200);
        await swapSbc(env, 'e2e-uas-sbc-answer.xml', true);
        desk = await env.openDesk('joe', 'joe-secret', JOE);
        await desk.request('RequestAgentLogin', { thisDN: JOE, agentId: 'joe', workMode: 'AutoIn' });
        await waitNailedUp(env, 'parked');
        const [connection] = env.sbc.callIds('INVITE');

        // The SBC is still there for its dialogs (BYE → 200) but no longer answers OPTIONS.
        await env.swapSbc('uas-bye-only.xml');
        const stoppedAt = Date.now();
        await waitDeviceState(env.server, 'Softswitch', 'out-of-service');
        // Within oos-check + oos-force (2 s), with room for a loaded machine.
        expect(Date.now() - stoppedAt).toBeLessThan(2000 + 4000);
        await waitFor(() => env.sbc.distinctRequests('BYE', [connection!]) === 1, { what: 'BYE on the connection' });
        await waitNailedUp(env, 'none');
        await waitMediaEndpoints(env, 0);
        // The agent stays logged in and Ready: the connection is no call.
        expect(await agentStatus(env.server, 'joe')).toMatchObject({ state: 'Ready' });

        await swapSbc(env, 'e2e-uas-sbc-answer.xml', true);
        const { events } = await customerCall(env, desk);
        expect(events.map((f) => f.event)).toEqual(['EventRinging', 'EventEstablished', 'EventReleased']);
        await waitNailedUp(env, 'parked');
        await waitFor(() => invitesAtPhone(env).length === 3, { what: 'the re-park re-INVITE' });
        // A new connection (INVITE without SDP, ACK with the answer), the customer's re-INVITE, the re-park.
        const invites = invitesAtPhone(env);
        expect(invites.map(callIdOf)).toEqual(invites.map(() => callIdOf(invites[0]!)));
        expect(callIdOf(invites[0]!)).not.toBe(connection);
        expect(invites[0]!.firstLine).toBe(`INVITE sip:${JOE}@${env.sbcAddress} SIP/2.0`);
        expect(sdpBody(invites[0]!).trim()).toBe('');
        expect(sdpBody(invites[1]!)).toContain('s=e2e-customer-sdp');
        expect(await desk.request('RequestAgentLogout', { thisDN: JOE })).toMatchObject({ event: 'EventAgentLogout' });
        await waitFor(() => env.sbc.distinctRequests('BYE') === 1, { what: 'BYE at logout' });
        desk.close();
      });
  });
}

nailedUpFlows('home-nailed-up.yaml', { softswitch: 'in-config', connectsAtLogin: true });
nailedUpFlows('home-nailed-up-legacy.yaml', { softswitch: 'legacy', connectsAtLogin: false });
nailedUpFlows('home-nailed-up-legacy.yaml', { softswitch: 'legacy', connectsAtLogin: true, parkOnDn: true });

describe('e2e home-nailed-up.yaml: the server is killed and restarted with a parked connection', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'e2e-nailed-restart-'));
  const env = new E2eEnv({ example: 'home-nailed-up.yaml', softswitchPort: 5071, dataDir });
  beforeAll(() => env.start());
  afterAll(async () => {
    await env.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the restored login gets a new connection at once, and the next customer call rides it', async () => {
    const desk = await env.openDesk('joe', 'joe-secret', JOE);
    await desk.request('RequestAgentLogin', { thisDN: JOE, agentId: 'joe', workMode: 'AutoIn' });
    await waitNailedUp(env, 'parked');
    const [before] = env.sbc.callIds('INVITE');
    desk.close();

    env.server.child.kill('SIGKILL');
    expect(await env.server.waitExit(10_000)).not.toBe('timeout');
    await env.startServer();
    // The login was restored (still Ready) and its connection is made again without a desktop or a call.
    expect(await agentStatus(env.server, 'joe')).toMatchObject({ state: 'Ready' });
    await waitNailedUp(env, 'parked');
    const dialogs = env.sbc.callIds('INVITE');
    expect(dialogs).toHaveLength(2);
    const after = dialogs.find((d) => d !== before)!;
    const connect = invitesAtPhone(env).find((m) => callIdOf(m) === after)!;
    expect(connect.firstLine).toBe(`INVITE sip:${JOE}@${env.sbcAddress} SIP/2.0`);
    expect(sdpBody(connect).trim()).toBe('');

    const again = await env.openDesk('joe', 'joe-secret', JOE);
    const { events } = await customerCall(env, again);
    expect(events.map((f) => f.event)).toEqual(['EventRinging', 'EventEstablished', 'EventReleased']);
    // The customer's re-INVITE went on the new connection: no third dialog.
    expect(env.sbc.callIds('INVITE')).toEqual(dialogs);
    expect(invitesAtPhone(env).filter((m) => callIdOf(m) === after).length).toBeGreaterThanOrEqual(2);
    expect(await again.request('RequestAgentLogout', { thisDN: JOE })).toMatchObject({ event: 'EventAgentLogout' });
    await waitFor(() => env.sbc.distinctRequests('BYE', [after]) === 1, { what: 'BYE at logout' });
    again.close();
  });
});
