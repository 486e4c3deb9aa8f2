/**
 * One outbound INVITE towards a party, with softswitch failover (behaviour §3.3), a ring timer
 * (`sip-invite-timeout`, behaviour §14) and a trying timer per route (`sip-trying-timeout`,
 * behaviour §4, §14): a route that sends no provisional response at all within it is failed over
 * like a Timer B timeout (without waiting 32 s); an INVITE with only 100 Trying when it expires,
 * or with no route left, ends as `no-response` (the caller then goes to `no-response-dn` or is
 * released).
 */
import type { Deliverable } from '../../reachability/reachability-types.js';
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { InviteClientSession } from '../../sip/dialog/invite-client-session.js';
import type { DialogRequestOptions } from '../../sip/dialog/dialog-request.js';
import type { InDialogResult, InviteSession } from '../../sip/dialog/invite-session.js';
import { createRequest, generateCallId, generateTag, parseNameAddr } from '../../sip/message/index.js';
import type { HeaderField, SipResponse } from '../../sip/message/types.js';
import type { TimerHandle } from '../../util/clock.js';
import { runDetached } from '../../util/detached.js';
import type { CallReachability } from './call-ports.js';

/** How an attempt ended without an answer. */
export type AttemptFailure =
  | { kind: 'rejected'; status: number; reason: string; response: SipResponse }
  | { kind: 'timeout' }
  | { kind: 'transport-error' }
  | { kind: 'no-answer' }
  /** `sip-trying-timeout` expired with no provisional response but 100 Trying (behaviour §14). */
  | { kind: 'no-response' }
  | { kind: 'unreachable'; reason: string };

/** What the owner hears. */
export interface AttemptDelegate {
  onProgress?(response: SipResponse): void;
  /** Answered. With a late offer (no `body` in the spec) the TU must call `ackAnswer`. */
  onAnswered(session: InviteSession, response: SipResponse, ackAnswer?: (answer: string | Buffer) => void): void;
  onFailed(failure: AttemptFailure): void;
}

/** What to dial. */
export interface AttemptSpec {
  /** Routes in order of preference (reachability `candidates`); the first is tried first. */
  targets: Deliverable[];
  /** Calling party user part (ANI) and display name. */
  fromUser: string;
  fromDisplay?: string;
  /** The SDP offer; none = late offer (RFC 3264 §4: the 2xx carries the offer). */
  offer?: string;
  /** Ring time before giving up with `no-answer`; 0/undefined = none (Timer B still applies). */
  ringTimeoutMs?: number;
  /** Max-Forwards of the INVITE: the caller's value minus one (loop protection across legs), default 70. */
  maxForwards?: number;
  /** How many further targets to try after a device failure (behaviour §3.3: once). */
  maxFailovers?: number;
  /**
   * `sip-trying-timeout` of a route in ms (behaviour §4, §14); 0 or undefined = none (Timer B
   * alone). Runs from the INVITE until an 18x or a final response.
   */
  tryingTimeoutMs?: (target: Deliverable) => number | undefined;
  headers?: Array<[string, string]>;
}

