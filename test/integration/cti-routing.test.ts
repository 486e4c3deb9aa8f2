/**
 * End to end: an agent desktop on the CTI WebSocket, the real agent service, router and B2BUA,
 * and SIPp as customer and as the agent's phone (loopback). The desktop sees the routed call's
 * events and its own state changes, and releases a call from the desktop.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCtiPlugin } from '../../src/api/cti/cti-plugin.js';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { freePort } from '../helpers/ports.js';
import { runSipp, startSipp } from '../helpers/sipp.js';
import { startCallServer, type CallServer } from './call-harness.js';
import { waitFor } from '../helpers/wait.js';
import { CtiTestClient, type CtiFrame } from '../helpers/cti-client.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);
const TOKEN = 'cti-routing-token';

function yaml(phonePort: number): string {
  return `server:
  name: CallTest
  sip:
    listen: ["udp:127.0.0.1:5060"]
dns:
  - number: "7001"
    type: extension
    options:
      contact: "127.0.0.1:${phonePort}"
      reject-call-notready: "true"
      sip-invite-timeout: "5"
  - number: "5000"
    type: routing-point
    options:
      agent-group: Support
      router-timeout: "5"
agents:
  - { id: jay, name: Jay, password: "jay-secret", dn: "7001" }
agent-groups:
  - name: Support
    agents: [jay]
`;
}

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

async function setup(workMode: 'AutoIn' | 'ManualIn'): Promise<{ desk: CtiTestClient; phonePort: number }> {
  const phonePort = await freePort();
  server = await startCallServer(yaml(phonePort));
  http = await createHttpServer({
    store: server.store,
    token: TOKEN,
    plugins: [
      createCtiPlugin({
        agents: server.agents,
        bus: server.b2bua.bus,
        callControl: server.control,
        adminToken: TOKEN,
        serverName: 'CallTest',
      }),
    ],
  });
  const { url } = await http.listen('127.0.0.1:0');
  const desk = await CtiTestClient.connect(`${url.replace('http', 'ws')}/cti`);
  clients.push(desk);
  expect(await desk.request('RequestOpen', { referenceId: 1, agentId: 'jay', password: 'jay-secret' })).toMatchObject({
    event: 'EventOpened',
  });
  expect(await desk.request('RequestRegisterAddress', { referenceId: 2, thisDN: '7001' })).toMatchObject({
    event: 'EventRegistered',
  });
  desk.send('RequestAgentLogin', { referenceId: 3, thisDN: '7001', agentId: 'jay', workMode });
  expect(await desk.waitFor((m) => m.referenceId === 3)).toMatchObject({ event: 'EventAgentLogin' });
  expect(await desk.waitFor((m) => m.referenceId === 3)).toMatchObject({ event: 'EventAgentReady', workMode });
  return { desk, phonePort };
}

async function nextEvents(desk: CtiTestClient, n: number, ms = 10_000): Promise<CtiFrame[]> {
  const out: CtiFrame[] = [];
  for (let i = 0; i < n; i++) out.push(await desk.next(ms));
  return out;
}

describe('agent desktop over CTI with routed calls (SIPp customer and phone)', () => {
  it('AutoIn: the desktop sees Ringing/Established/Released of the routed call, then Ready again', async () => {
    const { desk, phonePort } = await setup('AutoIn');
    const phone = await startSipp({
      scenario: scen('uas-answer.xml'),
      target: `127.0.0.1:${server!.port}`,
      localPort: phonePort,
      calls: 1,
      timeoutMs: 20_000,
    });
    const customer = await runSipp({
      scenario: scen('uac-basic-call.xml'),
      target: `127.0.0.1:${server!.port}`,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '5000', '-d', '300'],
    });
    const ph = await phone.result();
    expect(customer.code, customer.errors).toBe(0);
    expect(ph.code, ph.errors).toBe(0);
    const evs = await nextEvents(desk, 4);
    expect(evs.map((e) => e.event)).toEqual(['EventRinging', 'EventEstablished', 'EventReleased', 'EventAgentReady']);
    const connId = evs[0]!.connId as string;
    expect(connId).toMatch(/^[0-9a-f]+$/);
    for (const e of evs.slice(0, 3)) {
      expect(e).toMatchObject({ thisDN: '7001', connId, callType: 'Inbound', dnis: '5000', server: 'CallTest' });
      expect('referenceId' in e).toBe(false);
    }
    expect(evs[3]).toMatchObject({ thisDN: '7001', agentId: 'jay', workMode: 'AutoIn' });
    expect(await desk.request('RequestQueryAddress', { referenceId: 9, thisDN: '7001' })).toMatchObject({
      agentState: 'Ready',
    });
  });

  it('ManualIn: BusyReady during the call, AfterCallWork after it; the desktop releases the call itself', async () => {
    const { desk, phonePort } = await setup('ManualIn');
    const phone = await startSipp({
      scenario: scen('uas-answer.xml'),
      target: `127.0.0.1:${server!.port}`,
      localPort: phonePort,
      calls: 1,
      timeoutMs: 20_000,
    });
    const customer = runSipp({
      scenario: scen('uac-callee-hangs-up.xml'),
      target: `127.0.0.1:${server!.port}`,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '5000'],
    });
    const established = await desk.waitFor((m) => m.event === 'EventEstablished', 10_000);
    const connId = established.connId as string;
    expect(await desk.request('RequestQueryAddress', { referenceId: 10, thisDN: '7001' })).toMatchObject({
      agentState: 'BusyReady',
    });
    desk.send('RequestReleaseCall', { referenceId: 11, thisDN: '7001', connId });
    const released = await desk.waitFor((m) => m.event === 'EventReleased', 10_000);
    expect(released).toMatchObject({ thisDN: '7001', connId, referenceId: 11 });
    const [c, ph] = await Promise.all([customer, phone.result()]);
    expect(c.code, c.errors).toBe(0);
    expect(ph.code, ph.errors).toBe(0);
    expect(await desk.waitFor((m) => m.event === 'EventAgentNotReady')).toMatchObject({
      workMode: 'AfterCallWork',
      agentId: 'jay',
    });
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    expect(await desk.request('RequestQueryAddress', { referenceId: 12, thisDN: '7001' })).toMatchObject({
      agentState: 'AfterCallWork',
    });
    expect(desk.pending().filter((m) => m.event === 'EventError')).toEqual([]);
  });
});
