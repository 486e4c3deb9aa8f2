import type { AgentWorkMode } from '../events.js';

/**
 * Agent states of behaviour §12.2 ([C:S16]). `NotReady` with work mode `AfterCallWork` is its own
 * state so that `/api/status` can report it (interfaces §5); the `Busy…` variants hold while the
 * agent's DN is on at least one routed (ACD) call, even a held one.
 */
export enum AgentState {
  LoggedOut = 'LoggedOut',
  Ready = 'Ready',
  NotReady = 'NotReady',
  AfterCallWork = 'AfterCallWork',
  BusyReady = 'BusyReady',
  BusyNotReady = 'BusyNotReady',
  BusyAfterCallWork = 'BusyAfterCallWork',
}

/** The two "in" work modes: what happens after a routed call (behaviour §12.1, [C:S15]). */
export type ReadyWorkMode = 'AutoIn' | 'ManualIn';

/** Work modes accepted by `RequestAgentNotReady` (interfaces §4). */
export type NotReadyWorkMode = 'AuxWork' | 'AfterCallWork' | 'WalkAway' | 'NoCallDisconnect';

/** The state-machine part of an agent session. */
export interface AgentStatus {
  readonly state: AgentState;
  /** Work mode as last reported to desktops. */
  readonly workMode: AgentWorkMode;
  /** AutoIn or ManualIn: decides where a finished routed call leaves the agent. */
  readonly readyMode: ReadyWorkMode;
  readonly reasonCode?: string;
  /** connIds of the routed calls the agent is on (Busy while non-empty). */
  readonly routedCalls: readonly string[];
}

/** True for the three Busy variants. */
export function isBusy(state: AgentState): boolean {
  return state === AgentState.BusyReady || state === AgentState.BusyNotReady || state === AgentState.BusyAfterCallWork;
}

/** True when `mode` is AutoIn or ManualIn. */
export function isReadyWorkMode(mode: AgentWorkMode | undefined): mode is ReadyWorkMode {
  return mode === 'AutoIn' || mode === 'ManualIn';
}

/** True when `mode` is a not-ready work mode accepted by RequestAgentNotReady. */
export function isNotReadyWorkMode(mode: AgentWorkMode | undefined): mode is NotReadyWorkMode {
  return mode === 'AuxWork' || mode === 'AfterCallWork' || mode === 'WalkAway' || mode === 'NoCallDisconnect';
}

/** The status of an agent who is not logged in. */
export const LOGGED_OUT: AgentStatus = Object.freeze({
  state: AgentState.LoggedOut,
  workMode: 'Unknown' as AgentWorkMode,
  readyMode: 'ManualIn' as ReadyWorkMode,
  routedCalls: Object.freeze([]) as readonly string[],
});
