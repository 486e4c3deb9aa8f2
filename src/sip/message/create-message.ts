/** Building new requests and responses (RFC 3261 §8.1.1, §8.2.6). */
import type { HeaderField, SipRequest } from './types.js';
import { headerKey } from './header-names.js';
import { SipRequestMessage } from './sip-request-message.js';
import { SipResponseMessage } from './sip-response-message.js';
import { reasonPhrase } from './reason-phrases.js';
import { generateTag } from './generate-ids.js';
import { getParam } from './sip-syntax.js';

/** Input of {@link createRequest}. */
export interface CreateRequestInit {
  method: string;
  /** Request-URI as text. */
  uri: string;
  /** Header lines in the order they are to be written; Content-Length is added on serialisation. */
  headers: HeaderField[];
  body?: Buffer | string;
}

/** Build a request from its parts (RFC 3261 §8.1.1); the caller supplies the mandatory headers. */
export function createRequest(init: CreateRequestInit): SipRequestMessage {
  const body =
    init.body === undefined
      ? Buffer.alloc(0)
      : typeof init.body === 'string'
        ? Buffer.from(init.body, 'utf8')
        : init.body;
  return new SipRequestMessage(
    init.method,
    init.uri,
    init.headers.map((h) => ({ name: h.name, value: h.value })),
    body,
  );
}

/** Options of {@link createResponse}. */
export interface CreateResponseOptions {
  /**
   * To tag to add when the request's To has none (RFC 3261 §8.2.6.2): a string, or `true` for a
   * fresh random tag. Not added to 100 Trying unless asked.
   */
  toTag?: string | true;
  /** Extra header lines appended after the copied ones. */
  headers?: HeaderField[];
  body?: Buffer | string;
}

const EMPTY = Buffer.alloc(0);

/** Headers a response copies from its request (RFC 3261 §8.2.6.2), in the request's order. */
const COPIED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);

/** Methods whose out-of-dialog request can establish a dialog (RFC 3261 §12.1; RFC 6665 §4.1, RFC 3515 §2.4.4). */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);

/**
 * Build a response to `req` (RFC 3261 §8.2.6): copies every Via line (same order, same
 * values), From, To, Call-ID and CSeq, plus Timestamp in a 100 (§8.2.6.1). Adds a To tag
 * when `opts.toTag` is given and the To has none. A 101–299 response to an out-of-dialog request
 * that establishes a dialog (INVITE, SUBSCRIBE, REFER, NOTIFY without a To tag) also copies every
 * Record-Route value, in order (RFC 3261 §12.1.1), so that the peer's in-dialog requests pass
 * through the proxies that record-routed (a Kamailio in front of the server).
 */
export function createResponse(
  req: SipRequest,
  status: number,
  reason?: string,
  opts?: CreateResponseOptions,
): SipResponseMessage {
  const headers: HeaderField[] = [];
  const src: readonly HeaderField[] = req instanceof SipRequestMessage ? req.headerFields : req.headers;
  const copyRecordRoute = status > 100 && status < 300 && DIALOG_CREATING.has(req.method) && !hasToTag(req);
  for (const h of src) {
    const key = headerKey(h.name);
    if (COPIED.has(key) || (status === 100 && key === 'timestamp') || (copyRecordRoute && key === 'record-route')) {
      let value = h.value;
      if (key === 'to' && opts?.toTag !== undefined && !hasToTag(req)) {
        const tag = opts.toTag === true ? generateTag() : opts.toTag;
        value = `${value};tag=${tag}`;
      }
      headers.push({ name: h.name, value });
    }
  }
  if (opts?.headers) for (const h of opts.headers) headers.push({ name: h.name, value: h.value });
  const body =
    opts?.body === undefined ? EMPTY : typeof opts.body === 'string' ? Buffer.from(opts.body, 'utf8') : opts.body;
  const res = new SipResponseMessage(status, reason ?? reasonPhrase(status), headers, body);
  // The Via lines are the request's, unchanged: reuse what was parsed of them (response routing, §18.2.2).
  if (req instanceof SipRequestMessage) res.adoptVias(req);
  return res;
}

function hasToTag(req: SipRequest): boolean {
  try {
    return getParam(req.to.params, 'tag') !== undefined;
  } catch {
    return false;
  }
}
