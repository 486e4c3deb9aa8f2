/**
 * One nailed-up connection (behaviour §10): the long-lived INVITE dialog with an agent's device
 * that carries many customer calls, with the state machine of behaviour §10.1
 * (`none → connecting → parked ⇄ active → none`).
 *
 * - Connect: one INVITE to the agent's device (`nailed-up-connect.ts`, per
 *   `make-call-rfc3725-flow`, behaviour §8).
 * - Park: the dialog's SDP points at a park device (`park-point.ts`): a media endpoint playing
 *   silence (`gcti::park`), or without a media server a black hole (RFC 3725 §4).
 * - A customer call rides the dialog by re-INVITE ({@link NailedUpLine.carry}); when it leaves
 *   the call the leg is re-parked by re-INVITE ({@link NailedUpLine.repark}), never BYEd.
 * - The agent's BYE ends the connection (state `none`); logout, `disconnect-nailedup-timeout` and
 *   the device going out of service end it with our BYE ({@link NailedUpLine.hangUp}).
 */
import type { MediaServer } from '../../media/media-server.js';
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
import { disconnectNailedUpTimeoutMs } from './call-options.js';
import type { CallDirectory, CallReachability } from './call-ports.js';
import { NailedUpAttempt } from './nailed-up-attempt.js';
import { AgentConnect } from './nailed-up-connect.js';
import type { AttemptDelegate, AttemptFailure } from './outbound-attempt.js';
import { ParkPoint, refuseOffer } from './park-point.js';

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

/** One agent DN's nailed-up connection. */
export class NailedUpLine implements NailedUpDialer, NailedUpLegOwner {
  /** One `o=` line for everything we send on the connection's dialogs (RFC 3264 §8). */
  readonly origin = new SdpOriginKeeper();
  private current: NailedUpState = 'none';
  private session: InviteSession | undefined;
  /** The softswitch the connection goes through (OOS of it ends the connection, behaviour §10.4). */
  private via: string | undefined;
  /** The park device while parked. */
  private point: ParkPoint | undefined;
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
    return this.point?.holdsEndpoint ? 1 : 0;
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
    const c = new AgentConnect(this.deps, this.dn, this.origin, ringTimeoutMs);
    this.cancelConnecting = () => c.cancel();
    const out = await c.run();
    this.cancelConnecting = undefined;
    if (out.kind === 'failed') {
      this.deps.logger.info({ dn: this.dn, failure: out.failure.kind }, 'nailed-up connection not made');
      this.down('connect failed');
      return out.failure;
    }
    this.session = out.session;
    this.point = out.point;
    this.via = out.via;
    this.watchParked(out.session);
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
        this.point?.close();
        this.point = undefined;
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
        ack(this.origin.adapt(await this.parkDevice().answer(response.body)));
        this.parked();
      } catch {
        ack(refuseOffer(response.body));
        this.hangUp('no usable offer from the agent');
      }
      return;
    }
    await this.reparkNow(session);
  }

  // ------------------------------------------------------------------ leave a call

  /** {@link NailedUpLegOwner.repark}: the call is over for this leg; re-INVITE it to a new park device. */
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
    // Reported parked at once (the call is over for the DN); a call arriving meanwhile waits for it.
    this.stopIdleTimer();
    this.setState('parked');
    runDetached(this.deps.logger, 'nailed-up re-park', () => this.reparkNow(session));
  }

  /** {@link park}, as the re-park a new call waits for. */
  private reparkNow(session: InviteSession): Promise<void> {
    const p = this.park(session);
    this.reparking = p;
    return p.finally(() => {
      if (this.reparking === p) this.reparking = undefined;
    });
  }

  /** {@link NailedUpLegOwner.ended}: the agent hung up while on a call (behaviour §10.2 E). */
  ended(leg: CallLeg): void {
    if (leg !== this.leg) return;
    this.leg = undefined;
    this.session = undefined;
    this.down('agent hung up');
  }

  /** Re-INVITE the dialog to a fresh park device; a refusal or timeout ends the connection. */
  private async park(session: InviteSession): Promise<void> {
    const point = await this.openPoint();
    const offer = this.origin.adapt(await point.offer());
    if (!session.active || this.session !== session) {
      point.close();
      return;
    }
    const r = await session.reinvite(offer);
    if (r.status >= 200 && r.status < 300 && r.response && this.session === session) {
      try {
        await point.acceptAnswer(r.response.body);
      } catch (err) {
        this.deps.logger.warn({ dn: this.dn, err }, 'park answer not usable');
      }
      this.point?.close();
      this.point = point;
      this.parked();
      return;
    }
    point.close();
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
    this.point?.close();
    this.point = undefined;
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
          const point = this.parkDevice();
          const sdp = offer.length === 0 ? await point.offer() : await point.answer(offer);
          s.acceptReinvite(ctx, this.origin.adapt(sdp));
        }),
    };
  }

  /** The current park device (a black hole when there is none, e.g. while a re-park is under way). */
  private parkDevice(): ParkPoint {
    return this.point ?? ParkPoint.blackHole(this.deps.logger);
  }

  private openPoint(): Promise<ParkPoint> {
    return ParkPoint.open(this.deps.media, `park ${this.dn}`, this.deps.logger);
  }

  private setState(s: NailedUpState): void {
    if (this.current === s) return;
    this.current = s;
    this.deps.onState?.(this.dn, s);
  }
}
