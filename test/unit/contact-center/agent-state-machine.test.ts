import { describe, expect, it } from 'vitest';
import { AgentError } from '../../../src/contact-center/agents/agent-error.js';
import { AgentState, type AgentStatus, LOGGED_OUT } from '../../../src/contact-center/agents/agent-state.js';
import { type AgentInput, transitionAgent } from '../../../src/contact-center/agents/agent-state-machine.js';

function run(inputs: AgentInput[], from: AgentStatus = LOGGED_OUT): { status: AgentStatus; events: string[] } {
  let status = from;
  const events: string[] = [];
  for (const i of inputs) {
    const t = transitionAgent(status, i);
    status = t.status;
    events.push(...t.events);
  }
  return { status, events };
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AgentError) return e.reason;
    throw e;
  }
  return 'no error';
}

describe('agent state machine (behaviour §12.2)', () => {
  it('login AutoIn → Ready with EventAgentLogin + EventAgentReady', () => {
    const r = run([{ type: 'login', workMode: 'AutoIn' }]);
    expect(r.status.state).toBe(AgentState.Ready);
    expect(r.status.workMode).toBe('AutoIn');
    expect(r.status.readyMode).toBe('AutoIn');
    expect(r.events).toEqual(['EventAgentLogin', 'EventAgentReady']);
  });

  it('login ManualIn → Ready', () => {
    const r = run([{ type: 'login', workMode: 'ManualIn' }]);
    expect(r.status.state).toBe(AgentState.Ready);
    expect(r.status.readyMode).toBe('ManualIn');
  });

  it.each([
    ['AuxWork', AgentState.NotReady],
    ['WalkAway', AgentState.NotReady],
    ['AfterCallWork', AgentState.AfterCallWork],
  ] as const)('login %s → %s with EventAgentNotReady', (mode, state) => {
    const r = run([{ type: 'login', workMode: mode, reasonCode: '12' }]);
    expect(r.status.state).toBe(state);
    expect(r.status.workMode).toBe(mode);
    expect(r.status.reasonCode).toBe('12');
    expect(r.events).toEqual(['EventAgentLogin', 'EventAgentNotReady']);
  });

  it('login without work mode → NotReady AuxWork', () => {
    const r = run([{ type: 'login' }]);
    expect(r.status.state).toBe(AgentState.NotReady);
    expect(r.status.workMode).toBe('AuxWork');
  });

  it('login ReturnBack is refused; a second login is refused', () => {
    expect(reason(() => transitionAgent(LOGGED_OUT, { type: 'login', workMode: 'ReturnBack' }))).toBe(
      'invalid-work-mode',
    );
    const ready = run([{ type: 'login', workMode: 'AutoIn' }]).status;
    expect(reason(() => transitionAgent(ready, { type: 'login', workMode: 'AutoIn' }))).toBe('already-logged-in');
  });

  it('Ready → NotReady(AuxWork, reason) → Ready(ManualIn)', () => {
    const r1 = run([
      { type: 'login', workMode: 'AutoIn' },
      { type: 'not-ready', workMode: 'AuxWork', reasonCode: 'Lunch' },
    ]);
    expect(r1.status.state).toBe(AgentState.NotReady);
    expect(r1.status.reasonCode).toBe('Lunch');
    expect(r1.status.readyMode).toBe('AutoIn');
    const r2 = run([{ type: 'ready', workMode: 'ManualIn' }], r1.status);
    expect(r2.status.state).toBe(AgentState.Ready);
    expect(r2.status.readyMode).toBe('ManualIn');
    expect(r2.status.reasonCode).toBeUndefined();
    expect(r2.events).toEqual(['EventAgentReady']);
  });

  it('ready without work mode keeps the last in-mode', () => {
    const r = run([{ type: 'login', workMode: 'AutoIn' }, { type: 'not-ready' }, { type: 'ready' }]);
    expect(r.status.state).toBe(AgentState.Ready);
    expect(r.status.workMode).toBe('AutoIn');
  });

  it('NotReady(AfterCallWork) → AfterCallWork state', () => {
    const r = run([
      { type: 'login', workMode: 'ManualIn' },
      { type: 'not-ready', workMode: 'AfterCallWork' },
    ]);
    expect(r.status.state).toBe(AgentState.AfterCallWork);
  });

  it('wrong work modes for ready / not-ready are refused', () => {
    const ready = run([{ type: 'login', workMode: 'AutoIn' }]).status;
    expect(reason(() => transitionAgent(ready, { type: 'ready', workMode: 'AuxWork' }))).toBe('invalid-work-mode');
    expect(reason(() => transitionAgent(ready, { type: 'not-ready', workMode: 'AutoIn' }))).toBe('invalid-work-mode');
  });

  it('requests when logged out are refused', () => {
    expect(reason(() => transitionAgent(LOGGED_OUT, { type: 'ready' }))).toBe('not-logged-in');
    expect(reason(() => transitionAgent(LOGGED_OUT, { type: 'not-ready' }))).toBe('not-logged-in');
    expect(reason(() => transitionAgent(LOGGED_OUT, { type: 'logout' }))).toBe('not-logged-in');
  });

  it('AutoIn: Ready → BusyReady on a routed call → Ready when it ends (EventAgentReady)', () => {
    const busy = run([
      { type: 'login', workMode: 'AutoIn' },
      { type: 'routed-call-established', connId: 'a1' },
    ]);
    expect(busy.status.state).toBe(AgentState.BusyReady);
    expect(busy.status.routedCalls).toEqual(['a1']);
    const end = run([{ type: 'routed-call-ended', connId: 'a1' }], busy.status);
    expect(end.status.state).toBe(AgentState.Ready);
    expect(end.events).toEqual(['EventAgentReady']);
  });

  it('ManualIn: BusyReady → AfterCallWork when the call ends (EventAgentNotReady)', () => {
    const r = run([
      { type: 'login', workMode: 'ManualIn' },
      { type: 'routed-call-established', connId: 'a1' },
      { type: 'routed-call-ended', connId: 'a1' },
    ]);
    expect(r.status.state).toBe(AgentState.AfterCallWork);
    expect(r.status.workMode).toBe('AfterCallWork');
    expect(r.events).toEqual(['EventAgentLogin', 'EventAgentReady', 'EventAgentNotReady']);
  });

  it('NotReady → BusyNotReady → NotReady; AfterCallWork → BusyAfterCallWork → AfterCallWork', () => {
    const nr = run([
      { type: 'login', workMode: 'AuxWork' },
      { type: 'routed-call-established', connId: 'c' },
    ]);
    expect(nr.status.state).toBe(AgentState.BusyNotReady);
    expect(run([{ type: 'routed-call-ended', connId: 'c' }], nr.status).status.state).toBe(AgentState.NotReady);
    const acw = run([
      { type: 'login', workMode: 'AfterCallWork' },
      { type: 'routed-call-established', connId: 'c' },
    ]);
    expect(acw.status.state).toBe(AgentState.BusyAfterCallWork);
    expect(run([{ type: 'routed-call-ended', connId: 'c' }], acw.status).status.state).toBe(AgentState.AfterCallWork);
  });

  it('Busy variants follow ready / not-ready requests during the call', () => {
    const busy = run([
      { type: 'login', workMode: 'AutoIn' },
      { type: 'routed-call-established', connId: 'c' },
    ]).status;
    const acw = transitionAgent(busy, { type: 'not-ready', workMode: 'AfterCallWork' });
    expect(acw.status.state).toBe(AgentState.BusyAfterCallWork);
    expect(acw.events).toEqual(['EventAgentNotReady']);
    expect(transitionAgent(acw.status, { type: 'routed-call-ended', connId: 'c' }).status.state).toBe(
      AgentState.AfterCallWork,
    );
    const aux = transitionAgent(busy, { type: 'not-ready', workMode: 'AuxWork' });
    expect(aux.status.state).toBe(AgentState.BusyNotReady);
    const back = transitionAgent(aux.status, { type: 'ready', workMode: 'AutoIn' });
    expect(back.status.state).toBe(AgentState.BusyReady);
    expect(transitionAgent(back.status, { type: 'routed-call-ended', connId: 'c' }).status.state).toBe(
      AgentState.Ready,
    );
  });

  it('stays Busy until the last of two routed calls ends; unknown connIds change nothing', () => {
    const two = run([
      { type: 'login', workMode: 'AutoIn' },
      { type: 'routed-call-established', connId: 'c1' },
      { type: 'routed-call-established', connId: 'c2' },
    ]).status;
    const one = transitionAgent(two, { type: 'routed-call-ended', connId: 'c1' });
    expect(one.status.state).toBe(AgentState.BusyReady);
    expect(one.events).toEqual([]);
    const noop = transitionAgent(one.status, { type: 'routed-call-ended', connId: 'zz' });
    expect(noop.status).toBe(one.status);
    expect(transitionAgent(one.status, { type: 'routed-call-ended', connId: 'c2' }).status.state).toBe(
      AgentState.Ready,
    );
  });

  it('call inputs for a logged-out agent change nothing', () => {
    expect(transitionAgent(LOGGED_OUT, { type: 'routed-call-established', connId: 'c' }).status).toBe(LOGGED_OUT);
  });

  it('logout from any logged-in state (Busy included) → LoggedOut with EventAgentLogout', () => {
    for (const inputs of [
      [{ type: 'login', workMode: 'AutoIn' }],
      [{ type: 'login', workMode: 'AuxWork' }],
      [
        { type: 'login', workMode: 'AutoIn' },
        { type: 'routed-call-established', connId: 'c' },
      ],
    ] as AgentInput[][]) {
      const r = run([...inputs, { type: 'logout' }]);
      expect(r.status.state).toBe(AgentState.LoggedOut);
      expect(r.events.at(-1)).toBe('EventAgentLogout');
    }
  });
});
