/** A SIP request (RFC 3261 §7.1). */
import type { HeaderField, SipRequest, SipUri } from './types.js';
import { SipMessageBaseImpl } from './sip-message-base.js';
import { parseUri } from './parse-uri.js';

/** A SIP request: `Method SP Request-URI SP SIP-Version` plus headers and body (RFC 3261 §7.1). */
export class SipRequestMessage extends SipMessageBaseImpl implements SipRequest {
  readonly kind = 'request' as const;
  private _method: string;
  private _uri: string;
  private _version: string;
  private _requestUri: SipUri | undefined;

  constructor(
    method: string,
    uri: string,
    headers: HeaderField[],
    body: Buffer = Buffer.alloc(0),
    version = 'SIP/2.0',
    encoding: 'utf8' | 'latin1' = 'utf8',
  ) {
    super(headers, body, encoding);
    this._method = method;
    this._uri = uri;
    this._version = version;
  }

  /** Method, case-sensitive (RFC 3261 §7.1). */
  get method(): string {
    return this._method;
  }
  set method(m: string) {
    this.willChange();
    this._method = m;
  }

  /** Request-URI as written. */
  get uri(): string {
    return this._uri;
  }
  set uri(u: string) {
    this.willChange();
    this._uri = u;
    this._requestUri = undefined;
  }

  /** SIP-Version as written (checkRequest answers 505 unless `SIP/2.0`, RFC 3261 §21.5.7). */
  get version(): string {
    return this._version;
  }
  set version(v: string) {
    this.willChange();
    this._version = v;
  }

  /** Parsed Request-URI (lazy); throws `SipParseError(400)` if malformed. */
  get requestUri(): SipUri {
    if (this._requestUri === undefined) this._requestUri = parseUri(this._uri);
    return this._requestUri;
  }

  startLine(): string {
    return `${this._method} ${this._uri} ${this._version}`;
  }
}
