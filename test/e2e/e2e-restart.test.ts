/**
 * Acceptance, server restart with examples/home-agent-phone.yaml (docs/agents.md "Persistence"):
 * shutting down releases the active call (BYE to both parties); after the restart on the same
 * data directory Jay is still logged in on 8888 with his agent-phone, in the after-call state of
 * his Busy state, and the next routed call rings the agent-phone again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { E2eEnv, agentStatus, dnEvent, scenario, status } from './e2e-support.js';

const on = (name: string) => dnEvent(name, '8888');

describe('e2e restart: agent session and agent-phone survive, calls are released', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'e2e-restart-'));
  const env = new E2eEnv({ example: 'home-agent-phone.yaml', softswitchPort: 5081, dataDir });

  beforeAll(() => env.start());

  afterAll(async () => {
    await env.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a call in progress is released at shutdown; after the restart Jay is in AfterCallWork with his agent-phone', async () => {
    const d1 = await env.openDesk('jay', 'jay-secret', '8888');
    await d1.request('RequestAgentLogin', {
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'ManualIn',
      extensions: { 'agent-phone': '+1 555 123 2222' },
    });
    await d1.waitFor(on('EventAgentReady'));
    const customer = await env.uac('e2e-uac-customer-stays.xml', '5000');
    await d1.waitFor(on('EventEstablished'), 10_000);
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'BusyReady' });

    expect(await env.server.stop()).toBe(0);
    // Shutdown ended the call with BYE on both legs.
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
    expect(customer.distinctRequests('BYE')).toBe(1);
    expect(env.sbc.distinctRequests('BYE')).toBe(1);
    expect((await d1.waitClosed(5000)).code).toBe(1001);
    // The desktop saw its call end before the connection closed.
    expect(d1.names().slice(-2)).toEqual(['EventReleased', 'EventAgentNotReady']);

    await env.startServer();
    const d2 = await env.openDesk('jay', 'jay-secret', '8888');
    const info = await d2.request('RequestQueryAddress', { thisDN: '8888' });
    expect(info).toMatchObject({
      event: 'EventAddressInfo',
      agentId: 'jay',
      agentState: 'AfterCallWork',
      extensions: { 'agent-phone': '+15551232222' },
    });
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'AfterCallWork', agentPhone: '+15551232222' });
  });

  it('after the restart, Ready again: the next routed call rings the agent-phone', async () => {
    const d2 = env.desks[env.desks.length - 1]!;
    expect(await d2.request('RequestAgentReady', { thisDN: '8888' })).toMatchObject({ event: 'EventAgentReady' });
    const invites0 = env.sbc.receivedRequests('INVITE').length;
    const c = await env.uac('e2e-uac-customer-call.xml', '5000', { pauseMs: 300 });
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(
      env.sbc
        .receivedRequests('INVITE')
        .slice(invites0)
        .map((m) => m.firstLine),
    ).toEqual([`INVITE sip:+15551232222@${env.sbcAddress} SIP/2.0`]);
    await d2.waitFor(on('EventReleased'));
    await waitFor(async () => (await agentStatus(env.server, 'jay'))?.state === 'AfterCallWork', {
      what: 'AfterCallWork (ManualIn kept over the restart)',
    });
  });

  it("a phone's registration survives a restart: after logout and restart a call to 8888 reaches it", async () => {
    const d2 = env.desks[env.desks.length - 1]!;
    expect(await d2.request('RequestAgentLogout', { thisDN: '8888' })).toMatchObject({ event: 'EventAgentLogout' });
    const phonePort = await freePort();
    await env.register('e2e-uac-register-8888.xml', phonePort);
    expect(await env.server.stop()).toBe(0);
    await env.startServer();
    expect(((await status(env.server)).registrations as unknown[]).length).toBe(1);
    const phone = await env.sipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), localPort: phonePort });
    const c = await env.uac('e2e-uac-customer-call.xml', '8888', { pauseMs: 200 });
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(phone.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([
      `INVITE sip:8888@127.0.0.1:${phonePort} SIP/2.0`,
    ]);
  });
});
