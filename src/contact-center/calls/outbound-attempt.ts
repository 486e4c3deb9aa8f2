/**
 * One outbound INVITE towards a party, with softswitch failover (behaviour §3.3) and a ring
 * timer (`sip-invite-timeout`, behaviour §14).
 */
import type { Deliverable } from '../../reachability/reachability-types.js';
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { InviteClientSession } from '../../sip/dialog/invite-client-session.js';
import type { InviteSession } from '../../sip/dialog/invite-session.js';
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

  /** Stop ringing (CANCEL, RFC 3261 §9.1). No delegate call follows. */
  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    this.ua.clock.clearTimeout(this.ringTimer);
    this.client?.cancel();
  }

  private onRingTimeout(): void {
    if (this.finished) return;
    this.client?.cancel();
    this.finish({ kind: 'no-answer' });
  }

  private finish(f: AttemptFailure): void {
    if (this.finished) return;
    this.finished = true;
    this.ua.clock.clearTimeout(this.ringTimer);
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
    const invite = this.buildInvite(target);
    const client = this.ua.createInvite(invite, target.dest, {
      onProgress: (r) => {
        if (!this.finished && this.client === client) this.delegate.onProgress?.(r);
      },
      onAccepted: (session, r, ackAnswer) => {
        if (this.client !== client) return;
        if (this.finished) {
          // Answered after we gave up (ring timeout raced the 2xx): ACK then BYE.
          ackAnswer?.(Buffer.alloc(0));
          runDetached(this.ua.logger, 'BYE', () => session.bye());
          return;
        }
        this.finished = true;
        this.ua.clock.clearTimeout(this.ringTimer);
        this.delegate.onAnswered(session, r, ackAnswer);
      },
      onRejected: (r) => {
        if (this.client !== client || this.finished) return;
        if (isDeviceFailure(r.status) && this.failover(target, '503')) return;
        this.finish({ kind: 'rejected', status: r.status, reason: r.reason, response: r });
      },
      onFailed: (kind) => {
        if (this.client !== client || this.finished) return;
        if (this.failover(target, kind)) return;
        this.finish(kind === 'timeout' ? { kind: 'timeout' } : { kind: 'transport-error' });
      },
    });
    this.client = client;
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
    this.ua.logger.info({ failed: device, kind, next: this.spec.targets[this.index]?.via }, 'INVITE failed at the device: failing over');
    this.tryTarget();
    return true;
  }
}
