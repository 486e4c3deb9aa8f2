/**
 * One party of a call as the B2BUA sees it: a SIP leg with its own dialog.
 */
import type { MediaEndpoint } from '../../media/media-server.js';
import { SdpOriginKeeper } from '../../media/sdp-origin-keeper.js';
import type { InviteServerSession } from '../../sip/dialog/invite-server-session.js';
import type { InviteSession } from '../../sip/dialog/invite-session.js';
import type { SipRequest, SipResponse } from '../../sip/message/types.js';

/** An outbound dial in progress on a leg: an INVITE (`outbound-attempt.ts`) or a nailed-up re-INVITE (`nailed-up-attempt.ts`). */
export interface DialAttempt {
  start(): void;
  /** Stop it (CANCEL, or give up a nailed-up re-INVITE); no delegate call follows. */
  cancel(): void;
}

/**
 * The nailed-up line a leg rides on (behaviour §10): when the leg leaves its call it is handed back
 * to the line (re-parked) instead of being BYEd, and its session's end is reported to the line.
 */
export interface NailedUpLegOwner {
  /** The leg left its call (release, transfer): re-park the session; never BYE. */
  repark(leg: CallLeg): void;
  /** The leg's session ended (agent hang-up, failure): the line is down. */
  ended(leg: CallLeg): void;
}

/** Life of a leg. */
export enum LegState {
  /** Outbound INVITE sent / inbound INVITE received, nothing else yet. */
  Dialing = 'Dialing',
  /** 18x seen (outbound) or sent (inbound). */
  Alerting = 'Alerting',
  /** 2xx exchanged. */
  Established = 'Established',
  /** Ended. */
  Released = 'Released',
}

/** A party's SIP leg. */
export class CallLeg {
  private legState = LegState.Dialing;
  private onHold = false;
  /** `performance.now()` when {@link state} or {@link held} last changed (a desktop's call timer). */
  changedAt = performance.now();

  get state(): LegState {
    return this.legState;
  }

  set state(s: LegState) {
    if (s === this.legState) return;
    this.legState = s;
    this.changedAt = performance.now();
  }

  /** The far end is on hold by us (RFC 3264 §8.4). */
  get held(): boolean {
    return this.onHold;
  }

  set held(h: boolean) {
    if (h === this.onHold) return;
    this.onHold = h;
    this.changedAt = performance.now();
  }

  /** The established (or early, inbound) INVITE session. */
  session: InviteSession | undefined;
  /** Inbound leg before our final answer. */
  server: InviteServerSession | undefined;
  /** Outbound leg before its final answer. */
  attempt: DialAttempt | undefined;
  /** Stops the outbound dial in progress (CANCEL) and settles it as cancelled; set by `B2bua.dial`. */
  cancelDial: (() => void) | undefined;
  /** Last SDP we sent on this leg (offer or answer). */
  lastSdpSent: string | undefined;
  /** Last SDP the device sent us. */
  lastSdpReceived: string | undefined;
  /** This leg received the call through a routing point: its events carry `routed` (behaviour §12.2). */
  routed = false;
  /**
   * Outbound leg: the last 18x received while it rings (its To tag names the early dialog, its
   * `Allow-Events` what the device accepts, RFC 6665 §8.2.2); kept until the answer.
   */
  lastProvisional: SipResponse | undefined;
  /**
   * The status of the last 18x without SDP sent to this leg's caller (an incoming leg): the
   * same again, without SDP, is not repeated.
   */
  plainProgressSent: number | undefined;
  /**
   * The media endpoint this leg's device is connected to now instead of another party (music on
   * hold, ringback, silence; behaviour §6), set by call control; closed when the leg is connected
   * to a party again or ends ({@link B2bua.closeLegMedia}).
   */
  media: MediaEndpoint | undefined;
  /** Handler for the next ACK on this leg (late-offer answers, RFC 3264 §4). */
  onNextAck: ((ack: SipRequest) => void) | undefined;
  /** Set when this leg is a customer call's use of a nailed-up connection (behaviour §10). */
  nailed: NailedUpLegOwner | undefined;

  /**
   * @param dn the internal DN of this party, when it is one (events are reported on it)
   * @param address the party's number as other parties see it (DN, ANI or external number)
   * @param direction `in`: the party called us; `out`: we called it
   * @param origin keeps our `o=` line on this leg's dialog when the far party changes (RFC 3264
   *   §8); a nailed-up connection passes its own, shared by every call it carries
   */
  constructor(
    readonly dn: string | undefined,
    public address: string,
    readonly direction: 'in' | 'out',
    readonly origin = new SdpOriginKeeper(),
  ) {}

  /** SDP to send on this leg for `sdp` coming from another leg (first one passes unchanged). */
  adapt(sdp: string | Buffer | undefined): string | undefined {
    if (sdp === undefined || sdp.length === 0) return undefined;
    const text = typeof sdp === 'string' ? sdp : sdp.toString('utf8');
    let out: string;
    try {
      out = this.origin.adapt(text);
    } catch {
      out = text; // not SDP we can parse: pass as is
    }
    this.lastSdpSent = out;
    return out;
  }

  get released(): boolean {
    return this.state === LegState.Released;
  }
}
