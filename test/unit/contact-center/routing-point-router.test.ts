import { beforeEach, describe, expect, it } from 'vitest';
import { AgentService } from '../../../src/contact-center/agents/agent-service.js';
import { AgentState } from '../../../src/contact-center/agents/agent-state.js';
import { ContactCenterEventBus } from '../../../src/contact-center/events.js';
import type {
  CallDelivery,
  DeliveryOptions,
  DeliveryOutcome,
} from '../../../src/contact-center/routing/call-delivery.js';
import { bridgeDnServiceEvents } from '../../../src/contact-center/agents/dn-service-event-bridge.js';
import { rejectsCallWhenNotReady } from '../../../src/contact-center/routing/reject-call-notready-policy.js';
import type { RouteOutcome } from '../../../src/contact-center/routing/routable-call.js';
import { RoutingPointRouter } from '../../../src/contact-center/routing/routing-point-router.js';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { exampleDirectory, FakeReachability, type MemoryDirectory } from './fakes.js';

interface Attempt {
  callId: string;
  dn: string;
  options: DeliveryOptions;
  settle: (o: DeliveryOutcome) => void;
}

/** Delivery fake: every attempt waits until the test settles it. */
class FakeDelivery implements CallDelivery {
  readonly attempts: Attempt[] = [];
  readonly cancelled: string[] = [];
  deliver(callId: string, dn: string, options: DeliveryOptions): Promise<DeliveryOutcome> {
    return new Promise((resolve) => this.attempts.push({ callId, dn, options, settle: resolve }));
  }
  cancel(callId: string, dn: string): void {
    this.cancelled.push(`${callId}@${dn}`);
  }
  get last(): Attempt {
    const a = this.attempts.at(-1);
    if (!a) throw new Error('no delivery attempt');
    return a;
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('RoutingPointRouter', () => {
  let directory: MemoryDirectory;
  let reach: FakeReachability;
  let clock: FakeClock;
  let agents: AgentService;
  let delivery: FakeDelivery;
  let router: RoutingPointRouter;
  let outcomes: Map<string, RouteOutcome>;

  function route(callId: string, rp = '5000'): void {
    void router.route({ callId, routingPoint: rp }).then((o) => outcomes.set(callId, o));
  }

  beforeEach(() => {
    directory = exampleDirectory();
    reach = new FakeReachability(['+1']);
    clock = new FakeClock(0);
    agents = new AgentService({
      directory,
      reachability: reach,
      bus: new ContactCenterEventBus(),
      clock,
      logger: silentLogger,
    });
    delivery = new FakeDelivery();
    router = new RoutingPointRouter({ agents, reachability: reach, delivery, clock, logger: silentLogger });
    outcomes = new Map();
  });

  it('skips agents the delivery cannot offer the call to (its own caller, a busy single-dialog device); re-dispatch takes them again', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    clock.advance(1000);
    agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AutoIn' });
    const blocked = new Set(['8888']);
    const d = delivery as FakeDelivery & { canOffer?: (callId: string, dn: string) => boolean };
    d.canOffer = (_callId, dn) => !blocked.has(dn);
    route('c1');
    expect(delivery.last.dn).toBe('7777'); // Jay is idle longer but cannot take it
    delivery.last.settle('answered');
    await flush();
    route('c2');
    expect(delivery.attempts.length).toBe(1); // nobody: waits
    blocked.clear();
    router.dispatch();
    expect(delivery.last).toMatchObject({ callId: 'c2', dn: '8888' });
    expect(agents.sessionByDn('8888')?.status.state).not.toBe('NotReady'); // no RONA for a skipped agent
  });

  it('distributes to the longest-idle Ready agent, alternating between two agents', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    clock.advance(1000);
    agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AutoIn' });
    clock.advance(1000);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      route(`c${i}`);
      const a = delivery.last;
      order.push(a.dn);
      a.settle('answered');
      await flush();
      expect(outcomes.get(`c${i}`)).toEqual({ kind: 'delivered', dn: a.dn, agentId: a.dn === '8888' ? 'jay' : 'joe' });
      clock.advance(1000);
      agents.routedCallEnded(a.dn, `c${i}`); // AutoIn: Ready again, idle from now
      clock.advance(1000);
    }
    expect(order).toEqual(['8888', '7777', '8888', '7777']);
  });

