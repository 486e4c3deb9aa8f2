/**
 * The back-to-back user agent's call core (RFC 3261 §6 "B2BUA", RFC 7092): every call is two (or
 * more) SIP legs, each with its own dialog. The core keeps the live calls by ConnID, dials one
 * party with failover (behaviour §3.3; 18x reported as EventRinging / EventNetworkReached),
 * moves legs between calls and releases them — BYE when established, CANCEL while ringing
 * (RFC 3261 §9.1), a final answer to an unanswered caller (§15). What flows between established
 * legs is {@link InDialogRelay}'s; how calls start is the inbound classifier's
 * (`inbound-calls.ts`) and the CTI flows' (`make-call.ts`, `consultation.ts`,
 * `call-control-service.ts`).
 */
import type { MediaServer } from '../../media/media-server.js';
import type { Deliverable } from '../../reachability/reachability-types.js';
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { InviteSession, SessionEndReason } from '../../sip/dialog/invite-session.js';
import type { SipResponse } from '../../sip/message/types.js';
import type { Clock } from '../../util/clock.js';
import { runDetached } from '../../util/detached.js';
import type { Logger } from '../../util/logger.js';
import type { CallType, ContactCenterEventBus, EventOrigin } from '../events.js';
import { Call, CallState } from './call.js';
import { CallEvents } from './call-events.js';
import { CallLeg, LegState, type DialAttempt, type NailedUpLegOwner } from './call-leg.js';
import { dualDialogEnabled, tryingTimeoutOf } from './call-options.js';
import type { CallDirectory, CallReachability, CallRouterRef } from './call-ports.js';
import { noCallJournal, type CallJournal } from './call-journal.js';
import { ConnIdGenerator } from './conn-id-generator.js';
import { InDialogRelay } from './in-dialog-relay.js';
import { OutboundAttempt, type AttemptDelegate, type AttemptFailure } from './outbound-attempt.js';
import type { SdpOriginKeeper } from '../../media/sdp-origin-keeper.js';

/**
 * A nailed-up connection as {@link B2bua.dial} uses it (behaviour §10): a call for its DN rides
 * the connection's dialog (re-INVITE) instead of a new INVITE.
 */
export interface NailedUpDialer {
  /** Keeps our `o=` line on the connection's dialog across the calls it carries (RFC 3264 §8). */
  readonly origin: SdpOriginKeeper;
  /** Where a leg that leaves its call goes back to (re-park). */
  readonly owner: NailedUpLegOwner;
  /** The dial of `leg` for `call`: the leg's `lastSdpSent` is the offer (none: offer-less re-INVITE). */
  attempt(call: Call, leg: CallLeg, ringTimeoutMs: number | undefined, delegate: AttemptDelegate): DialAttempt;
}

/** The nailed-up connections (implemented by `NailedUpConnections`). */
export interface NailedUpPort {
  /** The connection of `dn` when `dn` is a nailed-up DN (`line-type = 1`), else undefined. */
  dialerFor(dn: string): NailedUpDialer | undefined;
  /** True when `dn` is a nailed-up DN: single-dialog behaviour whatever `dual-dialog-enabled` says (behaviour §10.4). */
  isNailedUp(dn: string): boolean;
}

/** Construction options of {@link B2bua}. */
export interface B2buaOptions {
  ua: DialogUserAgent;
  reachability: CallReachability;
  directory: CallDirectory;
  bus: ContactCenterEventBus;
  clock: Clock;
  logger: Logger;
  /** The routing-point router (bound late); a routed call that ends leaves its queue. */
  router?: CallRouterRef;
  connIds?: ConnIdGenerator;
  /** Records active calls so a restart can report the lost ones (default: none). */
  journal?: CallJournal;
  /** The media server (park, ringback, music on hold, conferences); absent: black-hole SDP. */
  media?: MediaServer;
}

