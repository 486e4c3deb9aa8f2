/**
 * Acceptance, examples/home-agent-phone.yaml, behaviour §3.4 and §7: Jay, logged in on 8888 with
 * agent-phone +1 555 123 2222, dials a customer from his mobile. The INVITE arrives from the SBC
 * (127.0.0.1:5081) with From +15551232222: the server recognises the agent (EventDialing on
 * 8888, callType Outbound) and sends the call to the softswitch with the full number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtiTestClient, type CtiFrame } from '../helpers/cti-client.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import {
  E2E_TOKEN,
  ctiUrl,
  example,
  lockPort,
  scenario,
  startSipp,
  stopAll,
  udpTarget,
  waitInService,
  type SippPeer,
} from './e2e-support.js';

const on = (name: string) => (f: CtiFrame) => f.event === name && f.thisDN === '8888';

describe('e2e home agent dials from the agent-phone through the SBC (1pcc, behaviour §3.4)', () => {
  let release: (() => void) | undefined;
  let server: ServerProcess | undefined;
  const peers: SippPeer[] = [];
  let desk: CtiTestClient | undefined;

  beforeAll(async () => {
    release = await lockPort(5081);
    const sbc = await startSipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), port: 5081 });
    peers.push(sbc);
    server = await startServerProcess({ config: example('home-agent-phone.yaml'), sipListen: ['udp:127.0.0.1:0'], env: { SIPSERVER_TOKEN: E2E_TOKEN } });
    await waitInService(server, 'Softswitch');
    desk = await CtiTestClient.connect(ctiUrl(server));
    await desk.request('RequestOpen', { agentId: 'jay', password: 'jay-secret' });
    await desk.request('RequestRegisterAddress', { thisDN: '8888' });
    await desk.request('RequestAgentLogin', { thisDN: '8888', agentId: 'jay', workMode: 'AutoIn', extensions: { 'agent-phone': '+1 555 123 2222' } });
    await desk.waitFor(on('EventAgentReady'));
    // The same SIPp plays the SBC both ways from now on.
    await sbc.stop();
  });

  afterAll(async () => {
    desk?.close();
    await stopAll(peers);
    await server?.stop();
    release?.();
  });

  it('INVITE from the SBC with From = the agent-phone: EventDialing on 8888, Outbound, full number to the softswitch', async () => {
    const mobile = await startSipp({
      scenario: scenario('e2e-uac-mobile-via-sbc.xml'),
      target: udpTarget(server!),
      port: 5081,
      service: '+15559876543',
      calls: 1,
      pauseMs: 500,
      args: ['-oocsf', scenario('e2e-uas-sbc-answer.xml')],
    });
    peers.push(mobile);
    expect(await mobile.waitExit(15_000), mobile.errors()).toBe(0);
    // The server's INVITE to the destination came back to the softswitch with the full number.
    expect(mobile.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual(['INVITE sip:+15559876543@127.0.0.1:5081 SIP/2.0']);
    const dialing = await desk!.waitFor(on('EventDialing'));
    expect(dialing).toMatchObject({ otherDN: '+15559876543', callType: 'Outbound' });
    expect(await desk!.waitFor(on('EventEstablished'))).toMatchObject({ connId: dialing.connId });
    expect(await desk!.waitFor(on('EventReleased'))).toMatchObject({ connId: dialing.connId });
  });
});
