import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src/contact-center/agents/agent-error.js';
import { AgentService } from '../../../src/contact-center/agents/agent-service.js';
import { AgentSessionRepository } from '../../../src/contact-center/agents/agent-session-repository.js';
import { AgentState } from '../../../src/contact-center/agents/agent-state.js';
import { createAgentStatusProvider } from '../../../src/contact-center/agents/agent-status-provider.js';
import {
  type AgentDomainEvent,
  ContactCenterEventBus,
  type ContactCenterEvent,
} from '../../../src/contact-center/events.js';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { exampleDirectory, FakeReachability, type MemoryDirectory } from './fakes.js';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AgentError) return e.reason;
    throw e;
  }
  return 'no error';
}

describe('AgentService', () => {
  let directory: MemoryDirectory;
  let reach: FakeReachability;
  let bus: ContactCenterEventBus;
  let clock: FakeClock;
  let events: ContactCenterEvent[];
  let svc: AgentService;

  beforeEach(() => {
    directory = exampleDirectory();
    reach = new FakeReachability(['+1']);
    bus = new ContactCenterEventBus();
    clock = new FakeClock(1000);
    events = [];
    bus.subscribe((e) => events.push(e));
    svc = new AgentService({ directory, reachability: reach, bus, clock, logger: silentLogger });
  });

  it('logs in on the own DN with AutoIn and publishes EventAgentLogin + EventAgentReady with the origin', () => {
    const s = svc.login(
      { agentId: 'jay', password: 'jay-secret', thisDN: '8888', workMode: 'AutoIn' },
      { requesterId: 'c1', referenceId: 7 },
    );
    expect(s.status.state).toBe(AgentState.Ready);
    expect(
      events.map((e) => e.kind === 'agent' && [e.name, e.thisDN, e.agentId, e.workMode, e.origin?.referenceId]),
    ).toEqual([
      ['EventAgentLogin', '8888', 'jay', 'AutoIn', 7],
      ['EventAgentReady', '8888', 'jay', 'AutoIn', 7],
    ]);
  });

  it('validates credentials and the DN', () => {
    expect(reason(() => svc.login({ agentId: 'jay', password: 'nope', thisDN: '8888' }))).toBe('bad-credentials');
    expect(reason(() => svc.login({ agentId: 'nobody', password: 'x', thisDN: '8888' }))).toBe('bad-credentials');
    expect(reason(() => svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '9999' }))).toBe('unknown-dn');
    expect(reason(() => svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '7777' }))).toBe('dn-not-allowed');
    expect(reason(() => svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '5000', allowAnyDn: true }))).toBe(
      'dn-not-allowed',
    );
    // application scope may use any agent DN
    expect(svc.login({ agentId: 'jay', thisDN: '7777', allowAnyDn: true, workMode: 'AuxWork' }).dn).toBe('7777');
    expect(reason(() => svc.login({ agentId: 'joe', password: 'joe-secret', thisDN: '7777' }))).toBe('dn-in-use');
  });

  it('refuses a login elsewhere while logged in; a repeated login on the same DN re-reports the state', () => {
    svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888', workMode: 'AuxWork' });
    expect(reason(() => svc.login({ agentId: 'jay', thisDN: '7777', allowAnyDn: true }))).toBe('already-logged-in');
    events.length = 0;
    svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888', workMode: 'AutoIn' });
    expect(events.map((e) => e.kind === 'agent' && e.name)).toEqual(['EventAgentLogin', 'EventAgentNotReady']);
    expect(svc.sessionByAgent('jay')?.status.state).toBe(AgentState.NotReady);
  });

  it('adds the extensions of useEventExtensions to login, ready and not-ready events, never to logout (behaviour §10.3)', () => {
    const asked: string[] = [];
    svc.useEventExtensions((dn, name) => {
      asked.push(`${name} ${dn}`);
      return { 'nailed-up': 'parked' };
    });
    svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888', workMode: 'AutoIn' });
    svc.notReady('8888');
    svc.logout('8888');
    expect(events.map((e) => e.kind === 'agent' && [e.name, e.extensions])).toEqual([
      ['EventAgentLogin', { 'nailed-up': 'parked' }],
      ['EventAgentReady', { 'nailed-up': 'parked' }],
      ['EventAgentNotReady', { 'nailed-up': 'parked' }],
      ['EventAgentLogout', undefined],
    ]);
    expect(asked).toEqual(['EventAgentLogin 8888', 'EventAgentReady 8888', 'EventAgentNotReady 8888']);
  });

  describe('agent-phone rules (behaviour §7)', () => {
    it('normalises and binds the phone for the session, echoes it, unbinds at logout', () => {
      svc.login({
        agentId: 'jay',
        password: 'jay-secret',
        thisDN: '8888',
        workMode: 'AutoIn',
        agentPhone: '+1 (555) 123-2222',
      });
      expect(reach.bindings.get('8888')).toBe('+15551232222');
      const login = events.find((e): e is AgentDomainEvent => e.kind === 'agent' && e.name === 'EventAgentLogin');
      expect(login?.extensions).toEqual({ 'agent-phone': '+15551232222' });
      svc.logout('8888');
      expect(reach.bindings.has('8888')).toBe(false);
    });

    it('refuses a number equal to an internal DN', () => {
      expect(
        reason(() => svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888', agentPhone: '77-77' })),
      ).toBe('agent-phone-internal-dn');
      expect(svc.sessionByAgent('jay')).toBeUndefined();
      expect(reach.bindings.size).toBe(0);
    });

    it('refuses a number bound to another logged-in agent', () => {
      svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888', agentPhone: '+15551231111' });
      expect(
        reason(() =>
          svc.login({ agentId: 'joe', password: 'joe-secret', thisDN: '7777', agentPhone: '+1 555 123 1111' }),
        ),
      ).toBe('agent-phone-bound');
      svc.logout('8888');
      expect(
        svc.login({ agentId: 'joe', password: 'joe-secret', thisDN: '7777', agentPhone: '+15551231111' }).agentPhone,
      ).toBe('+15551231111');
    });

    it('refuses a number no softswitch prefix matches, and garbage', () => {
      expect(
        reason(() => svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888', agentPhone: '+4930123' })),
      ).toBe('agent-phone-no-softswitch');
      expect(
        reason(() => svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888', agentPhone: 'sip:evil@x' })),
      ).toBe('agent-phone-invalid');
    });

    it("uses the agent's own agent-phone option when the login has none", () => {
      directory.addAgent('jay', 'jay-secret', '8888', { 'agent-phone': '+1 555 000 1111' });
      expect(svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888' }).agentPhone).toBe('+15550001111');
    });
  });

  it('tracks routed calls from bus events: Busy while on the call, idleSince at the end', () => {
    svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888', workMode: 'ManualIn' });
    clock.advance(5000);
    bus.publish({
      kind: 'call',
      name: 'EventEstablished',
      thisDN: '8888',
      connId: '00a1',
      callType: 'Inbound',
      routed: true,
    });
    expect(svc.sessionByAgent('jay')?.status.state).toBe(AgentState.BusyReady);
    // a direct (non-routed) call does not make the agent busy
    bus.publish({ kind: 'call', name: 'EventEstablished', thisDN: '8888', connId: '00a2', callType: 'Internal' });
    expect(svc.sessionByAgent('jay')?.status.routedCalls).toEqual(['00a1']);
    clock.advance(5000);
    bus.publish({ kind: 'call', name: 'EventReleased', thisDN: '8888', connId: '00a1', callType: 'Inbound' });
    const s = svc.sessionByAgent('jay');
    expect(s?.status.state).toBe(AgentState.AfterCallWork);
    expect(s?.idleSince).toBe(11000);
  });

  it('logs out agents whose configuration disappeared', () => {
    svc.login({ agentId: 'jay', password: 'jay-secret', thisDN: '8888' });
    directory.agents.delete('jay');
    directory.changed();
    expect(svc.sessionByAgent('jay')).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ kind: 'agent', name: 'EventAgentLogout', agentId: 'jay' });
  });

  it('provides the /api/status agents list', () => {
    svc.login({
      agentId: 'jay',
      password: 'jay-secret',
      thisDN: '8888',
      workMode: 'AutoIn',
      agentPhone: '+15551232222',
    });
    expect(createAgentStatusProvider(svc)()).toEqual([
      { id: 'jay', dn: '8888', state: 'Ready', workMode: 'AutoIn', agentPhone: '+15551232222' },
    ]);
  });

  describe('persistence', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'agents-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('a restart keeps logins, states, work modes and agent-phone bindings', () => {
      const repo1 = AgentSessionRepository.inDataDir(dir);
      const svc1 = new AgentService({
        directory,
        reachability: reach,
        bus,
        clock,
        logger: silentLogger,
        repository: repo1,
      });
      svc1.login({
        agentId: 'jay',
        password: 'jay-secret',
        thisDN: '8888',
        workMode: 'AutoIn',
        agentPhone: '+15551232222',
      });
      svc1.login({ agentId: 'joe', password: 'joe-secret', thisDN: '7777', workMode: 'ManualIn' });
      svc1.notReady('7777', 'WalkAway', 'Break');
      bus.publish({
        kind: 'call',
        name: 'EventEstablished',
        thisDN: '8888',
        connId: 'c1',
        callType: 'Inbound',
        routed: true,
      });
      svc1.close();
      repo1.close();

      const reach2 = new FakeReachability(['+1']);
      const repo2 = AgentSessionRepository.inDataDir(dir);
      const svc2 = new AgentService({
        directory,
        reachability: reach2,
        bus: new ContactCenterEventBus(),
        clock,
        logger: silentLogger,
        repository: repo2,
      });
      expect(svc2.restore()).toBe(2);
      expect(createAgentStatusProvider(svc2)()).toEqual([
        { id: 'jay', dn: '8888', state: 'Ready', workMode: 'AutoIn', agentPhone: '+15551232222' },
        { id: 'joe', dn: '7777', state: 'NotReady', workMode: 'WalkAway', reasonCode: 'Break' },
      ]);
      expect(svc2.sessionByAgent('joe')?.status.reasonCode).toBe('Break');
      expect(reach2.bindings.get('8888')).toBe('+15551232222');
      svc2.logout('7777');
      repo2.close();
      const repo3 = AgentSessionRepository.inDataDir(dir);
      expect(repo3.loadAll().map((s) => s.agentId)).toEqual(['jay']);
      repo3.close();
    });
  });
});
