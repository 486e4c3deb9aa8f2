/**
 * One nailed-up connection (behaviour §10): the long-lived INVITE dialog with an agent's device
 * that carries many customer calls, with the state machine of behaviour §10.1
 * (`none → connecting → parked ⇄ active → none`).
 *
 * - Connect: INVITE to the agent's device (reachability candidates, `agent-phone` included)
 *   following `make-call-rfc3725-flow` (behaviour §8): `1` = no SDP, the 200's offer answered in
 *   the ACK by the park endpoint; otherwise the park endpoint's offer in the INVITE.
 * - Park: the dialog's SDP points at a media endpoint playing silence (`gcti::park`); without a
 *   media server, at a black hole (RFC 3725 §4).
 * - A customer call rides the dialog by re-INVITE ({@link NailedUpLine.carry}); when it leaves
 *   the call the leg is re-parked by re-INVITE ({@link NailedUpLine.repark}), never BYEd.
 * - The agent's BYE ends the connection (state `none`); logout, `disconnect-nailedup-timeout` and
 *   the device going out of service end it with our BYE ({@link NailedUpLine.hangUp}).
 */
import type { MediaEndpoint, MediaServer } from '../../media/media-server.js';
import { blackHoleSdp, noMediaOffer, rejectAllAnswer } from '../../media/sdp.js';
import { SdpOriginKeeper } from '../../media/sdp-origin-keeper.js';
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { InviteSession } from '../../sip/dialog/invite-session.js';
import type { SipResponse } from '../../sip/message/types.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { runDetached } from '../../util/detached.js';
import type { Logger } from '../../util/logger.js';
import type { NailedUpDialer } from './b2bua.js';
import type { Call } from './call.js';
import type { CallLeg, DialAttempt, NailedUpLegOwner } from './call-leg.js';
import { disconnectNailedUpTimeoutMs, tryingTimeoutOf, usesMakeCallFlow1 } from './call-options.js';
import type { CallDirectory, CallReachability } from './call-ports.js';
import { NailedUpAttempt } from './nailed-up-attempt.js';
import { OutboundAttempt, type AttemptDelegate, type AttemptFailure } from './outbound-attempt.js';

/** State of a nailed-up connection (behaviour §10.1, §10.3: the `nailed-up` extension). */
export type NailedUpState = 'none' | 'connecting' | 'parked' | 'active';

/** What a {@link NailedUpLine} needs. */
export interface NailedUpLineDeps {
  ua: DialogUserAgent;
  reachability: CallReachability;
  directory: Pick<CallDirectory, 'effectiveOption' | 'getDn'>;
  clock: Clock;
  logger: Logger;
  media?: MediaServer;
  /** Called on every state change. */
  onState?: (dn: string, state: NailedUpState) => void;
}

/** The calling number the agent's device sees for the connection itself. */
const PARK_CALLER = 'park';

/** One agent DN's nailed-up connection. */
export class NailedUpLine implements NailedUpDialer, NailedUpLegOwner {
  /** One `o=` line for everything we send on the connection's dialogs (RFC 3264 §8). */
  readonly origin = new SdpOriginKeeper();
  private current: NailedUpState = 'none';
  private session: InviteSession | undefined;
  /** The softswitch the connection goes through (OOS of it ends the connection, behaviour §10.4). */
  private via: string | undefined;
  /** The park endpoint while parked (none without a media server). */
  private endpoint: MediaEndpoint | undefined;
  private connecting: Promise<AttemptFailure | undefined> | undefined;
  private cancelConnecting: (() => void) | undefined;
  private reparking: Promise<void> | undefined;
  /** The call leg riding the connection while `active` (or being connected). */
  private leg: CallLeg | undefined;
  private idleTimer: TimerHandle | undefined;
  /** Logout while a call rides the connection: hang up once the call leaves it. */
  private hangUpWhenFree = false;

  constructor(
    readonly dn: string,
    private readonly deps: NailedUpLineDeps,
  ) {}

  get owner(): NailedUpLegOwner {
    return this;
  }

  /** The state of behaviour §10.1. */
  get state(): NailedUpState {
    return this.current;
  }

  /** The softswitch DN the connection runs through, if any. */
  get route(): string | undefined {
    return this.via;
  }

