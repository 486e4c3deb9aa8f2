/**
 * What flows between the legs of a call once their dialogs exist (RFC 7092 B2BUA, RFC 3261
 * §12–§14): re-INVITE and UPDATE (RFC 3311) pass offers and answers to the other leg unchanged
 * but for each leg's own `o=` line (RFC 3264 §8), late offers included (RFC 3264 §4: the answer
 * comes back in the ACK); a phone that holds or resumes by itself is reported as EventHeld /
 * EventRetrieved (RFC 3264 §8.4); INFO is relayed (RFC 6086); REFER is never acted on (transfers
 * are the server's, by re-INVITE, behaviour §9). When a leg's session ends the call core decides
 * what happens to the rest of the call.
 */
import { MediaNegotiationError, type MediaEndpoint } from '../../media/media-server.js';
import { directionOf } from '../../media/sdp.js';
import type { UasContext } from '../../sip/dialog/dialog-stack-port.js';
import type { InviteSession, SessionEndReason } from '../../sip/dialog/invite-session.js';
import { runDetached } from '../../util/detached.js';
import type { Logger } from '../../util/logger.js';
import type { Call } from './call.js';
import type { CallEvents } from './call-events.js';
import { LegState, type CallLeg } from './call-leg.js';
import { referEnabled } from './call-options.js';
import type { CallDirectory } from './call-ports.js';

/** Construction options of {@link InDialogRelay}. */
export interface InDialogRelayOptions {
  directory: Pick<CallDirectory, 'effectiveOption'>;
  events: CallEvents;
  logger: Logger;
  /** The session of `leg` ended (BYE received, failure): release what is left of the call. */
  onLegEnded(call: Call, leg: CallLeg, reason: SessionEndReason): void;
  /** A relay step threw or rejected: release the call (B2bua.fault, docs/calls.md "Resilience"). */
  onFault(call: Call, what: string, err: unknown): void;
}

/** Relays in-dialog requests between the legs of a call. */
export class InDialogRelay {
  constructor(private readonly opts: InDialogRelayOptions) {}

  /** Hook a leg's session to the call: BYE, re-INVITE, UPDATE, INFO, REFER relays. */
  watch(call: Call, leg: CallLeg, session: InviteSession): void {
    session.owner = leg;
    const fault = (what: string, err: unknown): void => this.opts.onFault(call, what, err);
    session.delegate = {
      onAck: (ack) => {
        const h = leg.onNextAck;
        leg.onNextAck = undefined;
        try {
          h?.(ack);
        } catch (err) {
          fault('ACK', err);
        }
      },
      onBye: () => {
        this.opts.logger.debug({ connId: call.connId, dn: leg.dn }, 'BYE received');
      },
      onTerminated: (reason: SessionEndReason) => {
        try {
          this.opts.onLegEnded(call, leg, reason);
        } catch (err) {
          fault('leg ended', err);
        }
      },
      onReinvite: (ctx, s) =>
        runDetached(
          this.opts.logger,
          're-INVITE relay',
          () => this.relayReinvite(call, leg, s, ctx),
          (err) => fault('re-INVITE relay', err),
        ),
      onUpdate: (ctx, s) =>
        runDetached(
          this.opts.logger,
          'UPDATE relay',
          () => this.relayUpdate(call, leg, s, ctx),
          (err) => fault('UPDATE relay', err),
        ),
      onRequest: (ctx) => {
        try {
          return this.relayOther(call, leg, ctx);
        } catch (err) {
          fault(`${ctx.request.method} relay`, err);
          return false;
        }
      },
    };
  }

  private async relayReinvite(call: Call, from: CallLeg, session: InviteSession, ctx: UasContext): Promise<void> {
    const endpoint = call.endpointOf?.(from);
    if (endpoint) return this.answerFromEndpoint(call, from, session, ctx, endpoint);
    const to = call.other(from);
    if (!to?.session?.active || to.state !== LegState.Established) {
      // Nobody to relay to (e.g. the other party is being set up): answer with what we last sent.
      if (ctx.request.body.length > 0 && from.lastSdpSent) session.acceptReinvite(ctx, from.lastSdpSent);
      else session.rejectReinvite(ctx, 491, 'Request Pending');
      return;
    }
    const body = ctx.request.body;
    const hasOffer = body.length > 0;
    if (hasOffer) {
      from.lastSdpReceived = body.toString('utf8');
      this.reportPhoneHold(call, from, from.lastSdpReceived);
    }
    const r = await to.session.reinvite(hasOffer ? to.adapt(body) : undefined);
    if (r.status >= 200 && r.status < 300 && r.response) {
      to.lastSdpReceived = r.response.body.length > 0 ? r.response.body.toString('utf8') : to.lastSdpReceived;
      if (!hasOffer && r.ack) {
        const ack = r.ack;
        from.onNextAck = (a) => {
          from.lastSdpReceived = a.body.length > 0 ? a.body.toString('utf8') : from.lastSdpReceived;
          ack(to.adapt(a.body) ?? Buffer.alloc(0));
        };
      }
      session.acceptReinvite(ctx, from.adapt(r.response.body));
    } else {
      session.rejectReinvite(ctx, r.status >= 300 ? r.status : 500, r.response?.reason);
    }
  }

