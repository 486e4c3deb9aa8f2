/**
 * Domain events of the contact centre, shared by call control (`calls/`), agents (`agents/`),
 * routing (`routing/`) and the CTI gateway (`api/cti`), which turns them into T-Library-named
 * JSON events (behaviour §11.2, interfaces §4).
 *
 * Events are plain data: the producer publishes them on a {@link ContactCenterEventBus}; every
 * consumer subscribes. Nothing here knows about WebSockets or SIP.
 */

/** Work modes of T-Library `TAgentWorkMode` (behaviour §12.1, [C:S15]), by name. */
export type AgentWorkMode =
  'Unknown' | 'ManualIn' | 'AutoIn' | 'AfterCallWork' | 'AuxWork' | 'NoCallDisconnect' | 'WalkAway' | 'ReturnBack';

/** Every work-mode name, for validation. */
export const AGENT_WORK_MODES: readonly AgentWorkMode[] = [
  'Unknown',
  'ManualIn',
  'AutoIn',
  'AfterCallWork',
  'AuxWork',
  'NoCallDisconnect',
  'WalkAway',
  'ReturnBack',
];

/**
 * Correlates an event with the request that caused it, so that the CTI gateway can echo the
 * request's `referenceId` to the requester only (interfaces §4: "the event that answers it
 * echoes it"). `requesterId` is opaque to the domain.
 */
export interface EventOrigin {
  readonly requesterId: string;
  readonly referenceId: number | string;
}

/** Names of the agent-state events (behaviour §11.2, [C:S17]). */
export type AgentEventName = 'EventAgentLogin' | 'EventAgentLogout' | 'EventAgentReady' | 'EventAgentNotReady';

/** An agent-state change on a DN. */
export interface AgentDomainEvent {
  readonly kind: 'agent';
  readonly name: AgentEventName;
  readonly thisDN: string;
  readonly agentId: string;
  readonly workMode: AgentWorkMode;
  /** Not-ready reason code (`RequestAgentNotReady.reasonCode`), when one was given. */
  readonly reasonCode?: string;
  /** Echoed login extensions, e.g. the normalised `agent-phone` (behaviour §7). */
  readonly extensions?: Readonly<Record<string, string>>;
  readonly origin?: EventOrigin;
}

/** Call types of interfaces §4. */
export type CallType = 'Inbound' | 'Outbound' | 'Internal' | 'Consult';

/** Names of the call events a desktop must handle (behaviour §8.3, §11.2). */
export type CallEventName =
  | 'EventDialing'
  | 'EventNetworkReached'
  | 'EventRinging'
  | 'EventEstablished'
  | 'EventHeld'
  | 'EventRetrieved'
  | 'EventReleased'
  | 'EventAbandoned'
  | 'EventDestinationBusy'
  | 'EventPartyChanged'
  | 'EventPartyAdded'
  | 'EventPartyDeleted'
  | 'EventAttachedDataChanged';

/** User data attached to a call (`RequestAttachUserData`); string/number values only. */
export type UserData = Readonly<Record<string, string | number>>;

/** A call event as seen from one DN (`thisDN`) of the call. */
export interface CallDomainEvent {
  readonly kind: 'call';
  readonly name: CallEventName;
  readonly thisDN: string;
  /** Call identifier, a hex string unique per call (interfaces §4 `connId`). */
  readonly connId: string;
  readonly otherDN?: string;
  readonly callType: CallType;
  readonly ani?: string;
  readonly dnis?: string;
  readonly userData?: UserData;
  /** For transfers/consultations: the other call's connId (`EventPartyChanged`, `EventReleased`). */
  readonly transferConnId?: string;
  /**
   * True when the call reached `thisDN` through a routing point (an ACD call): such a call makes
   * the agent Busy (behaviour §12.2, [C:S16]); direct and private calls do not.
   */
  readonly routed?: boolean;
  readonly origin?: EventOrigin;
}

/** DN service events (behaviour §12.3). */
export interface DnDomainEvent {
  readonly kind: 'dn';
  readonly name: 'EventDNOutOfService' | 'EventDNBackInService';
  readonly thisDN: string;
}

/** Any contact-centre domain event. */
export type ContactCenterEvent = AgentDomainEvent | CallDomainEvent | DnDomainEvent;

/** A subscriber of {@link ContactCenterEventBus}. */
export type ContactCenterEventListener = (event: ContactCenterEvent) => void;

/**
 * Synchronous in-process publish/subscribe of domain events. A throwing listener is isolated
 * (reported to `onListenerError`) so one faulty consumer never stops the others.
 *
 * Causal order: an event published by a listener while another event is being delivered (e.g.
 * `EventAgentReady` caused by `EventReleased`) is queued and delivered after the current event
 * has reached every listener, so every listener sees cause before effect. The outermost
 * `publish` returns once the queue is empty.
 */
export class ContactCenterEventBus {
  private readonly listeners = new Set<ContactCenterEventListener>();
  private readonly queue: ContactCenterEvent[] = [];
  private delivering = false;

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ContactCenterEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Delivers `event` to every listener, in subscription order (after any event being delivered). */
  publish(event: ContactCenterEvent): void {
    this.queue.push(event);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) {
        for (const l of [...this.listeners]) {
          try {
            l(e);
          } catch (err) {
            this.onListenerError(err);
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }
}