/** Result of dialing one party. */
export type DialResult =
  { kind: 'answered'; leg: CallLeg } | { kind: 'failed'; failure: AttemptFailure } | { kind: 'cancelled' };

/** Options of {@link B2bua.dial}. */
export interface DialOptions {
  /** DN of the party (events are reported on it) or undefined for an external number. */
  dn: string | undefined;
  /** Number as the other parties see it. */
  address: string;
  targets: Deliverable[];
  /** The SDP offer to send (undefined: late offer). */
  offer?: string;
  ringTimeoutMs?: number;
  /** The new leg received a routed call (agent Busy tracking). */
  routed?: boolean;
  /** Calling number shown to the party. */
  fromUser: string;
  /** Events for this party carry this origin (the CTI requester). */
  origin?: EventOrigin;
  /** No EventRinging/EventNetworkReached for this party (3pcc origin leg, behaviour §8.3). */
  silent?: boolean;
  /** Called on each 18x. */
  onProgress?: (leg: CallLeg, response: SipResponse) => void;
  /** Called on the 2xx, before the default bridging logic; the caller handles SDP/ACK. */
  onAnswered: (
    leg: CallLeg,
    session: InviteSession,
    response: SipResponse,
    ackAnswer?: (answer: string | Buffer) => void,
  ) => void;
}

/** Maps a failed attempt to the status we answer the caller with. */
export function failureStatus(f: AttemptFailure): { status: number; reason: string } {
  switch (f.kind) {
    case 'rejected':
      return { status: f.status, reason: f.reason };
    case 'timeout':
    case 'no-response':
      return { status: 408, reason: 'Request Timeout' };
    case 'transport-error':
      return { status: 503, reason: 'Service Unavailable' };
    case 'no-answer':
      return { status: 480, reason: 'No Answer' };
    case 'unreachable':
      return { status: 480, reason: 'Temporarily Unavailable' };
  }
}

/** The live calls and what every call flow does with them: dial, move, release. */
export class B2bua {
  /** The bus call events are published on. */
  readonly bus: ContactCenterEventBus;
  /** Publishes the call events (and tells the journal). */
  readonly events: CallEvents;
  /** The media server, when the server has one. */
  readonly media: MediaServer | undefined;
  private readonly ua: DialogUserAgent;
  private readonly reachability: CallReachability;
  private readonly directory: CallDirectory;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly router: CallRouterRef | undefined;
  private readonly connIds: ConnIdGenerator;
  private readonly journal: CallJournal;
  private readonly relay: InDialogRelay;
  private readonly calls = new Map<string, Call>();
  private nailedUp: NailedUpPort | undefined;
  private ended = 0;
  private faults = 0;

  constructor(opts: B2buaOptions) {
    this.ua = opts.ua;
    this.reachability = opts.reachability;
    this.directory = opts.directory;
    this.bus = opts.bus;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.router = opts.router;
    this.media = opts.media;
    this.connIds = opts.connIds ?? new ConnIdGenerator();
    this.journal = opts.journal ?? noCallJournal;
    this.events = new CallEvents(opts.bus, this.journal);
    this.relay = new InDialogRelay({
      directory: opts.directory,
      events: this.events,
      logger: opts.logger,
      onLegEnded: (call, leg, reason) => this.onLegEnded(call, leg, reason),
      onFault: (call, what, err) => this.fault(call, what, err),
    });
  }

  /** Bind the nailed-up connections (built over this core, so bound after construction; once). */
  bindNailedUp(port: NailedUpPort): void {
    if (this.nailedUp) throw new Error('nailed-up connections are bound already');
    this.nailedUp = port;
  }

  /** Live calls. */
  get activeCalls(): number {
    return this.calls.size;
  }

  /** Calls released because their flow failed (diagnostics, `sipserver_call_faults_total`). */
  get faulted(): number {
    return this.faults;
  }

  /** Calls ended so far (diagnostics). */
  get completed(): number {
    return this.ended;
  }