  /** Media endpoints this line holds open (0 or 1). */
  get openEndpoints(): number {
    return this.endpoint ? 1 : 0;
  }

  /** {@link NailedUpDialer.attempt}: a customer call for the DN rides this connection. */
  attempt(call: Call, leg: CallLeg, ringTimeoutMs: number | undefined, delegate: AttemptDelegate): DialAttempt {
    void call;
    return new NailedUpAttempt(this, leg, ringTimeoutMs, delegate, this.deps.logger);
  }

  // ------------------------------------------------------------------ connect

  /**
   * Bring the connection up (state `none` → `connecting` → `parked`); resolves with the failure,
   * or undefined once parked (also when it was up already). A connect in progress is shared.
   */
  connect(ringTimeoutMs?: number): Promise<AttemptFailure | undefined> {
    if (this.connecting) return this.connecting;
    if (this.current !== 'none') return Promise.resolve(undefined);
    this.hangUpWhenFree = false;
    this.setState('connecting');
    const p = this.dialAgent(ringTimeoutMs);
    this.connecting = p;
    void p.finally(() => {
      if (this.connecting === p) this.connecting = undefined;
    });
    return p;
  }

  /** Stop a connect in progress (the call that wanted it went away): CANCEL, state `none`. */
  cancelConnect(): void {
    this.cancelConnecting?.();
  }

  private async dialAgent(ringTimeoutMs: number | undefined): Promise<AttemptFailure | undefined> {
    const { ua, reachability, directory, logger } = this.deps;
    const targets = reachability.candidates(this.dn);
    const flow1 = usesMakeCallFlow1(directory, this.dn);
    let cancelled = false;
    this.cancelConnecting = () => {
      cancelled = true;
    };
    const endpoint = await this.openEndpoint();
    const offer = flow1 ? undefined : this.origin.adapt(endpoint ? await endpoint.createOffer() : noMediaOffer());
    if (cancelled) {
      this.closeEndpoint(endpoint);
      this.down('connect cancelled');
      return { kind: 'unreachable', reason: 'cancelled' };
    }
    return new Promise<AttemptFailure | undefined>((resolve) => {
      const attempt = new OutboundAttempt(
        ua,
        reachability,
        {
          targets,
          fromUser: PARK_CALLER,
          offer,
          ringTimeoutMs,
          tryingTimeoutMs: (t) => tryingTimeoutOf(directory, this.dn, t.via),
        },
        {
          onAnswered: (session, r, ackAnswer) => {
            this.cancelConnecting = undefined;
            this.via = attempt.current?.via;
            runDetached(
              logger,
              'nailed-up connect',
              () => this.connected(session, r, endpoint, ackAnswer).then(resolve),
              (err) => {
                this.closeEndpoint(endpoint);
                this.hangUp('connect failed');
                resolve({ kind: 'unreachable', reason: String(err) });
              },
            );
          },
          onFailed: (f) => {
            this.cancelConnecting = undefined;
            this.closeEndpoint(endpoint);
            logger.info({ dn: this.dn, failure: f.kind }, 'nailed-up connection: the agent did not answer');
            this.down('connect failed');
            resolve(f);
          },
        },
      );
      this.cancelConnecting = () => {
        this.cancelConnecting = undefined;
        attempt.cancel();
        this.closeEndpoint(endpoint);
        this.down('connect cancelled');
        resolve({ kind: 'unreachable', reason: 'cancelled' });
      };
      attempt.start();
    });
  }

  /** The agent answered the connection: answer its offer (Flow I) or take its answer, then park. */
  private async connected(
    session: InviteSession,
    r: SipResponse,
    endpoint: MediaEndpoint | undefined,
    ackAnswer: ((answer: string | Buffer) => void) | undefined,
  ): Promise<AttemptFailure | undefined> {
    if (ackAnswer) {
      let answer: string;
      try {
        answer = endpoint ? await endpoint.answer(r.body) : blackHoleSdp(r.body, true);
      } catch (err) {
        ackAnswer(rejectAllAnswerSafe(r.body));
        this.closeEndpoint(endpoint);
        this.session = session;
        this.hangUp('no usable offer from the agent');
        return { kind: 'unreachable', reason: String(err) };
      }
      ackAnswer(this.origin.adapt(answer));
    } else if (endpoint) {
      await endpoint.acceptAnswer(r.body);
    }
    this.session = session;
    this.endpoint = endpoint;
    this.watchParked(session);
    this.parked();
    this.deps.logger.info({ dn: this.dn, via: this.via }, 'nailed-up connection parked');
    return undefined;
  }

