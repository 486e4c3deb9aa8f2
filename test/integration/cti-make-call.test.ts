/**
 * RequestMakeCall / RequestReleaseCall from an agent desktop over the CTI WebSocket, through the
 * real B2BUA (RFC 3725 Flow I, behaviour §8.1), with SIPp as the agent phone and as the
 * destination behind a softswitch. The requester gets the call events with its referenceId; a
 * supervisor registered on the DN gets the same events without it.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCtiPlugin } from '../../src/api/cti/cti-plugin.js';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { freePort } from '../helpers/ports.js';
import { startSipp } from '../helpers/sipp.js';
import { startCallServer, type CallServer } from './call-harness.js';
import { waitFor } from '../helpers/wait.js';
import { CtiTestClient } from '../helpers/cti-client.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);
const TOKEN = 'cti-make-call-token';

let server: CallServer | undefined;
let http: HttpServer | undefined;
const clients: CtiTestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await http?.close();
  http = undefined;
  await server?.stop();
  server = undefined;
});

describe('3pcc make-call from the CTI desktop', () => {
  it('RequestMakeCall → EventDialing…EventEstablished with the referenceId; RequestReleaseCall → EventReleased', async () => {
    const phonePort = await freePort();
    const ssPort = await freePort();
    server = await startCallServer(`server:
  name: CallTest
  sip:
    listen: ["udp:127.0.0.1:5060"]
dns:
  - number: Softswitch
    type: voip-service
    options: { contact: "127.0.0.1:${ssPort}", service-type: softswitch, prefix: "9" }
  - number: "7001"
    type: extension
    options: { contact: "127.0.0.1:${phonePort}", make-call-rfc3725-flow: "1" }
agents:
  - { id: jay, name: Jay, password: "jay-secret", dn: "7001" }
`);
    http = await createHttpServer({
      store: server.store,
      token: TOKEN,
      plugins: [
        createCtiPlugin({
          agents: server.agents,
          bus: server.b2bua.bus,
          callControl: server.control,
          adminToken: TOKEN,
        }),
      ],
    });
    const wsUrl = `${(await http.listen('127.0.0.1:0')).url.replace('http', 'ws')}/cti`;
    const desk = await CtiTestClient.connect(wsUrl);
    const supervisor = await CtiTestClient.connect(wsUrl);
    clients.push(desk, supervisor);
    await desk.request('RequestOpen', { referenceId: 1, agentId: 'jay', password: 'jay-secret' });
    await supervisor.request('RequestOpen', { referenceId: 1, token: TOKEN });
    expect(await supervisor.request('RequestRegisterAddress', { referenceId: 2, thisDN: '7001' })).toMatchObject({
      event: 'EventRegistered',
    });

    const target = `127.0.0.1:${server.port}`;
    const phone = await startSipp({
      scenario: scen('uas-phone-offer-in-200.xml'),
      target,
      localPort: phonePort,
      calls: 1,
      timeoutMs: 20_000,
    });
    const dest = await startSipp({
      scenario: scen('uas-answer.xml'),
      target,
      localPort: ssPort,
      calls: 1,
      timeoutMs: 20_000,
    });

    desk.send('RequestMakeCall', { referenceId: 20, thisDN: '7001', otherDN: '9123' });
    const dialing = await desk.waitFor((m) => m.event === 'EventDialing', 10_000);
    expect(dialing).toMatchObject({ referenceId: 20, thisDN: '7001', otherDN: '9123', callType: 'Outbound' });
    const connId = dialing.connId as string;
    expect(await desk.waitFor((m) => m.event === 'EventEstablished', 10_000)).toMatchObject({ thisDN: '7001', connId });

    desk.send('RequestReleaseCall', { referenceId: 21, thisDN: '7001', connId });
    expect(await desk.waitFor((m) => m.event === 'EventReleased', 10_000)).toMatchObject({
      referenceId: 21,
      thisDN: '7001',
      connId,
    });
    const [ph, de] = await Promise.all([phone.result(), dest.result()]);
    expect(ph.code, ph.errors).toBe(0);
    expect(de.code, de.errors).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });

    const seen = supervisor
      .pending()
      .filter((m) => typeof m.connId === 'string' && m.thisDN === '7001')
      .map((m) => m.event);
    expect(seen[0]).toBe('EventDialing');
    expect(seen).toContain('EventEstablished');
    expect(seen.at(-1)).toBe('EventReleased');
    expect(supervisor.pending().every((m) => !('referenceId' in m))).toBe(true);
    expect(desk.pending().filter((m) => m.event === 'EventError')).toEqual([]);
    // An unknown connId is refused with the documented code.
    expect(await desk.request('RequestHoldCall', { referenceId: 22, thisDN: '7001', connId: 'ffff' })).toMatchObject({
      event: 'EventError',
      errorCode: 1050,
    });
  });
});