  it('skips agents whose DN is out of service, and NotReady agents', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AuxWork' });
    reach.setInService('8888', false);
    route('c1');
    expect(delivery.attempts).toHaveLength(0);
    reach.setInService('8888', true); // back in service → the waiting call is delivered
    expect(delivery.last.dn).toBe('8888');
  });

  it('FIFO: calls wait while nobody is Ready; the oldest goes first when an agent becomes Ready', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AuxWork' });
    route('first');
    clock.advance(10);
    route('second');
    expect(delivery.attempts).toHaveLength(0);
    expect(router.waitingCalls().map((w) => w.callId)).toEqual(['first', 'second']);
    agents.ready('8888', 'AutoIn');
    expect(delivery.attempts.map((a) => a.callId)).toEqual(['first']);
    delivery.last.settle('answered');
    await flush();
    agents.routedCallEnded('8888', 'first');
    expect(delivery.attempts.map((a) => a.callId)).toEqual(['first', 'second']);
  });

  it('after router-timeout a waiting call goes to default-dn', async () => {
    directory.addDn('5000', 'routing-point', {
      'agent-group': 'Support',
      'router-timeout': '20',
      'default-dn': '7777',
    });
    route('c1');
    clock.advance(19_999);
    await flush();
    expect(outcomes.has('c1')).toBe(false);
    clock.advance(1);
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'default-dn', dn: '7777' });
    expect(router.waitingCalls()).toEqual([]);
  });

  it('without default-dn a waiting call is rejected 480 after the default 60 s', async () => {
    route('c1');
    clock.advance(59_999);
    await flush();
    expect(outcomes.has('c1')).toBe(false);
    clock.advance(1);
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'rejected', status: 480 });
  });

  it('router-timeout 0 waits forever (option table of src/config)', async () => {
    directory.addDn('5000', 'routing-point', { 'agent-group': 'Support', 'router-timeout': '0', 'default-dn': '7777' });
    route('c1');
    clock.advance(3_600_000);
    await flush();
    expect(outcomes.has('c1')).toBe(false);
    expect(clock.pending).toBe(0);
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    expect(delivery.last.callId).toBe('c1');
  });

  it('DN service changes are published as EventDNOutOfService / EventDNBackInService', () => {
    const bus = new ContactCenterEventBus();
    const seen: string[] = [];
    bus.subscribe((e) => seen.push(`${e.name}:${e.thisDN}`));
    const off = bridgeDnServiceEvents(reach, bus);
    reach.setInService('7777', false);
    reach.setInService('7777', true);
    off();
    reach.setInService('7777', false);
    expect(seen).toEqual(['EventDNOutOfService:7777', 'EventDNBackInService:7777']);
  });

  it('a routing point without agent-group falls back at once', async () => {
    directory.addDn('5001', 'routing-point', { 'default-dn': '8888' });
    route('c1', '5001');
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'default-dn', dn: '8888' });
  });

  it('RONA on ring timeout: CANCEL, agent NotReady, call offered to the next agent', async () => {
    directory.appOptions['sip-invite-timeout'] = '10';
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    clock.advance(1000);
    agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AutoIn' });
    route('c1');
    expect(delivery.last).toMatchObject({ dn: '8888', options: { timeoutMs: 10_000, agentId: 'jay' } });
    clock.advance(10_000);
    expect(delivery.cancelled).toEqual(['c1@8888']);
    const jay = agents.sessionByAgent('jay');
    expect(jay?.status.state).toBe(AgentState.NotReady);
    expect(jay?.status.reasonCode).toBe('RONA');
    expect(delivery.last.dn).toBe('7777');
    delivery.attempts[0].settle('no-answer'); // late outcome of the cancelled attempt: ignored
    delivery.last.settle('answered');
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'delivered', dn: '7777', agentId: 'joe' });
  });

  it('RONA on failure puts the call back at the FRONT of the queue', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    route('c1');
    route('c2');
    expect(delivery.attempts.map((a) => a.callId)).toEqual(['c1']);
    delivery.last.settle('busy');
    await flush();
    expect(agents.sessionByAgent('jay')?.status.state).toBe(AgentState.NotReady);
    expect(router.waitingCalls().map((w) => w.callId)).toEqual(['c1', 'c2']);
    agents.ready('8888');
    expect(delivery.last.callId).toBe('c1');
  });

  it('a call whose deadline passes while ringing falls back when that attempt fails', async () => {
    directory.addDn('5000', 'routing-point', { 'agent-group': 'Support', 'router-timeout': '5' });
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    route('c1');
    clock.advance(6000);
    await flush();
    expect(outcomes.has('c1')).toBe(false);
    delivery.last.settle('failed');
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'rejected', status: 480 });
  });

  it('abandon while waiting or ringing: no RONA for the agent', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    route('c1');
    expect(router.abandon('c1')).toBe(true);
    await flush();
    expect(outcomes.get('c1')).toEqual({ kind: 'abandoned' });
    expect(delivery.cancelled).toEqual(['c1@8888']);
    expect(agents.sessionByAgent('jay')?.status.state).toBe(AgentState.Ready);
    expect(router.abandon('c1')).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('an answered delivery makes the agent BusyReady and not a target for the next call', async () => {
    agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AutoIn' });
    route('c1');
    route('c2'); // jay is reserved while ringing
    expect(delivery.attempts).toHaveLength(1);
    delivery.last.settle('answered');
    await flush();
    expect(agents.sessionByAgent('jay')?.status.state).toBe(AgentState.BusyReady);
    expect(delivery.attempts).toHaveLength(1);
  });

  describe('reject-call-notready (behaviour §9)', () => {
    it('with the option, a NotReady / logged-out DN rejects direct calls; a Ready one accepts', () => {
      directory.addDn('8888', 'extension', { contact: '*', 'reject-call-notready': 'true' });
      expect(rejectsCallWhenNotReady(agents, '8888')).toBe(true); // nobody logged in
      agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AuxWork' });
      expect(rejectsCallWhenNotReady(agents, '8888')).toBe(true);
      agents.notReady('8888', 'AfterCallWork');
      expect(rejectsCallWhenNotReady(agents, '8888')).toBe(true);
      agents.ready('8888', 'ManualIn');
      expect(rejectsCallWhenNotReady(agents, '8888')).toBe(false);
    });

    it('inherited from the application options; without it calls are not rejected', () => {
      agents.login({ agentId: 'joe', thisDN: '7777', workMode: 'AuxWork' });
      expect(rejectsCallWhenNotReady(agents, '7777')).toBe(false);
      directory.appOptions['reject-call-notready'] = '1';
      expect(rejectsCallWhenNotReady(agents, '7777')).toBe(true);
    });

    it('the router never rings a NotReady agent, even the only one of the group', async () => {
      directory.addDn('8888', 'extension', { contact: '*', 'reject-call-notready': 'true' });
      agents.login({ agentId: 'jay', thisDN: '8888', workMode: 'AuxWork' });
      route('c1');
      clock.advance(60_000);
      await flush();
      expect(delivery.attempts).toHaveLength(0);
      expect(outcomes.get('c1')).toEqual({ kind: 'rejected', status: 480 });
    });
  });
});
