/**
 * The context a request handler receives (UAS side, RFC 3261 §8.2).
 */
import { createResponse, getParam, reasonPhrase } from '../message/index.js';
import type { SipRequest, SipResponse, TransportAddress, Via } from '../message/types.js';
import { SipMessageBaseImpl } from '../message/sip-message-base.js';
import type { ServerTransaction } from '../transaction/transaction-manager.js';
import { TransactionState } from '../transaction/transaction-state.js';
import type { ResponseRoute } from '../transport/transport-layer.js';
import { statelessToTag } from './stateless-tag.js';
import { viaOrigin } from '../message/via-origin.js';

/** Extra header fields for a reply: a list (order kept, repeats allowed) or a record. */
export type ReplyHeaders = Array<[string, string]> | Record<string, string>;

/** Sends responses outside any transaction (the stack implements it). */
export interface StatelessResponder {
  sendResponse(response: SipResponse, route: ResponseRoute): void;
  /** Send the bytes of a response whose top Via is `via`. */
  sendResponseBytes(bytes: Buffer, via: Via, route: ResponseRoute): void;
}

/**
 * One incoming request and the means to answer it. Responses go through the server
 * transaction (`reply`), which absorbs retransmissions and retransmits over UDP; all
 * responses to one request share one To tag (RFC 3261 §8.2.6.2), derived from the request so
 * that a stateless answer to a retransmission is byte-identical (RFC 3261 §8.2.7).
 *
 * The server transaction of a non-INVITE request is created when first needed (`transaction`,
 * `reply`, `send`); the UAS core answers requests nobody claims without one.
 */
export class IncomingRequest {
  private tag: string | undefined;
  /** Made on the first `onCancel` (most requests never have one). */
  private cancelListeners: Array<(cancel: SipRequest) => void> | undefined = undefined;
  private tx: ServerTransaction | undefined;
  private statelessFinal = false;

  constructor(
    readonly request: SipRequest,
    readonly source: TransportAddress,
    tx: ServerTransaction | undefined,
    /** How responses get back to the sender (RFC 3261 §18.2.2). */
    readonly route: ResponseRoute,
    private readonly stateless: StatelessResponder,
    private readonly createTransaction: () => ServerTransaction,
    /** Hosts of the proxies whose Via of the previous hop is believed ({@link origin}). */
    private readonly isTrustedProxy?: (host: string) => boolean,
  ) {
    this.tx = tx;
  }

  private originCache: TransportAddress | undefined;

  /**
   * Where the request came from: {@link source}, or, for a request a trusted proxy relayed (the
   * cluster's Kamailio), the address that proxy received it from (`viaOrigin`). Who the sender
   * is (trust, location match, the registered source) is decided on this; responses still go
   * back by {@link route}.
   */
  get origin(): TransportAddress {
    this.originCache ??= viaOrigin(this.request, this.source, this.isTrustedProxy);
    return this.originCache;
  }

  /** Whether the request was relayed by one of the trusted proxies (`sip-trusted-proxies`: a cluster's Kamailio). */
  get fromTrustedProxy(): boolean {
    return this.isTrustedProxy?.(this.source.host) ?? false;
  }

  /** The server transaction (created now if the request did not have one yet). */
  get transaction(): ServerTransaction {
    this.tx ??= this.createTransaction();
    return this.tx;
  }

  /** Whether a server transaction exists for this request. */
  get hasTransaction(): boolean {
    return this.tx !== undefined;
  }

  /** The To tag our responses carry (taken from the request if it already has one: in-dialog). */
  get toTag(): string {
    if (this.tag === undefined) this.tag = existingToTag(this.request) ?? statelessToTag(this.request);
    return this.tag;
  }

  /** True once a final response went out (the transaction left Trying/Proceeding, or a stateless final was sent). */
  get finalSent(): boolean {
    if (this.statelessFinal) return true;
    if (!this.tx) return false;
    const s = this.tx.state;
    return s !== TransactionState.Trying && s !== TransactionState.Proceeding;
  }

  /**
   * Build a response to this request (RFC 3261 §8.2.6): copies Via, From, To, Call-ID, CSeq,
   * adds our To tag (except on 100) unless the request already had one, then the given headers
   * and body. `toTag` overrides the tag (the 200 to a CANCEL reuses the INVITE's, §9.2).
   */
  createResponse(
    status: number,
    reason?: string,
    headers?: ReplyHeaders,
    body?: Buffer | string,
    toTag?: string,
  ): SipResponse {
    const list = headers === undefined ? [] : Array.isArray(headers) ? headers : Object.entries(headers);
    return createResponse(this.request, status, reason ?? reasonPhrase(status), {
      toTag: status > 100 ? (toTag ?? this.toTag) : undefined,
      headers: list.map(([name, value]) => ({ name, value })),
      body,
    });
  }

