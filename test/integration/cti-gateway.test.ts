import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { createCtiPlugin } from '../../src/api/cti/cti-plugin.js';
import type { CtiGateway } from '../../src/api/cti/cti-gateway.js';
import { registerContactCenterMetrics } from '../../src/api/cti/cti-metrics.js';
import { CTI_ERROR } from '../../src/api/cti/cti-error-codes.js';
import { loadConfigText } from '../../src/config/config-file.js';
import { type ConfigStore, openStore } from '../../src/config/config-store.js';
import type { AgentService } from '../../src/contact-center/agents/agent-service.js';
import { type AgentsModule, createAgentsModule } from '../../src/contact-center/agents/agents-module.js';
import { createAgentStatusProvider } from '../../src/contact-center/agents/agent-status-provider.js';
import { createReachability, type Reachability } from '../../src/reachability/reachability-module.js';
import type { ContactCenterEventBus } from '../../src/contact-center/events.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { CtiTestClient, type CtiFrame } from '../helpers/cti-client.js';
import { RoutingPointRouter } from '../../src/contact-center/routing/routing-point-router.js';

const CONFIG = `
server:
  name: SIP_Server
  sip: { listen: ["udp:127.0.0.1:0"] }
  http: { listen: "127.0.0.1:0" }
dns:
  - number: Softswitch
    type: voip-service
    options: { contact: "127.0.0.1:5081", service-type: softswitch, prefix: "+1" }
  - { number: "8888", type: extension, options: { contact: "*" } }
  - { number: "7777", type: extension }
  - { number: "5000", type: routing-point, options: { agent-group: Support } }
agents:
  - { id: jay, name: Jay, password: "jay-secret", dn: "8888" }
  - { id: joe, name: Joe, password: "joe-secret", dn: "7777" }
agent-groups:
  - { name: Support, agents: [jay, joe] }
`;
const ADMIN_TOKEN = 'admin-token-for-tests';

interface Stack {
  server: HttpServer;
  agents: AgentService;
  mod: AgentsModule;
  bus: ContactCenterEventBus;
  reach: Reachability;
  url: string;
}