  // ------------------------------------------------------------------ carry a call

  /**
   * Connect a customer call's leg over the parked connection (behaviour §10.2 B): re-INVITE with
   * the leg's offer (`leg.lastSdpSent`; none: offer-less re-INVITE, the agent's offer goes to the
   * customer and the answer comes back in the ACK). A connection in state `none` is connected
   * first (the legacy form's first call). 488 and other refusals leave the connection parked;
   * a timeout or a vanished dialog ends it (BYE).
   */
  async carry(a: NailedUpAttempt): Promise<void> {
    if (this.leg) return a.fail({ kind: 'unreachable', reason: 'nailed-up connection busy' });
    this.leg = a.leg;
    try {
      if (this.current === 'none' || this.current === 'connecting') {
        const f = await this.connect(a.ringTimeoutMs);
        if (f) return a.fail(f);
      }
      if (this.reparking) await this.reparking;
      if (a.cancelled) return;
      const session = this.session;
      if (this.current !== 'parked' || !session?.active)
        return a.fail({ kind: 'unreachable', reason: 'nailed-up connection down' });
      this.setState('active');
      this.stopIdleTimer();
      const r = await session.reinvite(a.leg.lastSdpSent);
      if (r.status >= 200 && r.status < 300 && r.response) {
        if (a.cancelled) return await this.backToPark(session, r.response, r.ack);
        this.closeEndpoint(this.endpoint);
        this.endpoint = undefined;
        a.answered(session, r.response, r.ack);
        return;
      }
      if (!session.active || r.status === 408 || r.status === 481) {
        this.leg = undefined;
        this.hangUp(`re-INVITE failed (${r.status})`);
        return a.fail({ kind: 'timeout' });
      }
      // Refused (488…): the dialog still points at the park device (RFC 3261 §14.1).
      this.parked();
      return a.fail(
        r.response
          ? { kind: 'rejected', status: r.status, reason: r.response.reason, response: r.response }
          : { kind: 'unreachable', reason: `re-INVITE failed (${r.status})` },
      );
    } finally {
      if (this.leg === a.leg && this.current !== 'active') this.leg = undefined;
    }
  }

  /** The customer left while the re-INVITE was under way: point the dialog back at park. */
  private async backToPark(
    session: InviteSession,
    response: SipResponse,
    ack: ((answer?: string | Buffer) => void) | undefined,
  ): Promise<void> {
    this.leg = undefined;
    if (ack) {
      // Offer-less re-INVITE: the agent's offer is answered by the park device in the ACK.
      try {
        ack(
          this.origin.adapt(
            this.endpoint ? await this.endpoint.answer(response.body) : blackHoleSdp(response.body, true),
          ),
        );
        this.parked();
      } catch {
        ack(rejectAllAnswerSafe(response.body));
        this.hangUp('no usable offer from the agent');
      }
      return;
    }
    await this.park(session);
  }

  // ------------------------------------------------------------------ leave a call

  /** {@link NailedUpLegOwner.repark}: the call is over for this leg; re-INVITE it to a new park endpoint. */
  repark(leg: CallLeg): void {
    if (leg !== this.leg) return;
    this.leg = undefined;
    const session = this.session;
    if (!session?.active) {
      this.down('session gone');
      return;
    }
    this.watchParked(session);
    if (this.hangUpWhenFree) {
      this.hangUp('logged out');
      return;
    }
    const p = this.park(session);
    this.reparking = p;
    runDetached(this.deps.logger, 'nailed-up re-park', () =>
      p.finally(() => {
        if (this.reparking === p) this.reparking = undefined;
      }),
    );
  }

  /** {@link NailedUpLegOwner.ended}: the agent hung up while on a call (behaviour §10.2 E). */
  ended(leg: CallLeg): void {
    if (leg !== this.leg) return;
    this.leg = undefined;
    this.session = undefined;
    this.down('agent hung up');
  }

