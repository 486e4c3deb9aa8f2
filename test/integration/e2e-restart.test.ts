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
import { CtiTestClient, type CtiFrame } from '../helpers/cti-client.js';
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import {
  E2E_TOKEN,
  agentStatus,
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

const on = (name: string) => (f: CtiFrame) => f.event === name && f.thisDN === '8888';

describe('e2e restart: agent session and agent-phone survive, calls are released', () => {
  let release: (() => void) | undefined;
  let server: ServerProcess | undefined;
  let sbc: SippPeer;
  const peers: SippPeer[] = [];
  const desks: CtiTestClient[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'e2e-restart-'));

  async function start(): Promise<ServerProcess> {
    const s = await startServerProcess({
      config: example('home-agent-phone.yaml'),
      sipListen: ['udp:127.0.0.1:0'],
      dataDir,
      env: { SIPSERVER_TOKEN: E2E_TOKEN },
    });
    await waitInService(s, 'Softswitch');
    return s;
  }

  async function desk(): Promise<CtiTestClient> {
    const d = await CtiTestClient.connect(ctiUrl(server!));
    desks.push(d);
    expect(await d.request('RequestOpen', { agentId: 'jay', password: 'jay-secret' })).toMatchObject({ event: 'EventOpened' });
    expect(await d.request('RequestRegisterAddress', { thisDN: '8888' })).toMatchObject({ event: 'EventRegistered' });
    return d;
  }

  beforeAll(async () => {
    release = await lockPort(5081);
    sbc = await startSipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), port: 5081 });
    peers.push(sbc);
    server = await start();
  });

  afterAll(async () => {
    for (const d of desks) d.close();
    await stopAll(peers);
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    release?.();
  });

  it('a call in progress is released at shutdown; after the restart Jay is in AfterCallWork with his agent-phone', async () => {
    const d1 = await desk();
    await d1.request('RequestAgentLogin', { thisDN: '8888', agentId: 'jay', workMode: 'ManualIn', extensions: { 'agent-phone': '+1 555 123 2222' } });
    await d1.waitFor(on('EventAgentReady'));
    const customer = await startSipp({ scenario: scenario('e2e-uac-customer-stays.xml'), target: udpTarget(server!), service: '5000', calls: 1 });
    peers.push(customer);
    await d1.waitFor(on('EventEstablished'), 10_000);
    expect(await agentStatus(server!, 'jay')).toMatchObject({ state: 'BusyReady' });

    expect(await server!.stop()).toBe(0);
    // Shutdown ended the call with BYE on both legs.
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
    expect(customer.distinctRequests('BYE')).toBe(1);
    expect(sbc.distinctRequests('BYE')).toBe(1);
    expect((await d1.waitClosed(5000)).code).toBe(1001);
    // The desktop saw its call end before the connection closed.
    expect(d1.names().slice(-2)).toEqual(['EventReleased', 'EventAgentNotReady']);

    server = await start();
    const d2 = await desk();
    const info = await d2.request('RequestQueryAddress', { thisDN: '8888' });
    expect(info).toMatchObject({ event: 'EventAddressInfo', agentId: 'jay', agentState: 'AfterCallWork', extensions: { 'agent-phone': '+15551232222' } });
    expect(await agentStatus(server!, 'jay')).toMatchObject({ state: 'AfterCallWork', agentPhone: '+15551232222' });
  });

  it('after the restart, Ready again: the next routed call rings the agent-phone', async () => {
    const d2 = desks[desks.length - 1]!;
    expect(await d2.request('RequestAgentReady', { thisDN: '8888' })).toMatchObject({ event: 'EventAgentReady' });
    const invites0 = sbc.receivedRequests('INVITE').length;
    const c = await startSipp({ scenario: scenario('e2e-uac-customer-call.xml'), target: udpTarget(server!), service: '5000', calls: 1, pauseMs: 300 });
    peers.push(c);
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(sbc.receivedRequests('INVITE').slice(invites0).map((m) => m.firstLine)).toEqual(['INVITE sip:+15551232222@127.0.0.1:5081 SIP/2.0']);
    await d2.waitFor(on('EventReleased'));
    await eventually(async () => (await agentStatus(server!, 'jay'))?.state === 'AfterCallWork', 'AfterCallWork (ManualIn kept over the restart)');
  });

  it("a phone's registration survives a restart: after logout and restart a call to 8888 reaches it", async () => {
    const d2 = desks[desks.length - 1]!;
    expect(await d2.request('RequestAgentLogout', { thisDN: '8888' })).toMatchObject({ event: 'EventAgentLogout' });
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
    expect(await server!.stop()).toBe(0);
    server = await start();
    expect(((await status(server)).registrations as unknown[]).length).toBe(1);
    const phone = await startSipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), port: phonePort });
    peers.push(phone);
    const c = await startSipp({ scenario: scenario('e2e-uac-customer-call.xml'), target: udpTarget(server), service: '8888', calls: 1, pauseMs: 200 });
    peers.push(c);
    expect(await c.waitExit(15_000), c.errors()).toBe(0);
    expect(phone.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([`INVITE sip:8888@127.0.0.1:${phonePort} SIP/2.0`]);
  });
});