  /** A call by ConnID. */
  getCall(connId: string): Call | undefined {
    return this.calls.get(connId);
  }

  /** Every live call. */
  allCalls(): Call[] {
    return [...this.calls.values()];
  }

  /** Create and register a call. */
  newCall(callType: CallType, ani: string | undefined, dnis: string | undefined): Call {
    const call = new Call(this.connIds.next(), callType, ani, dnis, this.clock.now());
    this.calls.set(call.connId, call);
    this.journal.opened(call);
    return call;
  }

  /** Hook a leg's session to `call`: its in-dialog requests are relayed, its end releases the call. */
  watchSession(call: Call, leg: CallLeg, session: InviteSession): void {
    this.relay.watch(call, leg, session);
  }

  // ---------------------------------------------------------------- dial

  /**
   * Dial one party for `call`: INVITE through the targets with failover, events EventRinging /
   * EventNetworkReached on 18x. Resolves with the outcome; on `answered` the leg is established
   * and `opts.onAnswered` has run.
   */
  dial(call: Call, opts: DialOptions): Promise<DialResult> {
    const nailed = opts.dn !== undefined ? this.nailedUp?.dialerFor(opts.dn) : undefined;
    const leg = call.add(new CallLeg(opts.dn, opts.address, 'out', nailed?.origin));
    leg.routed = opts.routed ?? false;
    leg.nailed = nailed?.owner;
    if (opts.offer) leg.adapt(opts.offer);
    return new Promise<DialResult>((resolve) => {
      let ringingSent = false;
      const delegate: AttemptDelegate = {
        onProgress: (r) => {
          if (leg.released || call.state === CallState.Released) return;
          leg.lastProvisional = r;
          if (r.status >= 180 && r.status < 190) {
            leg.state = LegState.Alerting;
            if (!ringingSent && !opts.silent) {
              ringingSent = true;
              this.events.ringing(call, leg, opts.origin);
            }
          }
          try {
            opts.onProgress?.(leg, r);
          } catch (err) {
            this.fault(call, 'progress', err);
          }
        },
        onAnswered: (session, r, ackAnswer) => {
          leg.attempt = undefined;
          leg.lastProvisional = undefined;
          if (leg.released || call.state === CallState.Released) {
            ackAnswer?.(Buffer.alloc(0));
            this.bye(session);
            resolve({ kind: 'cancelled' });
            return;
          }
          leg.session = session;
          leg.state = LegState.Established;
          this.watchSession(call, leg, session);
          if (!ringingSent && !opts.silent) {
            ringingSent = true;
            this.events.ringing(call, leg, opts.origin);
          }
          try {
            opts.onAnswered(leg, session, r, ackAnswer);
          } catch (err) {
            this.fault(call, 'answer', err);
            resolve({ kind: 'cancelled' });
            return;
          }
          resolve({ kind: 'answered', leg });
        },
        onFailed: (failure) => {
          leg.attempt = undefined;
          leg.state = LegState.Released;
          call.remove(leg);
          if (ringingSent && leg.dn) this.events.emit('EventReleased', call, leg, undefined, opts.origin);
          resolve({ kind: 'failed', failure });
        },
      };
      const attempt = nailed
        ? nailed.attempt(call, leg, opts.ringTimeoutMs, delegate)
        : new OutboundAttempt(
            this.ua,
            this.reachability,
            {
              targets: opts.targets,
              fromUser: opts.fromUser,
              offer: opts.offer,
              ringTimeoutMs: opts.ringTimeoutMs,
              maxForwards: call.maxForwards,
              tryingTimeoutMs: (t) => tryingTimeoutOf(this.directory, opts.dn, t.via),
            },
            delegate,
          );
      leg.attempt = attempt;
      leg.cancelDial = () => {
        attempt.cancel();
        if (leg.state !== LegState.Established) {
          leg.attempt = undefined;
          const wasRinging = ringingSent;
          leg.state = LegState.Released;
          call.remove(leg);
          if (wasRinging && leg.dn)
            this.events.emit(
              call.state === CallState.Released ? 'EventAbandoned' : 'EventReleased',
              call,
              leg,
              undefined,
              opts.origin,
            );
          resolve({ kind: 'cancelled' });
        }
      };
      attempt.start();
    });
  }

