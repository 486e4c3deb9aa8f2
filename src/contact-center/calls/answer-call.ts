/**
 * `RequestAnswerCall` (behaviour §9, §10): the server can make only two kinds of device answer.
 * - A phone that listed `talk` in the `Allow-Events` of its 18x (RFC 6665 §8.2.2) on a DN whose
 *   `sip-cti-control` contains `talk`: a NOTIFY with `Event: talk` in the early dialog of that
 *   18x (the BroadSoft/Genesys remote-answer convention: in the INVITE's dialog, no SUBSCRIBE);
 *   the phone then answers the INVITE and the dial path reports EventEstablished as for any answer.
 * - A call on a nailed-up connection is answered at once (behaviour §10): the request succeeds
 *   with no effect.
 * Anything else (a PSTN phone, a phone without `talk`) is `not-supported`, the documented
 * EventError; a call already answered (not nailed-up) is `invalid-state`.
 */
import { CallControlError } from '../call-control.js';
import { LegState, type CallLeg } from './call-leg.js';
import type { CallLookup } from './call-lookup.js';
import { ctiControls } from './call-options.js';
import type { CallDirectory } from './call-ports.js';
import { OutboundAttempt } from './outbound-attempt.js';

/** True when a `Allow-Events` header value lists `event` (RFC 6665 §8.2.2: tokens, case-insensitive). */
export function allowsEvent(allowEvents: readonly string[], event: string): boolean {
  return allowEvents.some((v) => v.split(',').some((t) => t.trim().split(';')[0]!.toLowerCase() === event));
}

function answered(leg: CallLeg): boolean {
  return leg.state === LegState.Established;
}

/** `RequestAnswerCall`. */
export class AnswerCall {
  constructor(
    private readonly lookup: CallLookup,
    private readonly directory: Pick<CallDirectory, 'effectiveOption'>,
  ) {}

  /**
   * Answer call `connId` ringing on `thisDN`. Resolves once the phone accepted the NOTIFY (the
   * answer itself is reported by EventEstablished), or at once on a nailed-up connection; rejects
   * with `not-supported` when the device cannot be answered remotely, `invalid-state` when
   * ThisDN is not being rung, `failed` when the phone refused the NOTIFY.
   */
  async answer(thisDN: string, connId: string): Promise<void> {
    const { leg } = this.lookup.legOf(thisDN, connId);
    if (leg.nailed) return; // a nailed-up connection answers every call at once (behaviour §10)
    if (leg.state === LegState.Established)
      throw new CallControlError('invalid-state', `call ${connId} is already answered on ${thisDN}`);
    const attempt = leg.attempt;
    if (leg.direction !== 'out' || !(attempt instanceof OutboundAttempt))
      throw new CallControlError('invalid-state', `${thisDN} is not being rung in call ${connId}`);
    const ringing = leg.lastProvisional;
    const dn = leg.dn ?? thisDN;
    if (!ctiControls(this.directory, dn, 'talk'))
      throw new CallControlError('not-supported', `RequestAnswerCall needs sip-cti-control = talk on ${dn}`);
    if (!ringing || !allowsEvent(ringing.getHeaders('Allow-Events'), 'talk'))
      throw new CallControlError('not-supported', `the device of ${dn} did not offer the talk event in its 18x`);
    const r = await attempt.requestInEarlyDialog(ringing, 'NOTIFY', {
      headers: [
        { name: 'Event', value: 'talk' },
        { name: 'Subscription-State', value: 'active' },
      ],
    });
    if ((r.status >= 200 && r.status < 300) || answered(leg)) return; // answered meanwhile: fine too
    throw new CallControlError('failed', `the device of ${dn} answered the talk NOTIFY with ${r.status}`);
  }
}
