/**
 * The second dialog of a two-dialog consultation (behaviour §6, `dual-dialog-enabled = true`):
 * the agent's phone is called again for the Consult call, like the origin leg of a make-call
 * (behaviour §8.3: silently, no EventRinging): with the offer of a media endpoint playing
 * ringback when the server has a media server (the agent hears the target ring), else with the
 * no-media offer of RFC 3725 Flow IV (§4.4). The target's offer reaches that dialog by re-INVITE
 * once it answers (`consultation.ts`).
 */
import { noMediaOffer } from '../../media/sdp.js';
import { CallControlError } from '../call-control.js';
import { failureStatus, type B2bua } from './b2bua.js';
import type { Call } from './call.js';
import type { CallLeg } from './call-leg.js';
import type { CallLookup } from './call-lookup.js';
import { ringTimeoutOf } from './call-options.js';
import type { CallDirectory } from './call-ports.js';

/** What {@link callAgentDevice} needs. */
export interface AgentDeviceDeps {
  calls: B2bua;
  lookup: CallLookup;
  directory: Pick<CallDirectory, 'effectiveOption'>;
}

/**
 * INVITE the device of `agent`'s DN for `consult` and wait for its answer; the endpoint that
 * plays ringback becomes the new leg's `media`. Throws `failed` (and releases `consult`, closing
 * the endpoint) when the device does not answer.
 */
export async function callAgentDevice(
  deps: AgentDeviceDeps,
  consult: Call,
  agent: CallLeg,
  number: string,
): Promise<CallLeg> {
  const { calls, lookup, directory } = deps;
  const dn = agent.dn!;
  const endpoint = await calls.media?.createEndpoint(`ringback:${dn}`);
  let answer = '';
  try {
    await endpoint?.play({ kind: 'ringback' });
    const offer = endpoint ? await endpoint.createOffer() : noMediaOffer();
    const r = await calls.dial(consult, {
      dn,
      address: dn,
      targets: lookup.destination(dn).targets,
      fromUser: number,
      silent: true,
      offer,
      ringTimeoutMs: ringTimeoutOf(directory, dn),
      onAnswered: (leg, _session, response) => {
        answer = response.body.toString('utf8');
        leg.lastSdpReceived = answer;
      },
    });
    if (r.kind !== 'answered') {
      const why = r.kind === 'failed' ? `${failureStatus(r.failure).status}` : 'cancelled';
      throw new CallControlError('failed', `the agent's phone did not take the consultation: ${why}`);
    }
    if (endpoint) {
      await endpoint.acceptAnswer(answer);
      r.leg.media = endpoint;
    }
    return r.leg;
  } catch (err) {
    await endpoint?.close();
    calls.releaseCall(consult);
    throw err;
  }
}
