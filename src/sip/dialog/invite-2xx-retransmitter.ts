/**
 * Retransmission of a 2xx to an INVITE by the UAS core until the ACK arrives
 * (RFC 3261 §13.3.1.4): first after T1, doubling up to T2; give up after 64·T1, after which
 * the UAS should end the dialog with a BYE.
 */
import type { Clock, TimerHandle } from '../../util/clock.js';

/** Timer base values for `Invite2xxRetransmitter` (RFC 3261 §17.1.1.1 defaults 500 ms / 4 s). */
export interface RetransmitTimers {
  t1: number;
  t2: number;
}

/** Drives the 2xx retransmissions of one INVITE (RFC 3261 §13.3.1.4). */
export class Invite2xxRetransmitter {
  private timer: TimerHandle | undefined;
  private giveUpTimer: TimerHandle | undefined;
  private interval: number;
  private done = false;

  /**
   * @param reliable over TCP/TLS/WS nothing is retransmitted, but the 64·T1 ACK wait still applies
   * @param resend puts the same 2xx on the wire again
   * @param onGiveUp no ACK within 64·T1: the dialog should be confirmed and then ended with BYE
   */
  constructor(
    private readonly clock: Clock,
    private readonly timers: RetransmitTimers,
    reliable: boolean,
    private readonly resend: () => void,
    private readonly onGiveUp: () => void,
  ) {
    this.interval = timers.t1;
    if (!reliable) this.timer = clock.setTimeout(() => this.fire(), this.interval);
    this.giveUpTimer = clock.setTimeout(() => this.giveUp(), 64 * timers.t1);
  }

  /** True until the ACK came or we gave up. */
  get active(): boolean {
    return !this.done;
  }

  private fire(): void {
    if (this.done) return;
    this.resend();
    this.interval = Math.min(this.interval * 2, this.timers.t2);
    this.timer = this.clock.setTimeout(() => this.fire(), this.interval);
  }

  private giveUp(): void {
    if (this.done) return;
    this.stop();
    this.onGiveUp();
  }

  /** The ACK arrived (or the dialog ended otherwise): stop everything. */
  stop(): void {
    this.done = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.giveUpTimer);
    this.timer = undefined;
    this.giveUpTimer = undefined;
  }
}
