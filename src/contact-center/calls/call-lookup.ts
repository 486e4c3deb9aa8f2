/**
 * How CTI requests name what they act on (interfaces §4): a DN or number as the desktop typed it
 * (normalised, interfaces §2), a call by ConnID and the live party of a DN in it, and a
 * destination's agent DN and routes (behaviour §3).
 */
import { isAgentDnType } from '../../config/config-model.js';
import { CallControlError } from '../call-control.js';
import type { B2bua } from './b2bua.js';
import { CallState, type Call } from './call.js';
import type { CallLeg } from './call-leg.js';
import type { CallDirectory, CallReachability } from './call-ports.js';
import type { Destination } from './third-party-control.js';

/** Lookups shared by the CTI call flows. */
export class CallLookup {
  constructor(
    private readonly calls: Pick<B2bua, 'getCall'>,
    private readonly directory: CallDirectory,
    private readonly reachability: Pick<CallReachability, 'candidates'>,
  ) {}

  /** The DN's number when `raw` names a DN, else `raw` normalised. */
  dnNumber(raw: string): string {
    return this.directory.getDn(raw)?.number ?? this.directory.normaliseNumber(raw);
  }

  /** The live call `connId` and the live leg of `thisDN` in it; CallControlError when there is none. */
  legOf(thisDN: string, connId: string): { call: Call; leg: CallLeg } {
    const call = this.calls.getCall(connId);
    if (!call || call.state === CallState.Released) throw new CallControlError('unknown-conn-id', `no call ${connId}`);
    const leg = call.legOfDn(this.dnNumber(thisDN));
    if (!leg) throw new CallControlError('invalid-state', `${thisDN} is not a party of call ${connId}`);
    return { call, leg };
  }

  /** Routes and DN status of a destination: an agent DN's own routes or a number's softswitches. */
  destination(number: string): Destination {
    const d = this.directory.getDn(number);
    const dn = d && isAgentDnType(d.type) ? d.number : undefined;
    return { dn, targets: this.reachability.candidates(d?.number ?? number) };
  }
}
