/**
 * Hold and retrieve of a two-party connection by the server (behaviour §6), shared by
 * `RequestHoldCall` / `RequestRetrieveCall`, the consultations and `RequestAlternateCall`:
 * - the far party hears music: its device is re-INVITEd to a media endpoint playing the
 *   `music-on-hold-file` (`sendonly`, RFC 3264 §8.4); without a media server it gets a `sendonly`
 *   black hole (RFC 3725 §4) and hears silence;
 * - the agent's device: on a single-dialog device (PSTN gateway, nailed-up leg) a re-INVITE to a
 *   silence endpoint, never a hold direction a gateway may take for a hang-up (without a media
 *   server a black hole, no direction); on a two-dialog device (office phone) the usual
 *   `sendonly` black-hole hold;
 * - retrieve reconnects the two devices (offer-less re-INVITE of the agent, RFC 3725 §4) and
 *   closes the endpoints.
 */
import { blackHoleSdp, withDirection } from '../../media/sdp.js';
import { CallControlError } from '../call-control.js';
import type { EventOrigin } from '../events.js';
import type { B2bua } from './b2bua.js';
import type { Call } from './call.js';
import type { CallEvents } from './call-events.js';
import { LegState, type CallLeg } from './call-leg.js';
import { singleDialogOnly } from './call-options.js';
import type { CallDirectory } from './call-ports.js';
import { LegMedia } from './leg-media.js';
import type { ThirdPartyControl } from './third-party-control.js';

/** Construction options of {@link HoldControl}. */
export interface HoldControlOptions {
  calls: B2bua;
  events: CallEvents;
  thirdParty: ThirdPartyControl;
  directory: Pick<CallDirectory, 'effectiveOption'>;
}

const ok = (status: number): boolean => status >= 200 && status < 300;

/** Server-side hold and retrieve. */
export class HoldControl {
  /** Endpoints for the legs (music, ringback, silence). */
  readonly media: LegMedia;

  constructor(private readonly opts: HoldControlOptions) {
    this.media = new LegMedia(opts.calls);
  }

  /** Does `agent`'s device keep a single dialog (behaviour §6, §10.4)? */
  singleDialog(agent: CallLeg): boolean {
    return agent.dn !== undefined && singleDialogOnly(this.opts.directory, agent.dn);
  }

  /**
   * Put `party` on hold with music (or a `sendonly` black hole made from `fallbackSdp` without a
   * media server). Throws `failed` when its device refuses.
   */
  async holdParty(party: CallLeg, fallbackSdp: string | undefined): Promise<void> {
    if (!party.session?.active) throw new CallControlError('invalid-state', 'the party is gone');
    let status = await this.media.connect(party, { kind: 'music' }, true);
    if (status === 0) {
      if (!fallbackSdp) throw new CallControlError('invalid-state', 'no media description to hold');
      const r = await party.session.reinvite(party.adapt(withDirection(blackHoleSdp(fallbackSdp), 'sendonly')));
      if (r.response && ok(r.status) && r.response.body.length > 0)
        party.lastSdpReceived = r.response.body.toString('utf8');
      status = r.status;
    }
    if (!ok(status)) throw new CallControlError('failed', `hold re-INVITE answered ${status}`);
    party.held = true;
  }

  /**
   * Take the agent's device off the held party: silence endpoint (single dialog), black hole
   * (single dialog, no media server), `sendonly` black hole (two dialogs).
   * @returns the final status of the re-INVITE
   */
  async quietAgent(agent: CallLeg, farSdp: string | undefined): Promise<number> {
    if (!agent.session?.active) return 481;
    const single = this.singleDialog(agent);
    if (single) {
      const status = await this.media.connect(agent, { kind: 'silence' });
      if (status !== 0) return status;
    }
    if (!farSdp) return 200;
    const sdp = single ? blackHoleSdp(farSdp) : withDirection(blackHoleSdp(farSdp), 'sendonly');
    const r = await agent.session.reinvite(agent.adapt(sdp));
    if (r.response && ok(r.status) && r.response.body.length > 0)
      agent.lastSdpReceived = r.response.body.toString('utf8');
    return r.status;
  }

  /**
   * `RequestHoldCall` (behaviour §6): `far` hears music, the agent's device is quietened; on a
   * single-dialog device whose gateway refuses that re-INVITE the hold is undone (the parties
   * are reconnected) and the request fails. EventHeld.
   */
  async hold(call: Call, agent: CallLeg, origin: EventOrigin): Promise<void> {
    const far = call.other(agent);
    if (!far?.session?.active || far.state !== LegState.Established || agent.state !== LegState.Established)
      throw new CallControlError('invalid-state', 'call is not established');
    if (agent.held) throw new CallControlError('invalid-state', 'call already held');
    const agentSdp = agent.lastSdpReceived ?? far.lastSdpSent;
    const farSdp = far.lastSdpReceived ?? agent.lastSdpSent;
    if (!agentSdp || !farSdp) throw new CallControlError('invalid-state', 'no media description to hold');
    await this.holdParty(far, agentSdp);
    const status = await this.quietAgent(agent, farSdp);
    if (!ok(status) && this.singleDialog(agent)) {
      await this.undo(call, agent, far);
      throw new CallControlError('failed', `hold re-INVITE to the agent answered ${status}`);
    }
    agent.held = true;
    this.opts.events.emit('EventHeld', call, agent, far.address, origin);
  }

  /**
   * Reconnect `agent` and `far` after a failed step: the endpoints are closed; the call is
   * released when they cannot be reconnected.
   */
  async undo(call: Call, agent: CallLeg, far: CallLeg): Promise<void> {
    const back = await this.opts.thirdParty.reconnect(agent, far);
    far.held = false;
    agent.held = false;
    this.opts.calls.closeLegMedia(far);
    this.opts.calls.closeLegMedia(agent);
    if (!back) this.opts.calls.releaseCall(call);
  }

  /**
   * Reconnect `agent` and `far` (offer-less re-INVITE to the agent, its offer to `far`, the answer
   * in the ACK) and close their endpoints. Throws `failed` when a device refuses.
   */
  async reconnect(agent: CallLeg, far: CallLeg): Promise<void> {
    if (!(await this.opts.thirdParty.reconnect(agent, far)))
      throw new CallControlError('failed', 'reconnect re-INVITE failed');
    this.opts.calls.closeLegMedia(far);
    this.opts.calls.closeLegMedia(agent);
    far.held = false;
    agent.held = false;
  }

  /** `RequestRetrieveCall`: {@link reconnect}, EventRetrieved. */
  async retrieve(call: Call, agent: CallLeg, origin: EventOrigin): Promise<void> {
    const far = call.other(agent);
    if (!agent.held) throw new CallControlError('invalid-state', 'call is not held');
    if (!far?.session?.active) throw new CallControlError('invalid-state', 'no party to retrieve');
    await this.reconnect(agent, far);
    this.opts.events.emit('EventRetrieved', call, agent, far.address, origin);
  }
}
