import type { AgentEventName, AgentWorkMode } from '../events.js';
import { AgentError } from './agent-error.js';
import {
  AgentState,
  type AgentStatus,
  isBusy,
  isNotReadyWorkMode,
  isReadyWorkMode,
  LOGGED_OUT,
  type ReadyWorkMode,
} from './agent-state.js';

/** Inputs of the agent state machine (behaviour §12.2). */
export type AgentInput =
  | { readonly type: 'login'; readonly workMode?: AgentWorkMode; readonly reasonCode?: string }
  | { readonly type: 'ready'; readonly workMode?: AgentWorkMode }
  | { readonly type: 'not-ready'; readonly workMode?: AgentWorkMode; readonly reasonCode?: string }
  | { readonly type: 'routed-call-established'; readonly connId: string }
  | { readonly type: 'routed-call-ended'; readonly connId: string }
  | { readonly type: 'logout' };

/** Result of one transition: the new status and the agent events to report, in order. */
export interface AgentTransition {
  readonly status: AgentStatus;
  readonly events: readonly AgentEventName[];
}

function notReadyState(mode: AgentWorkMode, busy: boolean): AgentState {
  if (mode === 'AfterCallWork') return busy ? AgentState.BusyAfterCallWork : AgentState.AfterCallWork;
  return busy ? AgentState.BusyNotReady : AgentState.NotReady;
}

/**
 * The agent state machine of behaviour §12.2 ([C:S16], details [I]):
 *
 * ```
 * LoggedOut --login(AutoIn|ManualIn)--> Ready
 * LoggedOut --login(AuxWork|WalkAway|NoCallDisconnect|Unknown)--> NotReady
 * LoggedOut --login(AfterCallWork)--> AfterCallWork
 * NotReady|AfterCallWork|Ready --ready--> Ready ; --notReady--> NotReady|AfterCallWork
 * Ready --routed call established--> BusyReady
 * NotReady --routed call established--> BusyNotReady ; AfterCallWork --> BusyAfterCallWork
 * Busy* --ready--> BusyReady ; --notReady(AfterCallWork)--> BusyAfterCallWork ; --notReady(other)--> BusyNotReady
 * BusyReady --last routed call ends, AutoIn--> Ready ; ManualIn --> AfterCallWork
 * BusyNotReady --last routed call ends--> NotReady ; BusyAfterCallWork --> AfterCallWork
 * any logged in --logout--> LoggedOut
 * ```
 * A login with an unspecified work mode starts NotReady (AuxWork); a ready request without a
 * work mode keeps the session's last "in" mode (ManualIn at first). Call inputs for a logged-out
 * agent, and a call end for a call the agent is not on, change nothing.
 *
 * @throws AgentError `not-logged-in`, `already-logged-in`, `invalid-work-mode`
 */
export function transitionAgent(current: AgentStatus, input: AgentInput): AgentTransition {
  const loggedIn = current.state !== AgentState.LoggedOut;
  switch (input.type) {
    case 'login': {
      if (loggedIn) throw new AgentError('already-logged-in', 'agent is already logged in');
      const mode = input.workMode ?? 'Unknown';
      if (isReadyWorkMode(mode)) {
        return {
          status: { state: AgentState.Ready, workMode: mode, readyMode: mode, routedCalls: [] },
          events: ['EventAgentLogin', 'EventAgentReady'],
        };
      }
      if (mode === 'Unknown' || isNotReadyWorkMode(mode)) {
        const nrMode: AgentWorkMode = mode === 'Unknown' ? 'AuxWork' : mode;
        return {
          status: {
            state: notReadyState(nrMode, false),
            workMode: nrMode,
            readyMode: 'ManualIn',
            reasonCode: input.reasonCode,
            routedCalls: [],
          },
          events: ['EventAgentLogin', 'EventAgentNotReady'],
        };
      }
      throw new AgentError('invalid-work-mode', `work mode ${mode} is not valid for a login`);
    }
    case 'ready': {
      if (!loggedIn) throw new AgentError('not-logged-in', 'agent is not logged in');
      const mode = input.workMode ?? 'Unknown';
      if (mode !== 'Unknown' && !isReadyWorkMode(mode)) {
        throw new AgentError('invalid-work-mode', `work mode ${mode} is not valid for RequestAgentReady`);
      }
      const readyMode: ReadyWorkMode = isReadyWorkMode(mode) ? mode : current.readyMode;
      const state = isBusy(current.state) ? AgentState.BusyReady : AgentState.Ready;
      return {
        status: { state, workMode: readyMode, readyMode, routedCalls: current.routedCalls },
        events: ['EventAgentReady'],
      };
    }
    case 'not-ready': {
      if (!loggedIn) throw new AgentError('not-logged-in', 'agent is not logged in');
      const mode = input.workMode ?? 'Unknown';
      if (mode !== 'Unknown' && !isNotReadyWorkMode(mode)) {
        throw new AgentError('invalid-work-mode', `work mode ${mode} is not valid for RequestAgentNotReady`);
      }
      const nrMode: AgentWorkMode = mode === 'Unknown' ? 'AuxWork' : mode;
      return {
        status: {
          state: notReadyState(nrMode, isBusy(current.state)),
          workMode: nrMode,
          readyMode: current.readyMode,
          reasonCode: input.reasonCode,
          routedCalls: current.routedCalls,
        },
        events: ['EventAgentNotReady'],
      };
    }
    case 'routed-call-established': {
      if (!loggedIn || current.routedCalls.includes(input.connId)) return { status: current, events: [] };
      const routedCalls = [...current.routedCalls, input.connId];
      let state: AgentState;
      switch (current.state) {
        case AgentState.Ready:
          state = AgentState.BusyReady;
          break;
        case AgentState.NotReady:
          state = AgentState.BusyNotReady;
          break;
        case AgentState.AfterCallWork:
          state = AgentState.BusyAfterCallWork;
          break;
        default:
          state = current.state;
      }
      return { status: { ...current, state, routedCalls }, events: [] };
    }
    case 'routed-call-ended': {
      if (!loggedIn || !current.routedCalls.includes(input.connId)) return { status: current, events: [] };
      const routedCalls = current.routedCalls.filter((c) => c !== input.connId);
      if (routedCalls.length > 0) return { status: { ...current, routedCalls }, events: [] };
      switch (current.state) {
        case AgentState.BusyReady:
          if (current.readyMode === 'AutoIn') {
            return {
              status: { state: AgentState.Ready, workMode: 'AutoIn', readyMode: 'AutoIn', routedCalls },
              events: ['EventAgentReady'],
            };
          }
          return {
            status: { state: AgentState.AfterCallWork, workMode: 'AfterCallWork', readyMode: 'ManualIn', routedCalls },
            events: ['EventAgentNotReady'],
          };
        case AgentState.BusyNotReady:
          return { status: { ...current, state: AgentState.NotReady, routedCalls }, events: [] };
        case AgentState.BusyAfterCallWork:
          return { status: { ...current, state: AgentState.AfterCallWork, routedCalls }, events: [] };
        default:
          return { status: { ...current, routedCalls }, events: [] };
      }
    }
    case 'logout': {
      if (!loggedIn) throw new AgentError('not-logged-in', 'agent is not logged in');
      return { status: LOGGED_OUT, events: ['EventAgentLogout'] };
    }
  }
}
