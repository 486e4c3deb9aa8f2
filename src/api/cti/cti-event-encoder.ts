import type { ContactCenterEvent } from '../../contact-center/events.js';
import type { CtiAgentWireEvent, CtiCallWireEvent, CtiDnWireEvent } from './cti-wire-types.js';

/** A wire event: JSON object with `event`, `server`, `time`, and event attributes (interfaces §4). */
export type CtiWireEvent = Record<string, unknown> & { event: string };

/**
 * Turns a domain event into its wire form (interfaces §4; mandatory attributes per
 * behaviour §11.2: event, server, thisDN, time; call events add connId, callType, otherDN, ani,
 * dnis, userData). `referenceId` is added by the gateway for the requester only.
 */
export function encodeDomainEvent(
  e: ContactCenterEvent,
  server: string,
  time: string,
): CtiAgentWireEvent | CtiCallWireEvent | CtiDnWireEvent {
  switch (e.kind) {
    case 'agent':
      return {
        event: e.name,
        server,
        thisDN: e.thisDN,
        agentId: e.agentId,
        workMode: e.workMode,
        ...(e.reasonCode !== undefined ? { reasonCode: e.reasonCode } : {}),
        ...(e.extensions !== undefined ? { extensions: { ...e.extensions } } : {}),
        time,
      };
    case 'call':
      return {
        event: e.name,
        server,
        thisDN: e.thisDN,
        connId: e.connId,
        otherDN: e.otherDN ?? '',
        callType: e.callType,
        ani: e.ani ?? '',
        dnis: e.dnis ?? '',
        userData: { ...(e.userData ?? {}) },
        ...(e.transferConnId !== undefined ? { transferConnId: e.transferConnId } : {}),
        time,
      };
    case 'dn':
      return { event: e.name, server, thisDN: e.thisDN, time };
  }
}
