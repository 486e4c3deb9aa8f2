/**
 * A SIP dialog: the peer-to-peer relationship an INVITE creates (RFC 3261 §12).
 *
 * Holds exactly the state RFC 3261 §12.1 lists (Call-ID, tags, local and remote CSeq, local and
 * remote URI, remote target, route set, secure flag) and builds in-dialog requests from it
 * (RFC 3261 §12.2.1.1), including the ACK for a 2xx (RFC 3261 §13.2.2.4). It does no I/O.
 */
import type { HeaderField, SipRequest, SipResponse } from '../message/types.js';
import { detachedString } from '../transaction/transaction-key.js';
import { tagOf, dialogKey, type DialogId } from './dialog-id.js';
import { isLooseRoute, requestUriFromRoute, uriOfNameAddr } from './dialog-route.js';
import type { DialogRequestOptions, DialogRequestSpec } from './dialog-request.js';
import { DialogState, type DialogRole } from './dialog-state.js';

/** Errors that map to a SIP status the caller should answer with. */
export class DialogError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DialogError';
  }
}

/** Methods whose requests (and 2xx) refresh the remote target (RFC 3261 §12.2, RFC 3311 §5.1, RFC 6665 §4.1.2.2). */
const TARGET_REFRESH = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

/** The body of an ACK without one: shared (ACKs are kept 32 s to answer 2xx retransmissions). */
const NO_BODY = Buffer.alloc(0);

/** Max-Forwards for requests we originate (RFC 3261 §8.1.1.6). */
const MAX_FORWARDS = '70';

/** Everything needed to construct a `Dialog` directly (tests, restores). */
export interface DialogInit {
  role: DialogRole;
  state: DialogState;
  id: DialogId;
  localSeq: number | undefined;
  remoteSeq: number | undefined;
  /** Our From value for requests we send, including our tag. */
  localHeader: string;
  /** Our To value for requests we send, including the remote tag. */
  remoteHeader: string;
  remoteTarget: string;
  routeSet: string[];
  secure: boolean;
  /** Contact value we put in target-refresh requests, e.g. `<sip:b2bua@127.0.0.1:5060>`. */
  localContact: string;
}

/**
 * The fields of a sent INVITE that a dialog created by one of its responses needs
 * (RFC 3261 §12.1.2), kept apart from the message (strings copied, not slices of its text).
 */
export interface UacInviteParts {
  readonly callId: string;
  /** Our From tag. */
  readonly localTag: string;
  readonly cseq: number;
  /** Our From header value (with the tag). */
  readonly localHeader: string;
  /** The Request-URI (remote target when the response has no Contact). */
  readonly uri: string;
}

/** The {@link UacInviteParts} of an INVITE we sent. @throws DialogError without a From tag. */
export function uacInviteParts(request: SipRequest): UacInviteParts {
  const localTag = tagOf(request.from.params);
  if (!localTag) throw new DialogError(0, 'request without From tag');
  return {
    callId: detachedString(request.callId),
    localTag: detachedString(localTag),
    cseq: request.cseq.seq,
    localHeader: detachedString(request.getHeader('From') ?? ''),
    uri: detachedString(request.uri),
  };
}

/** Random initial CSeq for a UAS-side dialog: below 2**31 (RFC 3261 §8.1.1.5); small to leave room. */
function initialCseq(): number {
  return 1 + Math.floor(Math.random() * 10_000);
}

function contactUri(msg: SipRequest | SipResponse): string | undefined {
  const c = msg.contacts[0];
  return c ? c.uri.raw : undefined;
}

function withTag(headerValue: string, tag: string): string {
  return `${headerValue};tag=${tag}`;
}

/** A dialog (RFC 3261 §12). */
export class Dialog {
  state: DialogState;
  readonly role: DialogRole;
  readonly id: DialogId;
  /** Last CSeq number we used, `undefined` until we send a request (RFC 3261 §12.1.1). */
  localSeq: number | undefined;
  /** Last CSeq number received from the peer (RFC 3261 §12.2.2). */
  remoteSeq: number | undefined;
  readonly localHeader: string;
  remoteHeader: string;
  remoteTarget: string;
  routeSet: string[];
  readonly secure: boolean;
  localContact: string;

  /** Strings are copied: header values cut from a message would keep its whole text alive as long as the dialog. */
  constructor(init: DialogInit) {
    this.role = init.role;
    this.state = init.state;
    this.id = {
      callId: detachedString(init.id.callId),
      localTag: detachedString(init.id.localTag),
      remoteTag: detachedString(init.id.remoteTag),
    };
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.localHeader = detachedString(init.localHeader);
    this.remoteHeader = detachedString(init.remoteHeader);
    this.remoteTarget = detachedString(init.remoteTarget);
    this.routeSet = init.routeSet.map(detachedString);
    this.secure = init.secure;
    this.localContact = init.localContact;
  }

