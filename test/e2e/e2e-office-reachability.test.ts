/**
 * Acceptance, examples/office.yaml reachability (behaviour §3.5, §5, §12.3, §15 items 1 and 4):
 * Joe's registration of 8888 expires → EventDNOutOfService, direct calls get 480, re-registering
 * brings it back; the office PBX (127.0.0.1:5081) stops answering OPTIONS → the Softswitch and
 * 7777 behind it are out of service, routed calls go to Joe only; the PBX answers again → back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { freePort } from '../helpers/ports.js';
import { type SippPeer } from '../helpers/sipp.js';
import { E2eEnv, api, dnEvent, scenario, status } from './e2e-support.js';

describe('e2e office.yaml reachability: registration expiry, PBX out of service', () => {
  const env = new E2eEnv({ example: 'office.yaml', softswitchPort: 5081 });
  let pbx: SippPeer;
  let sup: CtiTestClient | undefined;
  let phonePort = 0;

  const register = (file: string) => env.register(file, phonePort);

  async function call(file: string, service: string, pauseMs?: number): Promise<SippPeer> {
    const c = await env.uac(file, service, pauseMs !== undefined ? { pauseMs } : {});
    expect(await c.waitExit(20_000), c.errors()).toBe(0);
    return c;
  }

  beforeAll(async () => {
    await env.start();
    pbx = env.sbc;
    phonePort = await freePort();
    sup = await env.supervisorDesk(['8888', '7777', 'Softswitch']);
  });

  afterAll(() => env.stop());

  it('8888: registration expires → EventDNOutOfService and 480 (not registered); a new REGISTER → EventDNBackInService', async () => {
    const cs = await api(env.server, 'POST', '/api/config/change-sets', {
      changes: [{ op: 'patch', kind: 'server', key: 'server', value: { options: { 'registrar-min-expires': '1' } } }],
    });
    expect(cs.status, JSON.stringify(cs.json)).toBe(200);
    await register('e2e-uac-register-8888-short.xml');
    await sup!.waitFor(dnEvent('EventDNBackInService', '8888'), 5000);
    await sup!.waitFor(dnEvent('EventDNOutOfService', '8888'), 10_000);
    const refused = await call('uac-expect-480.xml', '8888');
    expect(
      refused.messages().find((m) => m.dir === 'received' && m.firstLine.startsWith('SIP/2.0 480'))?.firstLine,
    ).toBe('SIP/2.0 480 Temporarily Unavailable (not registered)');
    await register('e2e-uac-register-8888.xml');
    await sup!.waitFor(dnEvent('EventDNBackInService', '8888'), 5000);
    const phone = await env.sipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), localPort: phonePort });
    await call('e2e-uac-customer-call.xml', '8888', 200);
    expect(phone.receivedRequests('INVITE').map((m) => m.firstLine)).toEqual([
      `INVITE sip:8888@127.0.0.1:${phonePort} SIP/2.0`,
    ]);
    // The phone removes its binding (Expires: 0): out of service at once.
    await phone.stop();
    await register('e2e-uac-unregister-8888.xml');
    await sup!.waitFor(dnEvent('EventDNOutOfService', '8888'), 3000);
    expect((await api(env.server, 'GET', '/api/dns/8888/status')).json).toMatchObject({
      mode: 'unreachable',
      inService: false,
    });
  });

  it('the PBX stops answering OPTIONS → Softswitch and 7777 out of service; routed calls skip Jay; the PBX is back → in service', async () => {
    expect(
      (await api(env.server, 'PATCH', '/api/dns/Softswitch', { options: { 'oos-check': '1', 'oos-force': '1' } }))
        .status,
    ).toBe(200);
    // Joe's phone is back (the previous test removed its registration).
    await register('e2e-uac-register-8888.xml');
    await env.sipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), localPort: phonePort });
    await sup!.request('RequestAgentLogin', { thisDN: '7777', agentId: 'jay', workMode: 'AutoIn' });
    await sup!.request('RequestAgentLogin', { thisDN: '8888', agentId: 'joe', workMode: 'AutoIn' });
    await sup!.waitFor(dnEvent('EventAgentReady', '8888'));
    await sup!.waitFor(dnEvent('EventAgentReady', '7777'));

    await pbx.stop();
    await sup!.waitFor(dnEvent('EventDNOutOfService', 'Softswitch'), 10_000);
    await sup!.waitFor(dnEvent('EventDNOutOfService', '7777'), 5000);
    const devices = (await status(env.server)).devices as Array<Record<string, unknown>>;
    expect(devices.find((d) => d.dn === 'Softswitch')).toMatchObject({ state: 'out-of-service' });

    // Jay (idle longest) is unreachable: the routed call goes to Joe's phone.
    await call('e2e-uac-customer-call.xml', '5000', 200);
    const est = await sup!.waitFor((f) => f.event === 'EventEstablished', 5000);
    expect(est.thisDN).toBe('8888');
    const refused = await call('uac-expect-480.xml', '7777');
    expect(
      refused.messages().find((m) => m.dir === 'received' && m.firstLine.startsWith('SIP/2.0 480'))?.firstLine,
    ).toMatch(/^SIP\/2\.0 480 Temporarily Unavailable \(/);

    pbx = await env.swapSbc('e2e-uas-sbc-answer.xml');
    await sup!.waitFor(dnEvent('EventDNBackInService', 'Softswitch'), 10_000);
    await sup!.waitFor(dnEvent('EventDNBackInService', '7777'), 5000);
  });
});
