/**
 * What the agent desktop shows, computed from the CTI events of its DN: the agent's state, the
 * calls by connId and the event log. Pure functions, so that the view only renders.
 */
import type {
  AgentWorkMode,
  CtiAddressInfoWireEvent,
  CtiCallWireEvent,
  CtiServerEvent,
  DnCallSnapshot,
  DnCallState,
} from '../../../src/api/cti/cti-wire-types.js';

/** A call of the DN as the call panel shows it: as the server describes it, plus the timer's start. */
export interface CallView extends DnCallSnapshot {
  /** `Date.now()` when the call entered `state` (the timer counts from it). */
  readonly since: number;
}

/** The agent's state on the DN. */
export interface AgentView {
  readonly loggedIn: boolean;
  /** `Ready`, `Not Ready`, `After Call Work`, `Logged out`. */
  readonly label: string;
  readonly workMode?: AgentWorkMode;
  readonly reasonCode?: string;
}

/** One line of the event log. */
export interface LogEntry {
  readonly seq: number;
  readonly time: string;
  readonly name: string;
  readonly details: string;
}

/** Everything the desktop shows about its DN. */
export interface DeskModel {
  readonly agent: AgentView;
  readonly calls: readonly CallView[];
  readonly log: readonly LogEntry[];
}

/** Lines kept in the event log. */
export const LOG_SIZE = 50;

export const LOGGED_OUT: AgentView = { loggedIn: false, label: 'Logged out' };

export const EMPTY_MODEL: DeskModel = { agent: LOGGED_OUT, calls: [], log: [] };

let logSeq = 0;

/** The label of an agent state: `Not Ready — Break`, `After Call Work`… */
export function agentLabel(ready: boolean, workMode: AgentWorkMode | undefined, reasonCode?: string): string {
  if (ready) return 'Ready';
  if (workMode === 'AfterCallWork') return 'After Call Work';
  return reasonCode ? `Not Ready — ${reasonCode}` : 'Not Ready';
}

/** The agent view of an EventAddressInfo (resync after a login or a reconnect). */
export function agentFromAddressInfo(e: CtiAddressInfoWireEvent): AgentView {
  const s = e.agentState;
  if (s === 'LoggedOut') return LOGGED_OUT;
  const ready = s === 'Ready' || s === 'BusyReady';
  const acw = s === 'AfterCallWork' || s === 'BusyAfterCallWork';
  const workMode: AgentWorkMode | undefined = acw ? 'AfterCallWork' : e.workMode;
  return {
    loggedIn: true,
    label: agentLabel(ready, workMode, e.reasonCode),
    ...(workMode ? { workMode } : {}),
    ...(e.reasonCode !== undefined ? { reasonCode: e.reasonCode } : {}),
  };
}

/** The model after an EventAddressInfo: its agent state and calls replace what was shown. */
export function resync(model: DeskModel, e: CtiAddressInfoWireEvent, now: number): DeskModel {
  return {
    ...model,
    agent: agentFromAddressInfo(e),
    calls: e.calls.map((c) => ({ ...c, since: now - (c.inStateMs ?? 0) })),
  };
}

const CALL_STATE: Partial<Record<string, DnCallState>> = {
  EventRinging: 'Ringing',
  EventDialing: 'Dialing',
  EventNetworkReached: 'Dialing',
  EventEstablished: 'Established',
  EventHeld: 'Held',
  EventRetrieved: 'Established',
};

function details(e: CtiServerEvent): string {
  const parts: string[] = [];
  const add = (k: string, v: unknown) => {
    if (v !== undefined && v !== '') parts.push(`${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  };
  const a = e as Record<string, unknown>;
  for (const k of ['thisDN', 'connId', 'otherDN', 'callType', 'agentId', 'workMode', 'reasonCode', 'agentState'])
    add(k, a[k]);
  add('transferConnId', a.transferConnId);
  add('errorCode', a.errorCode);
  add('errorMessage', a.errorMessage);
  add('referenceId', a.referenceId);
  return parts.join(' ');
}

/** The model after one event of the DN (`now`: `Date.now()`). */
export function applyEvent(model: DeskModel, e: CtiServerEvent, now: number): DeskModel {
  const entry: LogEntry = { seq: ++logSeq, time: e.time, name: e.event, details: details(e) };
  const log = [entry, ...model.log].slice(0, LOG_SIZE);
  return { ...model, log, ...stateChange(model, e, now) };
}

function stateChange(model: DeskModel, e: CtiServerEvent, now: number): Partial<DeskModel> {
  switch (e.event) {
    case 'EventAgentLogin':
      return { agent: { ...model.agent, loggedIn: true, workMode: e.workMode } };
    case 'EventAgentReady':
      return { agent: { loggedIn: true, label: 'Ready', workMode: e.workMode } };
    case 'EventAgentNotReady':
      return {
        agent: {
          loggedIn: true,
          label: agentLabel(false, e.workMode, e.reasonCode),
          workMode: e.workMode,
          ...(e.reasonCode !== undefined ? { reasonCode: e.reasonCode } : {}),
        },
      };
    case 'EventAgentLogout':
      return { agent: LOGGED_OUT };
    case 'EventAddressInfo': {
      const { agent, calls } = resync(model, e, now);
      return { agent, calls };
    }
    case 'EventReleased':
    case 'EventAbandoned':
      return { calls: model.calls.filter((c) => c.connId !== e.connId) };
    case 'EventPartyChanged':
    case 'EventPartyAdded':
    case 'EventPartyDeleted':
    case 'EventAttachedDataChanged':
      return {
        calls: model.calls.map((c) =>
          c.connId === e.connId ? { ...c, otherDN: e.otherDN || c.otherDN, userData: e.userData } : c,
        ),
      };
    default: {
      const state = CALL_STATE[e.event];
      if (!state || !('connId' in e)) return {};
      const c = e as CtiCallWireEvent;
      const old = model.calls.find((x) => x.connId === c.connId);
      const view: CallView = {
        connId: c.connId,
        state,
        callType: c.callType,
        otherDN: c.otherDN || old?.otherDN || '',
        ani: c.ani,
        dnis: c.dnis,
        userData: c.userData,
        since: old && old.state === state ? old.since : now,
      };
      return { calls: old ? model.calls.map((x) => (x === old ? view : x)) : [...model.calls, view] };
    }
  }
}