  /**
   * UAC side: a dialog from our request and a 1xx (with To tag) or 2xx response (RFC 3261 §12.1.2).
   * The route set is the response's Record-Route in reverse order; the remote target its Contact.
   * @throws DialogError when the response has no To tag (it cannot create a dialog).
   */
  static createUac(request: SipRequest, response: SipResponse, localContact: string): Dialog {
    if (!tagOf(response.to.params)) throw new DialogError(0, 'response without To tag creates no dialog');
    return Dialog.createUacFromParts(uacInviteParts(request), response, localContact);
  }

  /** {@link createUac} from the INVITE's {@link UacInviteParts} (the message itself may be gone). */
  static createUacFromParts(invite: UacInviteParts, response: SipResponse, localContact: string): Dialog {
    const remoteTag = tagOf(response.to.params);
    if (!remoteTag) throw new DialogError(0, 'response without To tag creates no dialog');
    const target = contactUri(response) ?? invite.uri;
    const state = response.status >= 200 ? DialogState.Confirmed : DialogState.Early;
    return new Dialog({
      role: 'uac',
      state,
      id: { callId: invite.callId, localTag: invite.localTag, remoteTag },
      localSeq: invite.cseq,
      remoteSeq: undefined,
      localHeader: invite.localHeader,
      remoteHeader: response.getHeader('To') ?? '',
      remoteTarget: target,
      routeSet: response.getHeaders('Record-Route').reverse(),
      secure: invite.uri.toLowerCase().startsWith('sips:'),
      localContact,
    });
  }

  /**
   * UAS side: a dialog from a received dialog-creating request and the To tag we chose
   * (RFC 3261 §12.1.1). Route set = Record-Route in order; remote target = Contact.
   * @throws DialogError(400) when the request lacks a Contact (RFC 3261 §8.1.1.8) — a dialog needs one.
   */
  static createUas(request: SipRequest, localTag: string, localContact: string, early = false): Dialog {
    const remoteTag = tagOf(request.from.params) ?? '';
    const target = contactUri(request);
    if (!target) throw new DialogError(400, 'Missing Contact');
    return new Dialog({
      role: 'uas',
      state: early ? DialogState.Early : DialogState.Confirmed,
      id: { callId: request.callId, localTag, remoteTag },
      localSeq: undefined,
      remoteSeq: request.cseq.seq,
      localHeader: withTag(request.getHeader('To') ?? '', localTag),
      remoteHeader: request.getHeader('From') ?? '',
      remoteTarget: target,
      routeSet: request.getHeaders('Record-Route'),
      secure: request.uri.toLowerCase().startsWith('sips:'),
      localContact,
    });
  }

  /** Map key (Call-ID + local tag + remote tag). */
  get key(): string {
    return dialogKey(this.id);
  }

  /**
   * The dialog's state as plain data (RFC 3261 §12.1 fields), from which `new Dialog(init)`
   * builds it again: kept elsewhere (another process of a cluster) so that the dialog can still
   * be ended when the process that held it is gone.
   */
  snapshot(): DialogInit {
    return {
      role: this.role,
      state: this.state,
      id: { ...this.id },
      localSeq: this.localSeq,
      remoteSeq: this.remoteSeq,
      localHeader: this.localHeader,
      remoteHeader: this.remoteHeader,
      remoteTarget: this.remoteTarget,
      routeSet: [...this.routeSet],
      secure: this.secure,
      localContact: this.localContact,
    };
  }

  /** True when our side generated the Call-ID: the UAC of the dialog (used by RFC 3261 §14.1 glare timing). */
  get ownsCallId(): boolean {
    return this.role === 'uac';
  }

  /**
   * UAC: a 2xx for the INVITE that created this early dialog arrived: confirm it and recompute the
   * route set and remote target from the 2xx (RFC 3261 §13.2.2.4, §12.1.2).
   */
  confirm(response: SipResponse): void {
    if (this.state === DialogState.Early && this.role === 'uac') {
      this.routeSet = response.getHeaders('Record-Route').reverse().map(detachedString);
    }
    const target = contactUri(response);
    if (target) this.remoteTarget = detachedString(target);
    const to = response.getHeader('To');
    if (this.role === 'uac' && to) this.remoteHeader = detachedString(to);
    this.state = DialogState.Confirmed;
  }

  /**
   * A target-refresh request received, or a 2xx to one we sent: replace the remote target with
   * its Contact (RFC 3261 §12.2.1.2, §12.2.2; RFC 3311 §5.2 for UPDATE).
   */
  refreshTarget(msg: SipRequest | SipResponse, method: string): void {
    if (!TARGET_REFRESH.has(method)) return;
    const target = contactUri(msg);
    if (target) this.remoteTarget = detachedString(target);
  }