  /** Stop ringing a leg (CANCEL). */
  cancelDial(leg: CallLeg): void {
    leg.cancelDial?.();
  }

  // ---------------------------------------------------------------- legs between calls

  /**
   * Move an established leg to another call (consultation in single-dialog mode, behaviour §6):
   * its dialog stays, its requests now relate to `to`.
   */
  moveLeg(leg: CallLeg, from: Call, to: Call): void {
    from.remove(leg);
    to.add(leg);
    if (leg.session) this.watchSession(to, leg, leg.session);
  }

  /** Forget a call that has no live leg left (after its legs moved away). */
  dropIfEmpty(call: Call): void {
    if (call.liveLegs.length === 0) {
      call.state = CallState.Released;
      this.finishCall(call);
    }
  }

  /**
   * Behaviour §6: with `dual-dialog-enabled = false` the device keeps at most one INVITE dialog,
   * so a DN that already has a live leg (ringing, talking, held, consulting) cannot be presented
   * another call: direct calls get 486, deliveries and transfers fail as busy.
   */
  singleDialogBusy(dn: string): boolean {
    // A nailed-up connection is single-dialog whatever the option says (behaviour §10.4); its
    // parked leg belongs to no call, so only a call riding it makes the DN busy.
    if (dualDialogEnabled(this.directory, dn) && !this.nailedUp?.isNailedUp(dn)) return false;
    for (const call of this.calls.values()) {
      for (const leg of call.liveLegs) if (leg.dn === dn) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- release

  /** Answer the caller with an error and end the call. */
  rejectCaller(call: Call, a: CallLeg, status: number, reason: string, headers?: Array<[string, string]>): void {
    a.server?.reject(status, reason, headers);
    a.server = undefined;
    a.state = LegState.Released;
    if (a.dn) this.events.emit('EventReleased', call, a);
    this.releaseCall(call);
  }

  private onLegEnded(call: Call, leg: CallLeg, reason: SessionEndReason): void {
    this.closeLegMedia(leg);
    if (leg.state === LegState.Released) return;
    const wasAnswered = leg.state === LegState.Established;
    leg.state = LegState.Released;
    if (reason === 'cancelled' || reason === 'rejected') return; // handled by the INVITE paths
    if (leg.server) {
      // BYE in the early dialog: the INVITE still needs its final answer (RFC 3261 §15.1.2).
      leg.server.reject(487, 'Request Terminated');
      leg.server = undefined;
    }
    if (!wasAnswered && leg.direction === 'out') return; // dial paths report it
    leg.nailed?.ended(leg); // the agent hung up the nailed-up connection (behaviour §10.2 E)
    this.logger.debug({ connId: call.connId, dn: leg.dn, reason }, 'leg ended');
    if (leg.dn) this.events.emit('EventReleased', call, leg);
    if (call.onPartyLeft?.(leg)) return;
    this.releaseCall(call);
  }

  /** End every live leg of a call (BYE / CANCEL / reject) and report EventReleased on each DN. */
  releaseCall(call: Call, origin?: EventOrigin): void {
    if (call.state === CallState.Released && call.liveLegs.length === 0) {
      this.finishCall(call);
      return;
    }
    call.state = CallState.Released;
    // A transferred call may be waiting on a routing point while its party hangs up.
    if (call.routed) this.router?.current?.abandon(call.connId);
    for (const leg of call.liveLegs) this.releaseLeg(call, leg, origin);
    this.finishCall(call);
  }

  /**
   * End one leg: BYE if established, CANCEL if ringing, 487/480 if it is the unanswered caller;
   * the media endpoint it was connected to closes. A leg on a nailed-up connection is never BYEd:
   * it goes back to its connection, which re-parks it (behaviour §10.2 C, D). Every flow that
   * takes a party out of a call comes through here. `extra` goes with its EventReleased (a
   * completed transfer's ConnID).
   */
  releaseLeg(call: Call, leg: CallLeg, origin?: EventOrigin, extra?: { transferConnId?: string }): void {
    this.closeLegMedia(leg);
    if (leg.state === LegState.Released) return;
    if (leg.attempt) {
      this.cancelDial(leg);
      return;
    }
    const wasEstablished = leg.state === LegState.Established;
    leg.state = LegState.Released;
    if (leg.server) {
      leg.server.reject(480, 'Temporarily Unavailable');
      leg.server = undefined;
    } else if (leg.nailed && leg.session?.active) {
      leg.nailed.repark(leg);
    } else if (leg.session?.active) {
      this.bye(leg.session);
    }
    if (leg.dn && (wasEstablished || leg.direction === 'in'))
      this.events.emit('EventReleased', call, leg, undefined, origin, extra);
  }

  /**
   * A call's flow failed (a synchronous throw in a handler or a callback, or a rejection nobody
   * awaited): log it with the call and release that call — BYE its established legs, CANCEL the
   * ringing ones, 480 to an unanswered caller, EventReleased as usual — so one bad call never
   * stops the server (docs/calls.md, "Resilience"). Should releasing throw too, the call is
   * forgotten all the same.
   */
  fault(call: Call, what: string, err: unknown): void {
    this.faults++;
    this.logger.error({ err, connId: call.connId, what }, 'call flow failed: releasing the call');
    try {
      this.releaseCall(call);
    } catch (err2) {
      this.logger.error({ err: err2, connId: call.connId }, 'releasing a failed call failed: forgetting it');
      for (const leg of call.liveLegs) leg.state = LegState.Released;
      call.state = CallState.Released;
      this.finishCall(call);
    }
  }

  /**
   * Run a step of `call`'s flow that nobody awaits (routing, a second leg, a transfer): a throw
   * or a rejection releases the call ({@link B2bua.fault}).
   */
  detached(call: Call, what: string, work: Promise<unknown> | (() => unknown)): void {
    runDetached(this.logger, what, work, (err) => this.fault(call, what, err));
  }

  /**
   * Send BYE on a session without awaiting it; a failure is logged. The session of a leg riding a
   * nailed-up connection is handed back to the connection (re-park) instead (behaviour §10).
   */
  bye(session: InviteSession): void {
    const leg = session.owner instanceof CallLeg ? session.owner : undefined;
    if (leg?.nailed) {
      leg.nailed.repark(leg);
      return;
    }
    runDetached(this.logger, 'BYE', () => session.bye());
  }

  /**
   * Close the media endpoint `leg` is connected to, if any: the leg now talks to a party again,
   * or it ended. Idempotent; a failure to close is logged.
   */
  closeLegMedia(leg: CallLeg): void {
    const endpoint = leg.media;
    if (!endpoint) return;
    leg.media = undefined;
    runDetached(this.logger, 'media endpoint close', () => endpoint.close());
  }

  private finishCall(call: Call): void {
    if (!this.calls.has(call.connId)) return;
    if (call.liveLegs.length > 0) return;
    for (const leg of call.legs) this.closeLegMedia(leg);
    this.calls.delete(call.connId);
    this.journal.closed(call);
    this.ended++;
    const finished = call.onFinished;
    call.onFinished = undefined;
    if (finished) runDetached(this.logger, 'call finished', finished);
    // A device that was busy with this call may take a waiting routed call now.
    if (call.legs.some((l) => l.dn !== undefined)) this.router?.current?.dispatch?.();
  }

  /** BYE every call (shutdown). */
  releaseAll(): void {
    for (const call of [...this.calls.values()]) this.releaseCall(call);
  }
}