describe('CTI gateway over a real WebSocket (interfaces §4)', () => {
  let dir: string;
  let store: ConfigStore;
  let stack: Stack;
  const clients: CtiTestClient[] = [];

  async function start(): Promise<Stack> {
    // The real reachability layer; no DN has oos-check, so the OPTIONS sender is never used.
    const reach = createReachability({
      store,
      registrations: { get: () => [] },
      clock: systemClock,
      logger: silentLogger,
      sender: { send: async () => ({ kind: 'final', status: 200 }) },
    });
    const mod = createAgentsModule({
      store,
      reachability: reach,
      dataDir: dir,
      clock: systemClock,
      logger: silentLogger,
    });
    const { agents, bus } = mod;
    let gateway: CtiGateway | undefined;
    const server = await createHttpServer({
      store,
      token: ADMIN_TOKEN,
      plugins: [
        createCtiPlugin({
          agents,
          bus,
          adminToken: ADMIN_TOKEN,
          limits: { burst: 20, ratePerSecond: 10, maxMessageBytes: 8192 },
          onGateway: (g) => {
            gateway = g;
          },
        }),
      ],
    });
    registerContactCenterMetrics(server.metrics, agents, () => gateway);
    const { url } = await server.listen('127.0.0.1:0');
    return { server, agents, mod, bus, reach, url: `${url.replace('http', 'ws')}/cti` };
  }

  async function stop(s: Stack): Promise<void> {
    await s.server.close();
    s.mod.close();
    s.reach.close();
  }

  async function client(): Promise<CtiTestClient> {
    const c = await CtiTestClient.connect(stack.url);
    clients.push(c);
    return c;
  }

  async function openAs(agentId: string, password: string): Promise<CtiTestClient> {
    const c = await client();
    const ev = await c.request('RequestOpen', { referenceId: 1, agentId, password });
    expect(ev.event).toBe('EventOpened');
    return c;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cti-'));
    store = openStore(dir);
    const loaded = loadConfigText(CONFIG);
    expect(loaded.errors).toEqual([]);
    store.reconcile(loaded.model!);
    stack = await start();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await stop(stack);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('RequestOpen: wrong password → EventError BAD_CREDENTIALS; right one → EventOpened (agent scope)', async () => {
    const c = await client();
    const err = await c.request('RequestOpen', { referenceId: 5, agentId: 'jay', password: 'wrong' });
    expect(err).toMatchObject({ event: 'EventError', referenceId: 5, errorCode: CTI_ERROR.BAD_CREDENTIALS.code });
    expect(typeof err.time).toBe('string');
    expect(new Date(err.time as string).toISOString()).toBe(err.time);
    const ok = await c.request('RequestOpen', { referenceId: 6, agentId: 'jay', password: 'jay-secret' });
    expect(ok).toMatchObject({
      event: 'EventOpened',
      referenceId: 6,
      scope: 'agent',
      agentId: 'jay',
      thisDN: '8888',
      server: 'SIP_Server',
    });
    const again = await c.request('RequestOpen', { referenceId: 7, token: ADMIN_TOKEN });
    expect(again).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.ALREADY_OPENED.code });
  });

  it('RequestOpen with a wrong token fails; with the admin token opens application scope', async () => {
    const c = await client();
    expect(await c.request('RequestOpen', { referenceId: 1, token: 'nope' })).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR.BAD_TOKEN.code,
    });
    expect(await c.request('RequestOpen', { referenceId: 2, token: ADMIN_TOKEN })).toMatchObject({
      event: 'EventOpened',
      scope: 'application',
    });
  });

  it('three requests before RequestOpen → three EventError NOT_OPENED, then the server closes', async () => {
    const c = await client();
    for (let i = 1; i <= 3; i++) {
      c.send('RequestAgentReady', { referenceId: i, thisDN: '8888' });
      expect(await c.waitFor((m) => m.referenceId === i)).toMatchObject({
        event: 'EventError',
        errorCode: CTI_ERROR.NOT_OPENED.code,
      });
    }
    expect((await c.waitClosed()).code).toBe(1008);
  });

  it('agent scope: another DN is not allowed', async () => {
    const c = await openAs('jay', 'jay-secret');
    expect(await c.request('RequestRegisterAddress', { referenceId: 2, thisDN: '7777' })).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR.DN_NOT_ALLOWED.code,
    });
    expect(
      await c.request('RequestAgentLogin', { referenceId: 3, thisDN: '7777', agentId: 'jay', workMode: 'AutoIn' }),
    ).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR.DN_NOT_ALLOWED.code,
    });
    expect(
      await c.request('RequestAgentLogin', { referenceId: 4, thisDN: '8888', agentId: 'joe', password: 'joe-secret' }),
    ).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR.DN_NOT_ALLOWED.code,
    });
    expect(await c.request('RequestRegisterAddress', { referenceId: 5, thisDN: '8888' })).toMatchObject({
      event: 'EventRegistered',
      thisDN: '8888',
    });
  });

  it("agent scope: a login outlives a change of the agent's DN (the DN logged in on stays usable until logout)", async () => {
    const c = await openAs('jay', 'jay-secret');
    expect(
      await c.request('RequestAgentLogin', { referenceId: 2, thisDN: '8888', agentId: 'jay', workMode: 'AutoIn' }),
    ).toMatchObject({ event: 'EventAgentLogin', thisDN: '8888' });
    // The agent's default DN moves (as `sipserver migrate` does) while the agent is logged in on 8888.
    store.apply([{ op: 'patch', kind: 'agent', key: 'jay', value: { dn: '7777' } }]);
    expect(await c.request('RequestAgentNotReady', { referenceId: 3, thisDN: '8888' })).toMatchObject({
      event: 'EventAgentNotReady',
      thisDN: '8888',
    });
    expect(await c.request('RequestAgentLogout', { referenceId: 4, thisDN: '8888' })).toMatchObject({
      event: 'EventAgentLogout',
      thisDN: '8888',
    });
    // Logged out: 8888 is no longer the agent's, 7777 (the new default DN) is.
    expect(await c.request('RequestRegisterAddress', { referenceId: 5, thisDN: '8888' })).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR.DN_NOT_ALLOWED.code,
    });
    expect(await c.request('RequestRegisterAddress', { referenceId: 6, thisDN: '7777' })).toMatchObject({
      event: 'EventRegistered',
      thisDN: '7777',
    });
  });

  it('agent-phone equal to an internal DN → EventError AGENT_PHONE_INTERNAL_DN; no softswitch → AGENT_PHONE_NO_SOFTSWITCH', async () => {
    const c = await openAs('jay', 'jay-secret');
    const e1 = await c.request('RequestAgentLogin', {
      referenceId: 9,
      thisDN: '8888',
      agentId: 'jay',
      password: 'jay-secret',
      workMode: 'AutoIn',
      extensions: { 'agent-phone': '77 77' },
    });
    expect(e1).toMatchObject({
      event: 'EventError',
      referenceId: 9,
      errorCode: CTI_ERROR.AGENT_PHONE_INTERNAL_DN.code,
    });
    const e2 = await c.request('RequestAgentLogin', {
      referenceId: 10,
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'AutoIn',
      extensions: { 'agent-phone': '+44 20 7946 0000' },
    });
    expect(e2).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.AGENT_PHONE_NO_SOFTSWITCH.code });
    expect(stack.agents.sessionByAgent('jay')).toBeUndefined();
  });

  it('agent-phone already bound to another agent → AGENT_PHONE_BOUND (application scope logs both in)', async () => {
    const app = await client();
    await app.request('RequestOpen', { referenceId: 1, token: ADMIN_TOKEN });
    const ok = await app.request('RequestAgentLogin', {
      referenceId: 2,
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'AutoIn',
      extensions: { 'agent-phone': '+1 555 123 2222' },
    });
    expect(ok).toMatchObject({ event: 'EventAgentLogin', extensions: { 'agent-phone': '+15551232222' } });
    const bound = await app.request('RequestAgentLogin', {
      referenceId: 3,
      thisDN: '7777',
      agentId: 'joe',
      workMode: 'AutoIn',
      extensions: { 'agent-phone': '+15551232222' },
    });
    expect(bound).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.AGENT_PHONE_BOUND.code });
  });

  it('login / ready / not-ready / logout: answers echo referenceId, a registered observer sees the same events without it', async () => {
    const observer = await client();
    await observer.request('RequestOpen', { referenceId: 1, token: ADMIN_TOKEN });
    await observer.request('RequestRegisterAddress', { referenceId: 2, thisDN: '8888' });
    const c = await openAs('jay', 'jay-secret');
    expect(await c.request('RequestRegisterAddress', { referenceId: 2, thisDN: '8888' })).toMatchObject({
      event: 'EventRegistered',
    });

    c.send('RequestAgentLogin', {
      referenceId: 7,
      thisDN: '8888',
      agentId: 'jay',
      password: 'jay-secret',
      workMode: 'AutoIn',
      extensions: { 'agent-phone': '+1 555 123 2222' },
    });
    const login = await c.waitFor((m) => m.referenceId === 7);
    expect(login).toMatchObject({
      event: 'EventAgentLogin',
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'AutoIn',
      extensions: { 'agent-phone': '+15551232222' },
    });
    expect(await c.waitFor((m) => m.referenceId === 7)).toMatchObject({
      event: 'EventAgentReady',
      thisDN: '8888',
      workMode: 'AutoIn',
    });
    expect(stack.reach.resolve('8888')).toMatchObject({
      mode: 'agent-phone',
      target: 'sip:+15551232222@127.0.0.1:5081',
      via: 'Softswitch',
    });

    expect(
      await c.request('RequestAgentNotReady', {
        referenceId: 8,
        thisDN: '8888',
        workMode: 'AuxWork',
        reasonCode: 'Lunch',
      }),
    ).toMatchObject({
      event: 'EventAgentNotReady',
      workMode: 'AuxWork',
      reasonCode: 'Lunch',
    });
    expect(
      await c.request('RequestAgentReady', { referenceId: 9, thisDN: '8888', workMode: 'ManualIn' }),
    ).toMatchObject({ event: 'EventAgentReady', workMode: 'ManualIn' });
    expect(
      await c.request('RequestAgentNotReady', { referenceId: 10, thisDN: '8888', workMode: 'AutoIn' }),
    ).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR.INVALID_WORK_MODE.code,
    });
    expect(await c.request('RequestAgentLogout', { referenceId: 11, thisDN: '8888' })).toMatchObject({
      event: 'EventAgentLogout',
      agentId: 'jay',
    });
    expect(stack.reach.resolver.agentPhoneOf('8888')).toBeUndefined();
    expect(stack.reach.resolve('8888').mode).toBe('unreachable'); // contact=*, nothing registered
    expect(await c.request('RequestAgentReady', { referenceId: 12, thisDN: '8888' })).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR.AGENT_NOT_LOGGED_IN.code,
    });

    const seen: CtiFrame[] = [];
    for (let i = 0; i < 5; i++) seen.push(await observer.next());
    expect(seen.map((m) => [m.event, m.thisDN, m.agentId])).toEqual([
      ['EventAgentLogin', '8888', 'jay'],
      ['EventAgentReady', '8888', 'jay'],
      ['EventAgentNotReady', '8888', 'jay'],
      ['EventAgentReady', '8888', 'jay'],
      ['EventAgentLogout', '8888', 'jay'],
    ]);
    expect(seen.every((m) => !('referenceId' in m))).toBe(true);
    expect(observer.pending()).toEqual([]);
    expect(c.pending()).toEqual([]);
  });

  it('/metrics shows CTI connections and agents by state', async () => {
    const c = await openAs('jay', 'jay-secret');
    await c.request('RequestAgentLogin', { referenceId: 2, thisDN: '8888', agentId: 'jay', workMode: 'AuxWork' });
    const url = stack.url.replace('ws', 'http').replace('/cti', '/metrics');
    const text = await (await fetch(url)).text();
    expect(text).toMatch(/^sipserver_cti_connections 1$/m);
    expect(text).toMatch(/^sipserver_agents\{state="NotReady"\} 1$/m);
    expect(text).toMatch(/^sipserver_agents\{state="Ready"\} 0$/m);
  });

  it('garbage: broken JSON, unknown request, missing attributes → EventError with the documented codes', async () => {
    const c = await openAs('jay', 'jay-secret');
    c.sendRaw('{"request": "RequestAgentReady", ');
    expect(await c.next()).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.BAD_JSON.code });
    c.sendRaw('[1,2]');
    expect(await c.next()).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.BAD_JSON.code });
    expect(await c.request('RequestFlyToTheMoon', { referenceId: 3 })).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR.UNKNOWN_REQUEST.code,
    });
    const missing = await c.request('RequestAgentLogin', { referenceId: 4, thisDN: '8888' });
    expect(missing).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.INVALID_ATTRIBUTES.code });
    expect(String(missing.errorMessage)).toContain('agentId');
    c.sendFrame({ request: 'RequestAgentReady', thisDN: '8888' });
    expect(await c.next()).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.INVALID_ATTRIBUTES.code });
    expect(await c.request('RequestReleaseCall', { referenceId: 5, thisDN: '8888', connId: 'not-hex' })).toMatchObject({
      errorCode: CTI_ERROR.INVALID_ATTRIBUTES.code,
    });
    expect(c.closed).toBeUndefined();
  });

  it('call requests are answered NOT_SUPPORTED until call control is plugged in', async () => {
    const c = await openAs('jay', 'jay-secret');
    expect(
      await c.request('RequestMakeCall', { referenceId: 1, thisDN: '8888', otherDN: '+15551231111' }),
    ).toMatchObject({
      event: 'EventError',
      referenceId: 1,
      errorCode: CTI_ERROR.NOT_SUPPORTED.code,
    });
    expect(await c.request('RequestReleaseCall', { referenceId: 2, thisDN: '7777', connId: '00ab' })).toMatchObject({
      errorCode: CTI_ERROR.DN_NOT_ALLOWED.code,
    });
  });

  it('call and DN domain events fan out to connections registered on the DN', async () => {
    const c = await openAs('jay', 'jay-secret');
    await c.request('RequestRegisterAddress', { referenceId: 2, thisDN: '8888' });
    stack.bus.publish({ kind: 'call', name: 'EventRinging', thisDN: '7777', connId: '0001', callType: 'Inbound' });
    stack.bus.publish({
      kind: 'call',
      name: 'EventRinging',
      thisDN: '8888',
      connId: '006f00a1',
      otherDN: '+15551231111',
      callType: 'Inbound',
      ani: '+15551231111',
      dnis: '5000',
      userData: { case: 42 },
      routed: true,
    });
    stack.bus.publish({ kind: 'dn', name: 'EventDNOutOfService', thisDN: '8888' });
    expect(await c.next()).toMatchObject({
      event: 'EventRinging',
      thisDN: '8888',
      connId: '006f00a1',
      otherDN: '+15551231111',
      callType: 'Inbound',
      ani: '+15551231111',
      dnis: '5000',
      userData: { case: 42 },
      server: 'SIP_Server',
    });
    expect(await c.next()).toMatchObject({ event: 'EventDNOutOfService', thisDN: '8888' });
    await c.request('RequestUnregisterAddress', { referenceId: 3, thisDN: '8888' });
    stack.bus.publish({ kind: 'dn', name: 'EventDNBackInService', thisDN: '8888' });
    expect(await c.request('RequestQueryAddress', { referenceId: 4, thisDN: '8888' })).toMatchObject({
      event: 'EventAddressInfo',
      agentState: 'LoggedOut',
    });
    expect(c.pending()).toEqual([]);
  });

  it('a flooding client gets RATE_LIMITED errors and is disconnected', async () => {
    const c = await openAs('jay', 'jay-secret');
    for (let i = 0; i < 200; i++) c.send('RequestQueryAddress', { referenceId: 100 + i, thisDN: '8888' });
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1008);
    const limited = c.pending().filter((m) => m.errorCode === CTI_ERROR.RATE_LIMITED.code);
    expect(limited.length).toBeGreaterThanOrEqual(10);
    expect(c.pending().filter((m) => m.event === 'EventAddressInfo').length).toBeGreaterThanOrEqual(19); // burst 20, one token went to RequestOpen
  });

  it('a message above the size limit → MESSAGE_TOO_LARGE and close 1009', async () => {
    const c = await openAs('jay', 'jay-secret');
    c.send('RequestAttachUserData', {
      referenceId: 1,
      thisDN: '8888',
      connId: '01',
      userData: { blob: 'x'.repeat(9000) },
    });
    expect(await c.next()).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.MESSAGE_TOO_LARGE.code });
    expect((await c.waitClosed()).code).toBe(1009);
  });

  it('RONA from the router reaches the desktop as EventAgentNotReady (AuxWork, RONA)', async () => {
    const attempts: string[] = [];
    const router = new RoutingPointRouter({
      agents: stack.agents,
      reachability: stack.mod.reachability,
      delivery: { deliver: async (callId, dn) => (attempts.push(`${callId}@${dn}`), 'no-answer'), cancel: () => {} },
      clock: systemClock,
      logger: silentLogger,
    });
    try {
      const c = await openAs('jay', 'jay-secret');
      await c.request('RequestRegisterAddress', { referenceId: 2, thisDN: '8888' });
      c.send('RequestAgentLogin', {
        referenceId: 3,
        thisDN: '8888',
        agentId: 'jay',
        workMode: 'AutoIn',
        extensions: { 'agent-phone': '+15551232222' },
      });
      await c.waitFor((m) => m.event === 'EventAgentReady');
      const outcome = router.route({ callId: '0a0b', routingPoint: '5000' });
      const ev = await c.waitFor((m) => m.event === 'EventAgentNotReady');
      expect(ev).toMatchObject({ thisDN: '8888', agentId: 'jay', workMode: 'AuxWork', reasonCode: 'RONA' });
      expect('referenceId' in ev).toBe(false);
      expect(attempts).toEqual(['0a0b@8888']);
      expect(router.abandon('0a0b')).toBe(true);
      expect(await outcome).toEqual({ kind: 'abandoned' });
    } finally {
      router.close();
    }
  });

  it('a login survives a restart of the agent service (SQLite)', async () => {
    const c = await openAs('jay', 'jay-secret');
    c.send('RequestAgentLogin', {
      referenceId: 1,
      thisDN: '8888',
      agentId: 'jay',
      workMode: 'ManualIn',
      extensions: { 'agent-phone': '+15551232222' },
    });
    await c.waitFor((m) => m.event === 'EventAgentReady');
    expect(
      await c.request('RequestAgentNotReady', {
        referenceId: 2,
        thisDN: '8888',
        workMode: 'WalkAway',
        reasonCode: '7',
      }),
    ).toMatchObject({ event: 'EventAgentNotReady' });
    c.close();
    await stop(stack);

    stack = await start();
    expect(stack.reach.resolve('8888')).toMatchObject({
      mode: 'agent-phone',
      target: 'sip:+15551232222@127.0.0.1:5081',
      via: 'Softswitch',
    });
    expect(createAgentStatusProvider(stack.agents)()).toEqual([
      { id: 'jay', dn: '8888', state: 'NotReady', workMode: 'WalkAway', reasonCode: '7', agentPhone: '+15551232222' },
      { id: 'joe', dn: '7777', state: 'LoggedOut', workMode: 'Unknown' },
    ]);
    const c2 = await openAs('jay', 'jay-secret');
    expect(await c2.request('RequestQueryAddress', { referenceId: 3, thisDN: '8888' })).toMatchObject({
      event: 'EventAddressInfo',
      agentId: 'jay',
      agentState: 'NotReady',
      workMode: 'WalkAway',
      reasonCode: '7',
      extensions: { 'agent-phone': '+15551232222' },
    });
    expect(await c2.request('RequestAgentReady', { referenceId: 4, thisDN: '8888' })).toMatchObject({
      event: 'EventAgentReady',
      workMode: 'ManualIn',
    });
  });
});
