/**
 * agent-desktop-grace (docs/agent-desktop.md): the gateway logs out an agent whose last desktop
 * connection closed once the grace runs out (or after its call), never one whose desktop came
 * back in time, nor one logged in by an application-scope connection. Fake clock.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { CtiTransport } from '../../../../src/api/cti/cti-transport.js';
import { CtiGateway } from '../../../../src/api/cti/cti-gateway.js';
import { AgentService } from '../../../../src/contact-center/agents/agent-service.js';
import type { CallControl, DnCallSnapshot } from '../../../../src/contact-center/call-control.js';
import { ContactCenterEventBus, type ContactCenterEvent } from '../../../../src/contact-center/events.js';
import { FakeClock } from '../../../../src/util/clock.js';
import { silentLogger } from '../../../../src/util/logger.js';
import { exampleDirectory, FakeReachability } from '../../contact-center/fakes.js';

const call: DnCallSnapshot = {
  connId: '00000000000000a1',
  state: 'Established',
  callType: 'Inbound',
  otherDN: '+15557654321',
  ani: '+15557654321',
  dnis: '5000',
  userData: { Case: '42' },
};

describe('agent-desktop-grace', () => {
  let clock: FakeClock;
  let bus: ContactCenterEventBus;
  let agents: AgentService;
  let gw: CtiGateway;
  let callsOn8888: DnCallSnapshot[];
  let published: ContactCenterEvent[];

  function gateway(grace: string): CtiGateway {
    const control: CallControl = {
      handle: () => Promise.resolve(),
      callsOnDn: (dn) => (dn === '8888' ? callsOn8888 : []),
      hasCalls: (dn) => dn === '8888' && callsOn8888.length > 0,
    };
    return new CtiGateway({
      agents,
      bus,
      callControl: control,
      adminToken: 'tok',
      clock,
      applicationOptions: { 'agent-desktop-grace': grace },
    });
  }

  beforeEach(() => {
    clock = new FakeClock(0);
    bus = new ContactCenterEventBus();
    published = [];
    bus.subscribe((e) => published.push(e));
    agents = new AgentService({
      directory: exampleDirectory(),
      reachability: new FakeReachability(),
      bus,
      clock,
      logger: silentLogger,
    });
    callsOn8888 = [];
    gw = gateway('60');
  });

  /** A connection that opened with `open` and logged Jay in on 8888. */
  async function jayLoggedInBy(
    open: Record<string, string>,
  ): Promise<{ sent: Record<string, unknown>[]; close: () => void }> {
    const sent: Record<string, unknown>[] = [];
    const transport: CtiTransport = {
      remoteAddress: '127.0.0.1',
      send: (text) => sent.push(JSON.parse(text) as Record<string, unknown>),
      close: () => undefined,
    };
    const s = gw.connect(transport);
    let ref = 0;
    const req = (request: string, attrs: Record<string, unknown>) =>
      gw.handleMessage(s, JSON.stringify({ request, referenceId: ++ref, ...attrs }));
    await req('RequestOpen', open);
    await req('RequestRegisterAddress', { thisDN: '8888' });
    await req('RequestAgentLogin', { thisDN: '8888', agentId: 'jay', workMode: 'AutoIn' });
    expect(sent.map((e) => e.event)).toEqual(['EventOpened', 'EventRegistered', 'EventAgentLogin', 'EventAgentReady']);
    return { sent, close: () => gw.disconnect(s) };
  }

  const logouts = () => published.filter((e) => e.name === 'EventAgentLogout');

  it('logs the agent out when the grace runs out after its desktop closed', async () => {
    const desk = await jayLoggedInBy({ agentId: 'jay', password: 'jay-secret' });
    desk.close();
    clock.advance(59_999);
    expect(agents.sessionByAgent('jay')?.dn).toBe('8888');
    clock.advance(1);
    expect(agents.sessionByAgent('jay')).toBeUndefined();
    expect(logouts()).toMatchObject([{ thisDN: '8888', agentId: 'jay' }]);
    expect(clock.pending).toBe(0);
  });

  it('keeps the login when the agent opens a connection again within the grace', async () => {
    const desk = await jayLoggedInBy({ agentId: 'jay', password: 'jay-secret' });
    desk.close();
    clock.advance(30_000);
    const again = gw.connect({ remoteAddress: '127.0.0.1', send: () => undefined, close: () => undefined });
    await gw.handleMessage(
      again,
      JSON.stringify({ request: 'RequestOpen', referenceId: 1, agentId: 'jay', password: 'jay-secret' }),
    );
    clock.advance(120_000);
    expect(agents.sessionByAgent('jay')?.dn).toBe('8888');
    expect(logouts()).toEqual([]);
    // The new connection closing starts a new grace.
    gw.disconnect(again);
    clock.advance(60_000);
    expect(logouts()).toHaveLength(1);
  });

  it('waits while another desktop of the agent stays open', async () => {
    const desk = await jayLoggedInBy({ agentId: 'jay', password: 'jay-secret' });
    const second = gw.connect({ remoteAddress: '127.0.0.1', send: () => undefined, close: () => undefined });
    await gw.handleMessage(
      second,
      JSON.stringify({ request: 'RequestOpen', referenceId: 1, agentId: 'jay', password: 'jay-secret' }),
    );
    desk.close();
    clock.advance(600_000);
    expect(logouts()).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('on a call, logs out right after the call ends', async () => {
    const desk = await jayLoggedInBy({ agentId: 'jay', password: 'jay-secret' });
    callsOn8888 = [call];
    desk.close();
    clock.advance(60_000);
    expect(logouts()).toEqual([]);
    callsOn8888 = [];
    bus.publish({ kind: 'call', name: 'EventReleased', thisDN: '8888', connId: call.connId, callType: 'Inbound' });
    expect(logouts()).toMatchObject([{ thisDN: '8888', agentId: 'jay' }]);
  });

  it('never logs out a login made by an application-scope connection, nor with a grace of 0', async () => {
    const app = await jayLoggedInBy({ token: 'tok' });
    app.close();
    clock.advance(600_000);
    expect(logouts()).toEqual([]);
    agents.logout('8888');
    published.length = 0;

    gw.close();
    gw = gateway('0');
    const desk = await jayLoggedInBy({ agentId: 'jay', password: 'jay-secret' });
    desk.close();
    clock.advance(600_000);
    expect(logouts()).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('reports the DN calls in EventAddressInfo', async () => {
    const desk = await jayLoggedInBy({ agentId: 'jay', password: 'jay-secret' });
    callsOn8888 = [call];
    const s = gw.connect({
      remoteAddress: '127.0.0.1',
      send: (t) => desk.sent.push(JSON.parse(t)),
      close: () => undefined,
    });
    await gw.handleMessage(
      s,
      JSON.stringify({ request: 'RequestOpen', referenceId: 1, agentId: 'jay', password: 'jay-secret' }),
    );
    await gw.handleMessage(s, JSON.stringify({ request: 'RequestQueryAddress', referenceId: 2, thisDN: '8888' }));
    expect(desk.sent.at(-1)).toMatchObject({
      event: 'EventAddressInfo',
      referenceId: 2,
      agentState: 'Ready',
      agentId: 'jay',
      calls: [call],
    });
  });
});