  /**
   * Answer through the server transaction (RFC 3261 §17.2). Returns the response, or
   * undefined when the transaction refused it because a final response already went out
   * (e.g. the stack answered 487 to a CANCEL first): a normal race, not an error.
   */
  reply(status: number, reason?: string, headers?: ReplyHeaders, body?: Buffer | string): SipResponse | undefined {
    if (this.finalSent && !(this.transaction.state === TransactionState.Accepted && status >= 200 && status < 300))
      return undefined;
    const res = this.createResponse(status, reason, headers, body);
    if (!this.transaction.respond(res)) return undefined;
    if (status >= 200) this.finalHook?.();
    return res;
  }

  /** Send an already built response through the transaction (e.g. a 2xx built by the dialog layer); false if refused. */
  send(response: SipResponse): boolean {
    if (!this.transaction.respond(response)) return false;
    if (response.status >= 200) this.finalHook?.();
    return true;
  }

  /**
   * @internal Called once a final response went out through the transaction: the stack stops
   * keeping this context for CANCEL matching (an answered INVITE needs only its To tag, which
   * the transaction keeps), so an ended call does not stay in memory for the transaction's 32 s.
   */
  finalHook: (() => void) | undefined = undefined;

  /**
   * Answer without a transaction (RFC 3261 §8.2.7: stateless UAS behaviour): nothing is kept,
   * a retransmitted request is processed again and, having the same To tag, gets the same bytes.
   * A handler that answers a final response this way before returning from the UAS core's
   * dispatch leaves the request without a server transaction (none is created for it). An
   * INVITE comes with its server transaction (made on arrival): a stateless final response
   * before any other response ends it unused, so nothing is retransmitted (no reflection), a
   * retransmitted INVITE is processed again, and the ACK, matching nothing, is dropped.
   */
  replyStateless(status: number, reason?: string, headers?: ReplyHeaders, body?: Buffer | string): void {
    if (status >= 200) {
      this.statelessFinal = true;
      const tx = this.tx;
      if (tx && tx.kind === 'ist' && tx.lastStatus === 0 && tx.state === TransactionState.Proceeding) {
        tx.dispose();
        this.finalHook?.();
      }
    }
    const req = this.request;
    if (!(req instanceof SipMessageBaseImpl)) {
      this.stateless.sendResponse(this.createResponse(status, reason, headers, body), this.route);
      return;
    }
    // Written straight to bytes: no response object (same text `createResponse` would give).
    let text =
      'SIP/2.0 ' +
      status +
      ' ' +
      (reason ?? reasonPhrase(status)) +
      '\r\n' +
      req.responseCopyText(status, status > 100 ? this.toTag : undefined);
    if (headers !== undefined) {
      if (Array.isArray(headers))
        for (let i = 0; i < headers.length; i++) text += headers[i][0] + ': ' + headers[i][1] + '\r\n';
      else for (const name of Object.keys(headers)) text += name + ': ' + headers[name] + '\r\n';
    }
    const bodyBuf = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    text += 'Content-Length: ' + (bodyBuf === undefined ? 0 : bodyBuf.length) + '\r\n\r\n';
    const enc = req.encoding;
    let bytes: Buffer;
    if (bodyBuf === undefined || bodyBuf.length === 0) bytes = Buffer.from(text, enc);
    else {
      const head = Buffer.byteLength(text, enc);
      bytes = Buffer.allocUnsafe(head + bodyBuf.length);
      bytes.write(text, 0, enc);
      bodyBuf.copy(bytes, head);
    }
    this.stateless.sendResponseBytes(bytes, req.via, this.route);
  }

  /** Be told when a CANCEL for this (INVITE) request arrives (RFC 3261 §9.2), before the stack answers 487. */
  onCancel(listener: (cancel: SipRequest) => void): void {
    (this.cancelListeners ??= []).push(listener);
  }

  /** @internal Called by the UAS core when a matching CANCEL arrived. */
  notifyCancel(cancel: SipRequest): void {
    const ls = this.cancelListeners ?? [];
    this.cancelListeners = undefined;
    for (const l of ls) l(cancel);
  }
}

/** The To tag of a request (in-dialog), from the parsed To, or from its text when it does not parse. */
function existingToTag(req: SipRequest): string | undefined {
  let tag: string | null | undefined;
  try {
    tag = getParam(req.to.params, 'tag');
  } catch {
    const m = TO_TAG_RE.exec(headerParamsPart(req.getHeader('To') ?? ''));
    return m ? m[1] : undefined;
  }
  return tag ? tag : undefined;
}

const TO_TAG_RE = /;\s*tag\s*=\s*([^;\s,>]+)/i;
/** The part of a name-addr value where header parameters live (after `>` when brackets are used). */
function headerParamsPart(v: string): string {
  const gt = v.lastIndexOf('>');
  return gt < 0 ? v : v.slice(gt);
}
