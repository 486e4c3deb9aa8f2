/**
 * The dial of a customer call's leg over a nailed-up connection (behaviour §10.2 B): what
 * `B2bua.dial` runs instead of an INVITE when the DN is nailed-up. It reports through the same
 * delegate as an INVITE's attempt (`outbound-attempt.ts`) so every flow (routed, direct, transfer target,
 * consultation, make-call) rides the connection unchanged; the work is {@link NailedUpLine.carry}.
 */
import type { InviteSession } from '../../sip/dialog/invite-session.js';
import type { SipResponse } from '../../sip/message/types.js';
import { runDetached } from '../../util/detached.js';
import type { Logger } from '../../util/logger.js';
import type { CallLeg, DialAttempt } from './call-leg.js';
import type { NailedUpLine } from './nailed-up-line.js';
import type { AttemptDelegate, AttemptFailure } from './outbound-attempt.js';

/** One customer call connected over a nailed-up connection. */
export class NailedUpAttempt implements DialAttempt {
  /** The call gave up (caller CANCEL, release, RONA): no delegate call follows. */
  cancelled = false;
  /** This attempt brought the connection up (state `none` at its start): cancelling it stops the connect. */
  ownsConnect = false;
  private settled = false;

  constructor(
    private readonly line: NailedUpLine,
    /** The customer call's leg for the DN. */
    readonly leg: CallLeg,
    /** Ring time of the connect INVITE when the connection must be built first. */
    readonly ringTimeoutMs: number | undefined,
    private readonly delegate: AttemptDelegate,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.ownsConnect = this.line.state === 'none';
    runDetached(
      this.logger,
      'nailed-up call',
      () => this.line.carry(this),
      (err) => this.fail({ kind: 'unreachable', reason: String(err) }),
    );
  }

  cancel(): void {
    if (this.settled) return;
    this.cancelled = true;
    this.settled = true;
    if (this.ownsConnect && this.line.state === 'connecting') this.line.cancelConnect();
  }

  /** The agent's device took the call: auto-answer (EventRinging then EventEstablished, behaviour §10). */
  answered(session: InviteSession, response: SipResponse, ack: ((answer?: string | Buffer) => void) | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.delegate.onAnswered(session, response, ack);
  }

  fail(f: AttemptFailure): void {
    if (this.settled) return;
    this.settled = true;
    this.delegate.onFailed(f);
  }
}
