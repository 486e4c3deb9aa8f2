/**
 * The UAS core (RFC 3261 §8.2): checks every new request, answers what the stack answers on
 * its own (OPTIONS, CANCEL, unclaimed requests) and hands the rest to registered handlers.
 */
import { checkRequest, STANDARD_METHODS, type RequestCaps } from '../message/index.js';
import type { SipRequest } from '../message/types.js';
import type { Logger } from '../../util/logger.js';
import type { IncomingRequest } from './incoming-request.js';

/**
 * A request handler. Return `true` to claim the request (the handler then answers it, now or
 * later, through `ctx.reply`); `false` to let the next handler (or the core's default) have it.
 */
export type RequestHandler = (ctx: IncomingRequest) => boolean;

/** An INVITE already answered with a final response: a CANCEL for it only gets 200 with its To tag (RFC 3261 §9.2). */
export interface AnsweredInvite {
  readonly answered: true;
  readonly toTag: string;
  readonly finalSent: true;
}

/** What a CANCEL refers to: the INVITE's context while unanswered, or what is left of an answered one. */
export type CancelTarget = IncomingRequest | AnsweredInvite;

/** Finds what a CANCEL refers to (RFC 3261 §9.2). */
export type CancelTargetLookup = (cancel: SipRequest) => CancelTarget | undefined;

/** Capabilities the core advertises (OPTIONS, RFC 3261 §11.2) and checks (§8.2.2). */
export interface UasCoreOptions {
  logger: Logger;
  /** Option tags we support (Supported, and the Require check of §8.2.2.3). Default none. */
  supported?: string[];
  /** Body types we accept (Accept in OPTIONS answers). Default `application/sdp`. */
  accept?: string[];
  /** Request-URI schemes accepted (§8.2.2.1). Default sip, sips, tel. */
  schemes?: string[];
  /** Extra headers on every response the core writes itself (e.g. `Server`). */
  serverHeader?: string;
}

/**
 * Per request, in this order:
 * 1. `checkRequest` (RFC 3261 §8.2.1–§8.2.3): 505, 400, 501 + Allow, 416, 420 + Unsupported.
 *    The method list it checks against is every standard method (so a known method nobody
 *    handles gets 404 below, not 501) plus the methods with handlers.
 * 2. CANCEL (RFC 3261 §9.2): 481 when no INVITE transaction matches; otherwise 200, the INVITE's
 *    context hears `onCancel`, and if it still has no final response it gets 487.
 * 3. Handlers registered for the method, then for `*`, in registration order, until one claims.
 * 4. Unclaimed OPTIONS: 200 with Allow, Accept, Supported (RFC 3261 §11.2). Max-Forwards 0 is
 *    fine: we are the target (§11).
 * 5. Anything else unclaimed: 404 for standard methods, 501 + Allow for others.
 * ACK never gets here: the transaction layer absorbs non-2xx ACKs and the stack passes 2xx
 * ACKs to its `onAck` delegate (or drops them).
 * What the core answers itself for a non-INVITE request (steps 1, 4, 5) is sent statelessly
 * (RFC 3261 §8.2.7), and so is the step-1 verdict on any request that cannot form a transaction
 * (no Via, From, To, Call-ID or CSeq: the transaction layer made none, so one answer, no retransmission); a claimed request gets a server transaction at once, unless its handler
 * already sent a final response statelessly (`ctx.replyStateless`).
 */
export class UasCore {
  private readonly handlers = new Map<string, RequestHandler[]>();
  private readonly caps: RequestCaps;
  private readonly logger: Logger;
  private readonly accept: string[];
  private readonly supported: string[];
  private readonly serverHeader: string | undefined;
  private allowValue = '';

  constructor(opts: UasCoreOptions) {
    this.logger = opts.logger;
    this.supported = opts.supported ?? [];
    this.accept = opts.accept ?? ['application/sdp'];
    this.serverHeader = opts.serverHeader;
    this.caps = { methods: [], supported: this.supported, schemes: opts.schemes ?? ['sip', 'sips', 'tel'] };
    this.refreshMethods();
  }