  /** Re-INVITE the dialog to a fresh park endpoint; a refusal or timeout ends the connection. */
  private async park(session: InviteSession): Promise<void> {
    const endpoint = await this.openEndpoint();
    const offer = this.origin.adapt(endpoint ? await endpoint.createOffer() : noMediaOffer());
    if (!session.active || this.session !== session) {
      this.closeEndpoint(endpoint);
      return;
    }
    const r = await session.reinvite(offer);
    if (r.status >= 200 && r.status < 300 && r.response && this.session === session) {
      try {
        await endpoint?.acceptAnswer(r.response.body);
      } catch (err) {
        this.deps.logger.warn({ dn: this.dn, err }, 'park answer not usable');
      }
      this.closeEndpoint(this.endpoint);
      this.endpoint = endpoint;
      this.parked();
      return;
    }
    this.closeEndpoint(endpoint);
    this.hangUp(`re-park refused (${r.status})`);
  }

  // ------------------------------------------------------------------ end

  /**
   * End the connection with our BYE (logout, `disconnect-nailedup-timeout`, out of service):
   * state `none`. `whenFree`: a call riding it finishes first (logout during a call).
   */
  hangUp(reason: string, whenFree = false): void {
    if (whenFree && this.leg) {
      this.hangUpWhenFree = true;
      return;
    }
    if (this.current === 'connecting') {
      this.cancelConnect();
      return;
    }
    const session = this.session;
    this.session = undefined;
    // A call riding the connection learns of our BYE through its own session handlers.
    if (session?.active) runDetached(this.deps.logger, 'nailed-up BYE', () => session.bye());
    if (!this.leg) this.down(reason);
  }

  private down(reason: string): void {
    this.stopIdleTimer();
    this.closeEndpoint(this.endpoint);
    this.endpoint = undefined;
    this.session = undefined;
    this.via = undefined;
    this.hangUpWhenFree = false;
    if (this.current !== 'none') this.deps.logger.info({ dn: this.dn, reason }, 'nailed-up connection down');
    this.setState('none');
  }

  // ------------------------------------------------------------------ parked state

  private parked(): void {
    this.setState('parked');
    this.stopIdleTimer();
    const ms = disconnectNailedUpTimeoutMs(this.deps.directory, this.dn);
    if (ms > 0) this.idleTimer = this.deps.clock.setTimeout(() => this.hangUp('disconnect-nailedup-timeout'), ms);
  }

  private stopIdleTimer(): void {
    if (this.idleTimer) this.deps.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** While parked the dialog is ours: the agent's BYE ends it, its re-INVITE is answered by park. */
  private watchParked(session: InviteSession): void {
    session.owner = this;
    session.delegate = {
      onTerminated: () => {
        if (this.session === session && !this.leg) this.down('agent hung up');
      },
      onReinvite: (ctx, s) =>
        runDetached(this.deps.logger, 'nailed-up re-INVITE', async () => {
          const offer = ctx.request.body;
          if (offer.length === 0) return s.acceptReinvite(ctx, this.origin.adapt(await this.parkOffer()));
          const answer = this.endpoint ? await this.endpoint.answer(offer) : blackHoleSdp(offer, true);
          s.acceptReinvite(ctx, this.origin.adapt(answer));
        }),
    };
  }

  private async parkOffer(): Promise<string> {
    return this.endpoint ? this.endpoint.createOffer() : noMediaOffer();
  }

  private async openEndpoint(): Promise<MediaEndpoint | undefined> {
    const media = this.deps.media;
    if (!media) return undefined;
    const e = await media.createEndpoint(`park ${this.dn}`);
    await e.play({ kind: 'silence' });
    return e;
  }

  private closeEndpoint(e: MediaEndpoint | undefined): void {
    if (e) runDetached(this.deps.logger, 'close park endpoint', () => e.close());
  }

  private setState(s: NailedUpState): void {
    if (this.current === s) return;
    this.current = s;
    this.deps.onState?.(this.dn, s);
  }
}

/** The answer refusing every stream of `offer` (RFC 3264 §6), or nothing when it is no SDP. */
function rejectAllAnswerSafe(offer: Buffer): string | Buffer {
  try {
    return rejectAllAnswer(offer);
  } catch {
    return Buffer.alloc(0);
  }
}