/** Escape a user part (RFC 3261 §25.1: unreserved / escaped / user-unreserved). */
function escapeUser(user: string): string {
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** Device failures that move to the next route (behaviour §3.3); 4xx/6xx never do. */
function isDeviceFailure(status: number): boolean {
  return status === 503;
}

/** Dials one party. */
export class OutboundAttempt {
  private index = 0;
  private failovers = 0;
  private client: InviteClientSession | undefined;
  private ringTimer: TimerHandle | undefined;
  private tryingTimer: TimerHandle | undefined;
  /** The current route sent a provisional response (100 included). */
  private proceeding = false;
  private finished = false;
  /** The route that answered (or the last tried). */
  current: Deliverable | undefined;

  constructor(
    private readonly ua: DialogUserAgent,
    private readonly reachability: CallReachability,
    private readonly spec: AttemptSpec,
    private readonly delegate: AttemptDelegate,
  ) {}

  /** Send the first INVITE (asynchronous outcome through the delegate). */
  start(): void {
    if (this.spec.targets.length === 0) {
      this.finish({ kind: 'unreachable', reason: 'no route' });
      return;
    }
    if (this.spec.ringTimeoutMs && this.spec.ringTimeoutMs > 0) {
      this.ringTimer = this.ua.clock.setTimeout(() => this.onRingTimeout(), this.spec.ringTimeoutMs);
    }
    this.tryTarget();
  }

  /**
   * Send `method` in the early dialog of `provisional`, a 1xx of the INVITE ringing now (e.g.
   * NOTIFY `Event: talk`, behaviour §9); 481 once the attempt is over.
   */
  requestInEarlyDialog(provisional: SipResponse, method: string, opts?: DialogRequestOptions): Promise<InDialogResult> {
    if (this.finished || !this.client) return Promise.resolve({ status: 481 });
    return this.client.requestInEarlyDialog(provisional, method, opts);
  }

  /** Stop ringing (CANCEL, RFC 3261 §9.1). No delegate call follows. */
  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    this.ua.clock.clearTimeout(this.ringTimer);
    this.stopTryingTimer();
    this.client?.cancel();
  }

  private onRingTimeout(): void {
    if (this.finished) return;
    this.client?.cancel();
    this.finish({ kind: 'no-answer' });
  }

  private stopTryingTimer(): void {
    this.ua.clock.clearTimeout(this.tryingTimer);
    this.tryingTimer = undefined;
  }

  /**
   * `sip-trying-timeout` expired for `client` (behaviour §14): no provisional response at all →
   * the route is failed over like a Timer B timeout; only 100 Trying, or no route left →
   * `no-response`. The abandoned INVITE is CANCELled (once it has a provisional response,
   * RFC 3261 §9.1); should it still be answered, its 2xx is ACKed and BYEd.
   */
  private onTryingTimeout(target: Deliverable, client: InviteClientSession): void {
    this.tryingTimer = undefined;
    if (this.finished || this.client !== client) return;
    client.cancel();
    this.ua.logger.info(
      { target: target.target, via: target.via, proceeding: this.proceeding },
      'sip-trying-timeout expired',
    );
    if (!this.proceeding && this.failover(target, 'timeout')) return;
    this.finish({ kind: 'no-response' });
  }

  private finish(f: AttemptFailure): void {
    if (this.finished) return;
    this.finished = true;
    this.ua.clock.clearTimeout(this.ringTimer);
    this.stopTryingTimer();
    this.delegate.onFailed(f);
  }

  private buildInvite(target: Deliverable) {
    const contact = this.ua.stack.localContact(target.dest);
    let host = '127.0.0.1';
    try {
      const u = parseNameAddr(contact).uri;
      host = u.port ? `${u.host}:${u.port}` : u.host;
    } catch {
      /* keep default */
    }
    const display = this.spec.fromDisplay ? `"${this.spec.fromDisplay.replace(/["\\]/g, '')}" ` : '';
    const headers: HeaderField[] = [
      { name: 'Max-Forwards', value: String(this.spec.maxForwards ?? 70) },
      { name: 'From', value: `${display}<sip:${escapeUser(this.spec.fromUser)}@${host}>;tag=${generateTag()}` },
      { name: 'To', value: `<${target.target}>` },
      { name: 'Call-ID', value: generateCallId() },
      { name: 'CSeq', value: `1 INVITE` },
      { name: 'Contact', value: contact },
      { name: 'Allow', value: 'INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS' },
    ];
    for (const [name, value] of this.spec.headers ?? []) headers.push({ name, value });
    if (this.spec.offer) headers.push({ name: 'Content-Type', value: 'application/sdp' });
    return createRequest({ method: 'INVITE', uri: target.target, headers, body: this.spec.offer });
  }

  private tryTarget(): void {
    const target = this.spec.targets[this.index];
    if (!target) {
      this.finish({ kind: 'unreachable', reason: 'no route left' });
      return;
    }
    this.current = target;
    this.proceeding = false;
    this.stopTryingTimer();
    const invite = this.buildInvite(target);
    const client = this.ua.createInvite(invite, target.dest, {
      onTrying: () => {
        if (this.client === client) this.proceeding = true;
      },
      onProgress: (r) => {
        if (this.finished || this.client !== client) return;
        this.stopTryingTimer();
        this.delegate.onProgress?.(r);
      },
      onAccepted: (session, r, ackAnswer) => {
        if (this.finished || this.client !== client) {
          // Answered after we gave up (ring timeout raced the 2xx, or a route abandoned at its
          // sip-trying-timeout answers late): ACK then BYE.
          ackAnswer?.(Buffer.alloc(0));
          runDetached(this.ua.logger, 'BYE', () => session.bye());
          return;
        }
        this.finished = true;
        this.ua.clock.clearTimeout(this.ringTimer);
        this.stopTryingTimer();
        this.delegate.onAnswered(session, r, ackAnswer);
      },
      onRejected: (r) => {
        if (this.client !== client || this.finished) return;
        this.stopTryingTimer();
        if (isDeviceFailure(r.status) && this.failover(target, '503')) return;
        this.finish({ kind: 'rejected', status: r.status, reason: r.reason, response: r });
      },
      onFailed: (kind) => {
        if (this.client !== client || this.finished) return;
        this.stopTryingTimer();
        if (this.failover(target, kind)) return;
        this.finish(kind === 'timeout' ? { kind: 'timeout' } : { kind: 'transport-error' });
      },
    });
    this.client = client;
    const tryingMs = this.spec.tryingTimeoutMs?.(target);
    if (tryingMs !== undefined && tryingMs > 0)
      this.tryingTimer = this.ua.clock.setTimeout(() => this.onTryingTimeout(target, client), tryingMs);
    try {
      client.send();
    } catch (err) {
      this.ua.logger.warn({ err, target: target.target }, 'INVITE could not be sent');
      if (!this.failover(target, 'transport-error')) this.finish({ kind: 'transport-error' });
    }
  }

  /** Report the device failure and move to the next route if allowed. */
  private failover(target: Deliverable, kind: 'timeout' | 'transport-error' | '503'): boolean {
    const device = target.via ?? target.target;
    this.reachability.reportInviteFailure?.(device, kind);
    const max = this.spec.maxFailovers ?? 1;
    if (this.failovers >= max || this.index + 1 >= this.spec.targets.length) return false;
    this.failovers++;
    this.index++;
    this.ua.logger.info(
      { failed: device, kind, next: this.spec.targets[this.index]?.via },
      'INVITE failed at the device: failing over',
    );
    this.tryTarget();
    return true;
  }
}
