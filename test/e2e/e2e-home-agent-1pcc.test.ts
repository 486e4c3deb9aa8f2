/**
 * Acceptance, examples/home-agent-phone.yaml, behaviour §3.4 and §7: Jay, logged in on 8888 with
 * agent-phone +1 555 123 2222, dials a customer from his mobile. The INVITE arrives from the SBC
 * (127.0.0.1:5081) with From +15551232222: the server recognises the agent (EventDialing on
 * 8888, callType Outbound) and sends the call to the softswitch with the full number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { E2eEnv, dnEvent, scenario, udpTarget } from './e2e-support.js';

const on = (name: string) => dnEvent(name, '8888');

describe('e2e home agent dials from the agent-phone through the SBC (1pcc, behaviour §3.4)', () => {
  const env = new E2eEnv({ example: 'home-agent-phone.yaml', softswitchPort: 5081 });
  let desk: CtiTestClient | undefined;

  beforeAll(async () => {
    await env.start();
    desk = await env.agentDesk('jay', 'jay-secret', '8888', { agentPhone: '+1 555 123 2222' });
    // The same SIPp plays the SBC both ways from now on.
    await env.sbc.stop();
  });

  afterAll(() => env.stop());

  it('INVITE from the SBC with From = the agent-phone: EventDialing on 8888, Outbound, full number to the softswitch', async () => {
    const mobile = await env.sipp({
      scenario: scenario('e2e-uac-mobile-via-sbc.xml'),
      target: udpTarget(env.server),
      localPort: env.port(5081),
      service: '+15559876543',
      calls: 1,
      pauseMs: 500,
      args: ['-oocsf', scenario('e2e-uas-sbc-answer.xml')],
    });
    expect(await mobile.waitExit(15_000), mobile.errors()).toBe(0);
    // The server's INVITE to the destination came back to the softswitch with the full number.
    expect(mobile.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([
      `INVITE sip:+15559876543@${env.sbcAddress} SIP/2.0`,
    ]);
    const dialing = await desk!.waitFor(on('EventDialing'));
    expect(dialing).toMatchObject({ otherDN: '+15559876543', callType: 'Outbound' });
    expect(await desk!.waitFor(on('EventEstablished'))).toMatchObject({ connId: dialing.connId });
    expect(await desk!.waitFor(on('EventReleased'))).toMatchObject({ connId: dialing.connId });
  });
});
