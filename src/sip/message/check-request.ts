/**
 * The verdicts a UAS core gives on a request before any handler sees it (RFC 3261 §8.2):
 * a pure function of the request and the server's capabilities.
 */
import { SipParseError, type HeaderField, type SipRequest } from './types.js';
import { reasonPhrase } from './reason-phrases.js';

/** What the server supports. */
export interface RequestCaps {
  /** Methods the server implements (answered in Allow with 501/405), e.g. `['INVITE','ACK',…]`. */
  methods: string[];
  /** Option tags the server supports (RFC 3261 §8.2.2.3). */
  supported: string[];
  /** Request-URI schemes accepted, lower-case (RFC 3261 §8.2.2.1), e.g. `['sip','sips','tel']`. */
  schemes: string[];
  /** When set, body media types accepted (RFC 3261 §8.2.3); other non-empty bodies get 415 + Accept. */
  accept?: string[];
  /** Also check Proxy-Require (RFC 3261 §16.3 step 4; for a server acting as a proxy). */
  proxyRequire?: boolean;
}

/** A response the core must send instead of processing the request. */
export interface RequestVerdict {
  status: number;
  reason: string;
  /** Headers the response must carry (Allow, Unsupported, Accept). */
  headers?: HeaderField[];
  /** Why, for logs and the parse CLI (not sent). */
  detail: string;
}

/**
 * Methods standardised for SIP (RFC 3261 and its extensions): a CSeq mismatch on these is 400,
 * not 501; the UAS core answers an unclaimed one 404 rather than 501.
 */
export const STANDARD_METHODS: ReadonlySet<string> = new Set([
  'INVITE',
  'ACK',
  'CANCEL',
  'BYE',
  'OPTIONS',
  'REGISTER',
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'INFO',
  'REFER',
  'MESSAGE',
  'UPDATE',
]);

function verdict(status: number, detail: string, headers?: HeaderField[]): RequestVerdict {
  return headers
    ? { status, reason: reasonPhrase(status), headers, detail }
    : { status, reason: reasonPhrase(status), detail };
}

/**
 * Check a parsed request, in the order of RFC 3261 §8.2:
 * 1. SIP-Version other than 2.0 → 505 (§21.5.7, RFC 4475 §3.1.2.16).
 * 2. Via, From, To, Call-ID, CSeq present once (Via at least once) and well-formed; Max-Forwards,
 *    Contact, Route and Record-Route well-formed when present (Max-Forwards optional for
 *    RFC 2543 peers, RFC 4475 §3.4.1) → 400 (§8.1.1, RFC 4475 §3.1.2, §3.3.1, §3.3.8).
 * 3. Request-URI malformed, or carrying `?headers` → 400 (RFC 4475 §3.1.2.7, §3.1.2.11).
 * 4. Method not implemented → 501 with Allow (§8.2.1); this comes before the CSeq check so an
 *    unknown method whose CSeq differs gets 501 (RFC 4475 §3.1.2.18).
 * 5. CSeq method ≠ request method → 400 (RFC 4475 §3.1.2.17).
 * 6. Request-URI scheme not accepted → 416 (§8.2.2.1).
 * 7. Require (and Proxy-Require if asked) with unsupported tags → 420 + Unsupported (§8.2.2.3),
 *    never for ACK/CANCEL.
 * 8. Body of a media type not accepted → 415 + Accept (§8.2.3), when `caps.accept` is set.
 * Returns `undefined` when the request may proceed.
 */
export function checkRequest(req: SipRequest, caps: RequestCaps): RequestVerdict | undefined {
  const version = (req as SipRequest & { version?: string }).version ?? 'SIP/2.0';
  if (version !== 'SIP/2.0' && version.toUpperCase() !== 'SIP/2.0')
    return verdict(505, `SIP version ${version} not supported`);

  try {
    const vias = req.vias;
    for (const v of vias) {
      if (v.protocol !== 'SIP/2.0' && v.protocol.toUpperCase() !== 'SIP/2.0')
        throw new SipParseError(400, `Via protocol ${v.protocol}`);
    }
    void req.from;
    void req.to;
    void req.callId;
    void req.cseq;
    const r = req as SipRequest & { maxForwards?: number; routes?: unknown; recordRoutes?: unknown };
    void r.maxForwards;
    void req.contacts;
    void r.routes;
    void r.recordRoutes;
  } catch (err) {
    if (err instanceof SipParseError) return verdict(400, err.message);
    throw err;
  }

  let scheme: string;
  try {
    const ruri = req.requestUri;
    if (ruri.headers.length > 0) return verdict(400, 'headers in Request-URI');
    scheme = ruri.scheme;
  } catch (err) {
    if (err instanceof SipParseError) return verdict(400, `bad Request-URI: ${err.message}`);
    throw err;
  }

  const method = req.method;
  if (!caps.methods.includes(method)) {
    return verdict(501, `method ${method} not implemented`, [{ name: 'Allow', value: caps.methods.join(', ') }]);
  }
  if (req.cseq.method !== method) {
    if (STANDARD_METHODS.has(method) || caps.methods.includes(method))
      return verdict(400, `CSeq method ${req.cseq.method} does not match ${method}`);
    return verdict(501, `method ${method} not implemented`, [{ name: 'Allow', value: caps.methods.join(', ') }]);
  }

  if (!caps.schemes.includes(scheme)) return verdict(416, `URI scheme ${scheme} not supported`);

  if (method !== 'ACK' && method !== 'CANCEL') {
    const required = req.getHeaders('Require');
    if (caps.proxyRequire) required.push(...req.getHeaders('Proxy-Require'));
    const unsupported: string[] = [];
    for (const tag of required) {
      if (tag.length === 0) continue;
      if (!caps.supported.some((s) => s.toLowerCase() === tag.toLowerCase()) && !unsupported.includes(tag))
        unsupported.push(tag);
    }
    if (unsupported.length > 0)
      return verdict(420, `unsupported extensions: ${unsupported.join(', ')}`, [
        { name: 'Unsupported', value: unsupported.join(', ') },
      ]);
  }

  if (caps.accept && req.body.length > 0 && method !== 'ACK') {
    const ct = req.getHeader('Content-Type');
    const type =
      ct === undefined ? undefined : (ct.indexOf(';') < 0 ? ct : ct.slice(0, ct.indexOf(';'))).trim().toLowerCase();
    if (type === undefined || !caps.accept.some((a) => a.toLowerCase() === type)) {
      return verdict(415, `body type ${type ?? '(none)'} not supported`, [
        { name: 'Accept', value: caps.accept.join(', ') },
      ]);
    }
  }
  return undefined;
}
