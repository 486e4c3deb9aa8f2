import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../../src/contact-center/agents/agent-error.js';
import { AgentState, type AgentStatus, isBusy, LOGGED_OUT } from '../../../src/contact-center/agents/agent-state.js';
import { type AgentInput, transitionAgent } from '../../../src/contact-center/agents/agent-state-machine.js';
import { AGENT_WORK_MODES } from '../../../src/contact-center/events.js';

const workMode = fc.option(fc.constantFrom(...AGENT_WORK_MODES), { nil: undefined });
const connId = fc.constantFrom('c1', 'c2', 'c3');
const input: fc.Arbitrary<AgentInput> = fc.oneof(
  workMode.map((m) => ({ type: 'login', workMode: m }) as AgentInput),
  workMode.map((m) => ({ type: 'ready', workMode: m }) as AgentInput),
  workMode.map((m) => ({ type: 'not-ready', workMode: m, reasonCode: 'r' }) as AgentInput),
  connId.map((c) => ({ type: 'routed-call-established', connId: c }) as AgentInput),
  connId.map((c) => ({ type: 'routed-call-ended', connId: c }) as AgentInput),
  fc.constant({ type: 'logout' } as AgentInput),
);

function checkInvariants(s: AgentStatus): void {
  if (s.state === AgentState.LoggedOut) {
    expect(s.routedCalls).toEqual([]);
    return;
  }
  expect(isBusy(s.state)).toBe(s.routedCalls.length > 0);
  expect(new Set(s.routedCalls).size).toBe(s.routedCalls.length);
  if (s.state === AgentState.Ready || s.state === AgentState.BusyReady)
    expect(['AutoIn', 'ManualIn']).toContain(s.workMode);
  if (s.state === AgentState.AfterCallWork || s.state === AgentState.BusyAfterCallWork)
    expect(s.workMode).toBe('AfterCallWork');
  if (s.state === AgentState.NotReady || s.state === AgentState.BusyNotReady)
    expect(['AuxWork', 'WalkAway', 'NoCallDisconnect']).toContain(s.workMode);
  expect(['AutoIn', 'ManualIn']).toContain(s.readyMode);
}

describe('agent state machine invariants (random input sequences)', () => {
  it('Busy ⇔ on a routed call; work mode always matches the state; refused inputs change nothing', () => {
    fc.assert(
      fc.property(fc.array(input, { maxLength: 40 }), (inputs) => {
        let s: AgentStatus = LOGGED_OUT;
        for (const i of inputs) {
          try {
            s = transitionAgent(s, i).status;
          } catch (e) {
            expect(e).toBeInstanceOf(AgentError);
          }
          checkInvariants(s);
        }
      }),
      { numRuns: 500 },
    );
  });
});