  /**
   * Check and record the CSeq of an in-dialog request from the peer (RFC 3261 §12.2.2): lower than
   * the remote sequence number → 500. ACK and CANCEL carry the CSeq of the request they relate
   * to and are not checked.
   * @throws DialogError(500) for an out-of-order request.
   */
  acceptRemoteRequest(request: SipRequest): void {
    if (request.method === 'ACK' || request.method === 'CANCEL') return;
    const seq = request.cseq.seq;
    if (this.remoteSeq !== undefined && seq <= this.remoteSeq) {
      throw new DialogError(500, 'CSeq out of order');
    }
    this.remoteSeq = seq;
  }

  /** Next CSeq for a new request (RFC 3261 §12.2.1.1: local sequence number + 1; empty → random). */
  nextLocalSeq(): number {
    this.localSeq = this.localSeq === undefined ? initialCseq() : this.localSeq + 1;
    return this.localSeq;
  }

  /** Request-URI, Route headers and next hop from the route set and remote target (RFC 3261 §12.2.1.1). */
  private routing(): { uri: string; routes: string[]; nextHop: string } {
    if (this.routeSet.length === 0) {
      return { uri: this.remoteTarget, routes: [], nextHop: this.remoteTarget };
    }
    const first = this.routeSet[0]!;
    if (isLooseRoute(first)) {
      return { uri: this.remoteTarget, routes: [...this.routeSet], nextHop: uriOfNameAddr(first) };
    }
    // Strict router: first route becomes the Request-URI, remote target goes last in Route.
    return {
      uri: requestUriFromRoute(first),
      routes: [...this.routeSet.slice(1), `<${this.remoteTarget}>`],
      nextHop: requestUriFromRoute(first),
    };
  }

  private baseHeaders(method: string, seq: number): { uri: string; headers: HeaderField[]; nextHop: string } {
    const r = this.routing();
    const headers: HeaderField[] = [];
    for (const route of r.routes) headers.push({ name: 'Route', value: route });
    headers.push({ name: 'Max-Forwards', value: MAX_FORWARDS });
    headers.push({ name: 'From', value: this.localHeader });
    headers.push({ name: 'To', value: this.remoteHeader });
    headers.push({ name: 'Call-ID', value: this.id.callId });
    headers.push({ name: 'CSeq', value: `${seq} ${method}` });
    return { uri: r.uri, headers, nextHop: r.nextHop };
  }

  /**
   * Build a new in-dialog request (RFC 3261 §12.2.1.1): To = remote URI + remote tag, From = local
   * URI + local tag, same Call-ID, CSeq = local sequence + 1, Route from the route set, Request-URI
   * from the remote target (or the first route with a strict router), Contact for target refreshes.
   * @throws DialogError when the dialog is terminated.
   */
  createRequest(method: string, opts: DialogRequestOptions = {}): DialogRequestSpec {
    if (this.state === DialogState.Terminated) throw new DialogError(481, 'dialog terminated');
    const seq = this.nextLocalSeq();
    const base = this.baseHeaders(method, seq);
    if (opts.contact ?? TARGET_REFRESH.has(method)) {
      base.headers.push({ name: 'Contact', value: this.localContact });
    }
    for (const h of opts.headers ?? []) base.headers.push(h);
    const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : (opts.body ?? Buffer.alloc(0));
    if (body.length > 0) base.headers.push({ name: 'Content-Type', value: opts.contentType ?? 'application/sdp' });
    return { method, uri: base.uri, headers: base.headers, body, nextHop: base.nextHop };
  }

  /**
   * The ACK for a 2xx to an INVITE with CSeq `inviteSeq` (RFC 3261 §13.2.2.4): same CSeq number
   * with method ACK, built like any in-dialog request (route set, remote target), carrying the
   * answer when the INVITE had no offer (late offer, RFC 3264 §4).
   */
  createAck(inviteSeq: number, body?: Buffer | string, contentType = 'application/sdp'): DialogRequestSpec {
    const base = this.baseHeaders('ACK', inviteSeq);
    const buf = typeof body === 'string' ? Buffer.from(body) : (body ?? NO_BODY);
    if (buf.length > 0) base.headers.push({ name: 'Content-Type', value: contentType });
    return { method: 'ACK', uri: base.uri, headers: base.headers, body: buf, nextHop: base.nextHop };
  }

  /** True when an incoming request belongs to this dialog (RFC 3261 §12.2.2: Call-ID, To tag = local, From tag = remote). */
  matches(request: SipRequest): boolean {
    return (
      request.callId === this.id.callId &&
      tagOf(request.to.params) === this.id.localTag &&
      (tagOf(request.from.params) ?? '') === this.id.remoteTag
    );
  }

  /** End the dialog (RFC 3261 §15: BYE sent or received, or the session failed). */
  terminate(): void {
    this.state = DialogState.Terminated;
  }
}