  /**
   * A device whose media ends on our endpoint sends a re-INVITE or an UPDATE (its own hold, a
   * session refresh): the endpoint answers its offer (RFC 3264 §6), or offers when the request
   * has none (the answer then comes in the ACK, RFC 3264 §4); nobody else is disturbed.
   */
  private async answerFromEndpoint(
    call: Call,
    from: CallLeg,
    session: InviteSession,
    ctx: UasContext,
    endpoint: MediaEndpoint,
  ): Promise<void> {
    const update = ctx.request.method === 'UPDATE';
    const body = ctx.request.body;
    let sdp: string | undefined;
    try {
      if (body.length > 0) {
        from.lastSdpReceived = body.toString('utf8');
        this.reportPhoneHold(call, from, from.lastSdpReceived);
        sdp = await endpoint.answer(body);
      } else if (!update) {
        sdp = await endpoint.createOffer();
        from.onNextAck = (a) => {
          if (a.body.length === 0) return;
          from.lastSdpReceived = a.body.toString('utf8');
          runDetached(this.opts.logger, 'endpoint answer', () => endpoint.acceptAnswer(a.body));
        };
      }
    } catch (err) {
      if (!(err instanceof MediaNegotiationError)) throw err;
      if (update) session.answerUpdate(ctx, 488, undefined, 'Not Acceptable Here');
      else session.rejectReinvite(ctx, 488, 'Not Acceptable Here');
      return;
    }
    if (update) session.answerUpdate(ctx, 200, from.adapt(sdp));
    else session.acceptReinvite(ctx, from.adapt(sdp));
  }

  /** EventHeld/EventRetrieved when a phone itself holds or resumes (1pcc, RFC 3264 §8.4). */
  private reportPhoneHold(call: Call, leg: CallLeg, sdp: string): void {
    if (!leg.dn) return;
    let dir;
    try {
      dir = directionOf(sdp);
    } catch {
      return;
    }
    const holding = dir === 'sendonly' || dir === 'inactive';
    if (holding && !leg.held) {
      leg.held = true;
      this.opts.events.emit('EventHeld', call, leg);
    } else if (!holding && leg.held) {
      leg.held = false;
      this.opts.events.emit('EventRetrieved', call, leg);
    }
  }

  private async relayUpdate(call: Call, from: CallLeg, session: InviteSession, ctx: UasContext): Promise<void> {
    const endpoint = call.endpointOf?.(from);
    if (endpoint) return this.answerFromEndpoint(call, from, session, ctx, endpoint);
    const to = call.other(from);
    const body = ctx.request.body;
    if (body.length > 0) {
      from.lastSdpReceived = body.toString('utf8');
      this.reportPhoneHold(call, from, from.lastSdpReceived);
    }
    if (!to?.session?.active) {
      session.answerUpdate(ctx, 200, body.length > 0 ? from.lastSdpSent : undefined);
      return;
    }
    const r = await to.session.update(to.adapt(body) ?? Buffer.alloc(0));
    if (r.status >= 200 && r.status < 300 && r.response)
      session.answerUpdate(ctx, r.status, from.adapt(r.response.body));
    else session.answerUpdate(ctx, r.status >= 300 ? r.status : 500, undefined, r.response?.reason);
  }

  private relayOther(call: Call, from: CallLeg, ctx: UasContext): boolean {
    const m = ctx.request.method;
    if (m === 'REFER') {
      // We never act on REFER: transfers are ours, by re-INVITE (behaviour §9).
      if (from.dn && !referEnabled(this.opts.directory, from.dn)) ctx.reply(403, 'Forbidden (refer-enabled = false)');
      else ctx.reply(405, 'Method Not Allowed', [['Allow', 'INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS']]);
      return true;
    }
    if (m === 'INFO') {
      const to = call.other(from);
      if (!to?.session?.active) {
        ctx.reply(200);
        return true;
      }
      const ct = ctx.request.getHeader('Content-Type');
      const info = to.session.request('INFO', { body: ctx.request.body, contentType: ct, headers: [] });
      runDetached(
        this.opts.logger,
        'relay INFO',
        info.then((r) => ctx.reply(r.status === 408 || r.status === 503 ? 200 : r.status)),
      );
      return true;
    }
    return false;
  }
}