  /** Register a handler for a method (case-sensitive, RFC 3261 §7.1) or `*`. Returns an unregister function. */
  handle(method: string, handler: RequestHandler): () => void {
    const list = this.handlers.get(method) ?? [];
    list.push(handler);
    this.handlers.set(method, list);
    this.refreshMethods();
    return () => {
      const l = this.handlers.get(method);
      if (!l) return;
      const i = l.indexOf(handler);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0) this.handlers.delete(method);
      this.refreshMethods();
    };
  }

  /** The methods we answer in Allow: those with handlers plus OPTIONS, ACK, CANCEL (and BYE/INVITE only if handled). */
  get allowedMethods(): string[] {
    const set = new Set(['OPTIONS', 'ACK', 'CANCEL']);
    for (const m of this.handlers.keys()) if (m !== '*') set.add(m);
    return [...set];
  }

  private refreshMethods(): void {
    const methods = new Set(STANDARD_METHODS);
    for (const m of this.handlers.keys()) if (m !== '*') methods.add(m);
    this.caps.methods = [...methods];
    this.allowValue = this.allowedMethods.join(', ');
  }

  /** Process one new request (not ACK). */
  dispatch(ctx: IncomingRequest, findCancelTarget: CancelTargetLookup): void {
    const req = ctx.request;
    const verdict = checkRequest(req, this.caps);
    if (verdict) {
      this.logger.debug(
        { source: ctx.source, status: verdict.status, detail: verdict.detail },
        'request refused by checks',
      );
      const extra: Array<[string, string]> = (verdict.headers ?? []).map((h) => [
        h.name,
        h.name.toLowerCase() === 'allow' ? this.allowValue : h.value,
      ]);
      // Without a transaction (a request that cannot form one: no Call-ID, From, To or CSeq) the
      // verdict goes out once, statelessly, whatever the method (RFC 3261 §8.2.7): no reflection.
      this.reply(ctx, verdict.status, verdict.reason, extra, undefined, !ctx.hasTransaction);
      return;
    }
    const method = req.method;
    if (method === 'CANCEL') {
      this.cancel(ctx, findCancelTarget);
      return;
    }
    if (this.runHandlers(ctx, this.handlers.get(method)) || this.runHandlers(ctx, this.handlers.get('*'))) {
      // A claimed request is the handler's to answer, maybe later: from now on its
      // retransmissions are absorbed by the server transaction (RFC 3261 §17.2.2). A handler
      // that already answered statelessly (`ctx.replyStateless`, RFC 3261 §8.2.7) gets none:
      // a retransmission is then processed again, as an unclaimed request's would be.
      if (!ctx.finalSent) void ctx.transaction;
      return;
    }
    if (method === 'OPTIONS') {
      this.reply(ctx, 200, 'OK', [
        ['Allow', this.allowValue],
        ['Accept', this.accept.join(', ')],
        ['Accept-Encoding', 'identity'],
        ['Accept-Language', 'en'],
        ['Supported', this.supported.join(', ')],
      ]);
      return;
    }
    if (STANDARD_METHODS.has(method)) this.reply(ctx, 404, 'Not Found');
    else this.reply(ctx, 501, 'Not Implemented', [['Allow', this.allowValue]]);
  }

  private runHandlers(ctx: IncomingRequest, list: RequestHandler[] | undefined): boolean {
    if (!list) return false;
    for (const h of list) {
      let claimed: boolean;
      try {
        claimed = h(ctx);
      } catch (err) {
        this.logger.error({ err, method: ctx.request.method }, 'request handler threw');
        if (!ctx.finalSent) this.reply(ctx, 500, 'Server Internal Error');
        return true;
      }
      if (claimed) return true;
    }
    return false;
  }

  /** RFC 3261 §9.2. */
  private cancel(ctx: IncomingRequest, findCancelTarget: CancelTargetLookup): void {
    const target = findCancelTarget(ctx.request);
    if (!target) {
      this.reply(ctx, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    // The 200 to the CANCEL carries the To tag of the INVITE's responses (§9.2).
    this.reply(ctx, 200, 'OK', undefined, target.toTag);
    if ('answered' in target || target.finalSent) return;
    target.notifyCancel(ctx.request);
    if (!target.finalSent) this.reply(target, 487, 'Request Terminated');
  }

  /**
   * Answer a request on the core's behalf. A non-INVITE request no handler took (so it has no
   * transaction yet) is answered statelessly (RFC 3261 §8.2.7): the answer is a pure function
   * of the request, its To tag a hash of it, so a retransmission gets the same bytes and
   * nothing is held for 64·T1. INVITE (ACK absorption, timer G) and CANCEL stay stateful.
   */
  private reply(
    ctx: IncomingRequest,
    status: number,
    reason: string,
    headers?: Array<[string, string]>,
    toTag?: string,
    stateless = false,
  ): void {
    const hs = headers ?? [];
    if (this.serverHeader) hs.push(['Server', this.serverHeader]);
    try {
      const method = ctx.request.method;
      if (stateless || (!ctx.hasTransaction && method !== 'INVITE' && method !== 'CANCEL')) {
        ctx.replyStateless(status, reason, hs);
        return;
      }
      const res = ctx.createResponse(status, reason, hs, undefined, toTag);
      ctx.send(res);
    } catch (err) {
      this.logger.debug(
        { err: err instanceof Error ? err.message : String(err), status },
        'could not send core response',
      );
    }
  }
}
