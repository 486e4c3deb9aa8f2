/**
 * Precise types of the CTI wire events (docs/cti-protocol.md), for clients written in
 * TypeScript (the agent desktop in `web/` imports them with `import type`). The gateway builds
 * these shapes; {@link CtiWireEvent} is the loose form it sends.
 */
import type { AgentState } from '../../contact-center/agents/agent-state.js';
import type { DnCallSnapshot } from '../../contact-center/call-control.js';
import type { AgentEventName, AgentWorkMode, CallEventName, CallType, UserData } from '../../contact-center/events.js';
import type { CTI_ERROR } from './cti-error-codes.js';

export type { AgentEventName, AgentWorkMode, CallEventName, CallType, UserData, DnCallSnapshot };
export type { DnCallState } from '../../contact-center/call-control.js';

/** Attributes every event carries. */
type WireBase = {
  readonly server: string;
  /** ISO 8601, UTC. */
  readonly time: string;
  /** The request this event answers, on the requester's connection only. */
  readonly referenceId?: number | string;
};

/** `EventAgentLogin`, `EventAgentReady`, `EventAgentNotReady`, `EventAgentLogout`. */
export type CtiAgentWireEvent = WireBase & {
  readonly event: AgentEventName;
  readonly thisDN: string;
  readonly agentId: string;
  readonly workMode: AgentWorkMode;
  readonly reasonCode?: string;
  readonly extensions?: Readonly<Record<string, string>>;
};

/** A call event as seen from `thisDN`. */
export type CtiCallWireEvent = WireBase & {
  readonly event: CallEventName;
  readonly thisDN: string;
  readonly connId: string;
  readonly otherDN: string;
  readonly callType: CallType;
  readonly ani: string;
  readonly dnis: string;
  readonly userData: UserData;
  readonly transferConnId?: string;
};

/** `EventDNOutOfService`, `EventDNBackInService`. */
export type CtiDnWireEvent = WireBase & {
  readonly event: 'EventDNOutOfService' | 'EventDNBackInService';
  readonly thisDN: string;
};

/** Answer of RequestOpen. */
export type CtiOpenedWireEvent = WireBase & {
  readonly event: 'EventOpened';
  readonly scope: 'agent' | 'application';
  readonly agentId?: string;
  readonly thisDN?: string;
};

/** Answer of RequestRegisterAddress / RequestUnregisterAddress. */
export type CtiRegisteredWireEvent = WireBase & {
  readonly event: 'EventRegistered' | 'EventUnregistered';
  readonly thisDN: string;
};

/** Answer of RequestQueryAddress: the DN's agent and its live calls. */
export type CtiAddressInfoWireEvent = WireBase & {
  readonly event: 'EventAddressInfo';
  readonly thisDN: string;
  readonly agentState: `${AgentState}`;
  readonly agentId?: string;
  readonly workMode?: AgentWorkMode;
  readonly reasonCode?: string;
  readonly extensions?: Readonly<Record<string, string>>;
  readonly calls: readonly DnCallSnapshot[];
};

/** Answer of RequestQueryServer (the heartbeat of a desktop): the server's name and time. */
export type CtiServerInfoWireEvent = WireBase & { readonly event: 'EventServerInfo' };

/** A refused request. */
export type CtiErrorWireEvent = WireBase & {
  readonly event: 'EventError';
  readonly errorCode: CtiErrorCode;
  readonly errorMessage: string;
};

/** Every numeric error code of the table (`CTI_ERROR`). */
export type CtiErrorCode = (typeof CTI_ERROR)[keyof typeof CTI_ERROR]['code'];

/** The code table itself, as a type (names, codes, default messages). */
export type CtiErrorTable = typeof CTI_ERROR;

/** Any event the server sends. */
export type CtiServerEvent =
  | CtiAgentWireEvent
  | CtiCallWireEvent
  | CtiDnWireEvent
  | CtiOpenedWireEvent
  | CtiRegisteredWireEvent
  | CtiAddressInfoWireEvent
  | CtiServerInfoWireEvent
  | CtiErrorWireEvent;
