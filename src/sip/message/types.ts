/**
 * The SIP message model shared by every layer of the stack (RFC 3261 §7).
 *
 * This file is the contract between the parser (`parse-message.ts`), the serializer,
 * the transport, transaction and dialog layers. Implementations live beside it; callers
 * import from `src/sip/message/index.ts`.
 */

/** Transports we speak (RFC 3261 §18, RFC 7118 for WebSocket). */
export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** One header line as received or as it will be written; order of the list is kept. */
export interface HeaderField {
  /** The name as written on the wire (may be compact, odd case). */
  name: string;
  /** The value with folding (CRLF + WSP) replaced by a single SP, trimmed. */
  value: string;
}

/** A generic parameter list: `;name=value` or `;name` (value `null`). Names keep their case; look-ups are case-insensitive. */
export type ParamList = Array<[name: string, value: string | null]>;

/** A parsed SIP, SIPS or tel URI (RFC 3261 §19.1, RFC 3966), or an absolute URI of another scheme. */
export interface SipUri {
  /** Lower-case scheme: `sip`, `sips`, `tel`, or another. */
  scheme: string;
  /** User part, %-escapes kept as written (compare with `uriUserEquals`). `undefined` if none. */
  user?: string;
  password?: string;
  /** Host as written; IPv6 references keep their brackets (RFC 5118). Empty for tel/other. */
  host: string;
  port?: number;
  params: ParamList;
  /** `?hname=hvalue&…` pairs, raw. */
  headers: Array<[string, string]>;
  /** For non-SIP schemes (and tel): everything after `scheme:`. */
  opaque?: string;
  /** The exact text parsed, for faithful re-serialisation. */
  raw: string;
}

/** `[display-name] <uri> *(;param)` or `addr-spec *(;param)` (RFC 3261 §20.10, §25.1). */
export interface NameAddr {
  displayName?: string;
  uri: SipUri;
  /** Header parameters (`tag`, `expires`, `q`, …), not URI parameters. */
  params: ParamList;
}

/** One Via value (RFC 3261 §20.42). */
export interface Via {
  /** `SIP/2.0` protocol name and version as written. */
  protocol: string;
  /** Upper-case transport token as written: UDP, TCP, TLS, SCTP, WS, WSS, … */
  transport: string;
  host: string;
  port?: number;
  params: ParamList;
  /** Convenience: the `branch` parameter, or undefined. */
  branch?: string;
}

/** CSeq value (RFC 3261 §20.16): sequence number (32-bit unsigned) and method. */
export interface CSeq {
  seq: number;
  method: string;
}

/** Common shape of requests and responses. Typed accessors parse lazily and cache. */
export interface SipMessageBase {
  readonly headers: HeaderField[];
  body: Buffer;
  /** First value of a header by any name or compact form, case-insensitive (for list headers: the first element). */
  getHeader(name: string): string | undefined;
  /** Every value of a header: repeated lines and comma-separated elements (quoted strings respected) alike. */
  getHeaders(name: string): string[];
  hasHeader(name: string): boolean;
  /** Replace all lines of this header by one line with this value (appended where the first one was). */
  setHeader(name: string, value: string): void;
  /** Add a line at the end of the headers of this name (or at the end of the message). */
  addHeader(name: string, value: string): void;
  /** Add a line before the first line of this name (used for Via). */
  prependHeader(name: string, value: string): void;
  removeHeader(name: string): void;
  readonly callId: string;
  readonly cseq: CSeq;
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly vias: Via[];
  /** Top Via. */
  readonly via: Via;
  readonly contacts: NameAddr[];
  /** True when the message carries `Contact: *` alone (RFC 3261 §10.2.2). */
  readonly contactWildcard: boolean;
  /** Serialise: start line, headers in order, Content-Length set to the body length. */
  toBuffer(): Buffer;
  toString(): string;
}

/** A request (RFC 3261 §7.1). */
export interface SipRequest extends SipMessageBase {
  readonly kind: 'request';
  /** Upper-case as written (methods are case-sensitive, RFC 3261 §7.1). */
  method: string;
  /** Request-URI as written. */
  uri: string;
  /** Parsed Request-URI (lazy). */
  readonly requestUri: SipUri;
}

/** A response (RFC 3261 §7.2). */
export interface SipResponse extends SipMessageBase {
  readonly kind: 'response';
  status: number;
  reason: string;
}

/** Any SIP message; narrow on `kind`. */
export type SipMessage = SipRequest | SipResponse;

/** Where a message came from / goes to. */
export interface TransportAddress {
  transport: TransportProtocol;
  /** IP address (IPv6 without brackets). */
  host: string;
  port: number;
}

/**
 * A message the parser refused. `status` is the response a server answers a request with
 * (400, 505, …); `status` 0 means "drop silently" (e.g. a malformed response, RFC 3261 §18.1.2).
 */
export class SipParseError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /**
     * The message as far as it could be read, when the start line and header lines were fine
     * but framing or a value was not (e.g. a bad Content-Length): lets a server still answer
     * `status` with the right Via/From/To/Call-ID/CSeq (RFC 3261 §8.2.6.2).
     */
    readonly partial?: SipMessage,
  ) {
    super(message);
    this.name = 'SipParseError';
  }
}
