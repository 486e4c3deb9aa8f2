import type { CallType, EventOrigin, UserData } from './events.js';

/** Call requests of interfaces §4, as the CTI gateway hands them to call control. */
export type CallControlRequest =
  | {
      readonly request: 'RequestMakeCall';
      readonly thisDN: string;
      readonly otherDN: string;
      readonly userData?: UserData;
    }
  | { readonly request: 'RequestAnswerCall'; readonly thisDN: string; readonly connId: string }
  | { readonly request: 'RequestReleaseCall'; readonly thisDN: string; readonly connId: string }
  | { readonly request: 'RequestHoldCall'; readonly thisDN: string; readonly connId: string }
  | { readonly request: 'RequestRetrieveCall'; readonly thisDN: string; readonly connId: string }
  | {
      readonly request: 'RequestInitiateTransfer';
      readonly thisDN: string;
      readonly connId: string;
      readonly otherDN: string;
      readonly userData?: UserData;
    }
  | {
      readonly request: 'RequestCompleteTransfer';
      readonly thisDN: string;
      readonly connId: string;
      readonly transferConnId: string;
    }
  | {
      readonly request: 'RequestReconnectCall';
      readonly thisDN: string;
      readonly connId: string;
      readonly transferConnId?: string;
    }
  | {
      readonly request: 'RequestAlternateCall';
      readonly thisDN: string;
      readonly connId: string;
      readonly transferConnId?: string;
    }
  | {
      readonly request: 'RequestSingleStepTransfer';
      readonly thisDN: string;
      readonly connId: string;
      readonly otherDN: string;
    }
  | {
      readonly request: 'RequestInitiateConference';
      readonly thisDN: string;
      readonly connId: string;
      readonly otherDN: string;
      readonly userData?: UserData;
    }
  | {
      readonly request: 'RequestCompleteConference';
      readonly thisDN: string;
      readonly connId: string;
      readonly transferConnId: string;
    }
  | {
      readonly request: 'RequestDeleteFromConference';
      readonly thisDN: string;
      readonly connId: string;
      readonly otherDN: string;
    }
  | {
      readonly request: 'RequestAttachUserData';
      readonly thisDN: string;
      readonly connId: string;
      readonly userData: UserData;
    };

/** Why call control refused a request. */
export type CallControlErrorReason = 'not-supported' | 'unknown-conn-id' | 'invalid-state' | 'failed';

/** A refused or failed call request; the gateway answers EventError with the mapped code. */
export class CallControlError extends Error {
  constructor(
    readonly reason: CallControlErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'CallControlError';
  }
}

/**
 * The port the B2BUA (`src/contact-center/calls`) implements for the CTI gateway. `handle`
 * resolves once the request is accepted; the resulting call events (EventDialing,
 * EventEstablished, …) are published on the contact-center bus with `origin`, so the requester
 * receives them with its referenceId. It rejects with {@link CallControlError} to refuse.
 */
export interface CallControl {
  handle(request: CallControlRequest, origin: EventOrigin): Promise<void>;
  /**
   * The live calls a DN is a party of, as a desktop shows them (RequestQueryAddress, so that a
   * desktop that reconnects gets its call panel back). Absent: the DN never has calls.
   */
  callsOnDn?(dn: string): readonly DnCallSnapshot[];
  /** Whether the DN is a party of a live call now (without building the snapshots). Absent: never. */
  hasCalls?(dn: string): boolean;
}

/**
 * State of a DN's party in a call, as a desktop shows it: `Ringing` (the DN's device is offered
 * the call), `Dialing` (the DN called and waits for the answer), `Established`, `Held` (the DN put
 * the call on hold).
 */
export type DnCallState = 'Ringing' | 'Dialing' | 'Established' | 'Held';

/** One live call of a DN ({@link CallControl.callsOnDn}); attributes as in the call events. */
export interface DnCallSnapshot {
  readonly connId: string;
  readonly state: DnCallState;
  readonly callType: CallType;
  readonly otherDN: string;
  readonly ani: string;
  readonly dnis: string;
  readonly userData: UserData;
  /**
   * Milliseconds the DN's party has been in `state` (a desktop's timer starts from it after a
   * resync; a duration, so that the desktop's clock need not agree with the server's).
   */
  readonly inStateMs?: number;
}

/** Call control used until the B2BUA exists: every call request is `not-supported`. */
export const unsupportedCallControl: CallControl = {
  handle(request) {
    return Promise.reject(
      new CallControlError('not-supported', `${request.request} is not supported by this server yet`),
    );
  },
};
