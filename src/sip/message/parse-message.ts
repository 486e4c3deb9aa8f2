/**
 * Parsing of one SIP message from bytes (RFC 3261 §7, §18.3 framing, §25 grammar).
 *
 * The parser is lenient where RFC 3261 allows it (§7.5 leading CRLFs, folded lines, odd case and
 * whitespace, compact names) and leaves semantic verdicts on requests (version, mandatory headers,
 * methods, schemes) to `checkRequest`, so that a server can still answer a bad request. Only
 * what makes a message unreadable throws here.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { SipParseError, type HeaderField, type SipMessage } from './types.js';
import { constantAt, constantTable, isTokenChar, parseDigits } from './sip-syntax.js';
import { SipRequestMessage } from './sip-request-message.js';
import { SipResponseMessage } from './sip-response-message.js';
import { OriginalBytes } from './original-bytes.js';

/** Options of {@link parseMessage}. */
export interface ParseOptions {
  /**
   * The bytes are one message framed by a stream transport (RFC 3261 §18.3): a missing
   * Content-Length means an empty body. Default: datagram rules (missing = rest of the datagram).
   */
  stream?: boolean;
}

/** What the parser builds: the concrete classes (they implement `SipRequest` / `SipResponse` plus extras). */
export type ParsedMessage = SipRequestMessage | SipResponseMessage;

/** Result of {@link tryParseMessage}. */
export type ParseResult = { ok: true; message: ParsedMessage } | { ok: false; error: SipParseError };

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
/** The body of every message without one (a zero-length buffer cannot be written to). */
const EMPTY_BODY = Buffer.alloc(0);

/**
 * Parse one message. Throws only `SipParseError`: `status` 400 (or 505, …) for a request a server
 * should answer (with `partial` set when the headers could be read), 0 for anything to drop
 * silently (malformed responses, RFC 3261 §18.1.2; empty keepalive datagrams).
 *
 * Datagram framing (RFC 3261 §18.3): the body is exactly Content-Length bytes and trailing bytes
 * are discarded; without Content-Length the body is the rest of the datagram; a Content-Length
 * larger than the bytes available, negative, non-numeric or repeated with different values is 400.
 *
 * The message's body (and its cached original bytes) are views of `buf`: do not reuse `buf`.
 */
export function parseMessage(buf: Buffer, opts?: ParseOptions): ParsedMessage {
  try {
    return parseUnguarded(buf, opts?.stream === true);
  } catch (err) {
    if (err instanceof SipParseError) throw err;
    // Defensive: a bug in the parser must not crash a transport. Tests assert this never happens.
    throw new SipParseError(400, `internal parser error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Non-throwing {@link parseMessage}. */
export function tryParseMessage(buf: Buffer, opts?: ParseOptions): ParseResult {
  try {
    return { ok: true, message: parseUnguarded(buf, opts?.stream === true) };
  } catch (err) {
    if (err instanceof SipParseError) return { ok: false, error: err };
    return {
      ok: false,
      error: new SipParseError(400, `internal parser error: ${err instanceof Error ? err.message : String(err)}`),
    };
  }
}

function parseUnguarded(buf: Buffer, stream: boolean): ParsedMessage {
  const len = buf.length;
  let start = 0;
  // RFC 3261 §7.5: ignore CRLFs before the start line (keepalives, RFC 5626 §3.5.1).
  while (start < len && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start >= len) throw new SipParseError(0, 'no message (only CRLF keepalive)');

  const crlf2 = buf.indexOf(CRLFCRLF, start);
  const textEnd = crlf2 < 0 ? len : crlf2;
  let bodyStart = crlf2 < 0 ? len : crlf2 + 4;
  let exact = crlf2 >= 0; // header section closed by CRLF CRLF as RFC 3261 §7 says

  let encoding: 'utf8' | 'latin1' = 'utf8';
  let text: string;
  // Usual case first: the whole datagram is ASCII (no sub-buffer needed for the check).
  if (isAscii(buf)) text = latin1(buf, start, textEnd);
  else {
    const head = buf.subarray(start, textEnd);
    if (isAscii(head)) text = latin1(buf, start, textEnd);
    else if (isUtf8(head)) text = buf.toString('utf8', start, textEnd);
    else {
      encoding = 'latin1';
      text = latin1(buf, start, textEnd);
    }
  }
  // Start line.
  const nl = text.indexOf('\n');
  let lineEnd = nl < 0 ? text.length : nl;
  if (lineEnd > 0 && text.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
  const startLine = text.slice(0, lineEnd);
  const isResponse = startLine.length >= 4 && startsWithSipSlash(startLine);

  // Start line first (its errors are the more telling), then the header lines into the same array.
  const headers: HeaderField[] = [];
  const msg: ParsedMessage = isResponse
    ? parseStatusLine(startLine, headers, encoding)
    : parseRequestLine(startLine, headers, encoding);
  let blankAt: number;
  // Byte offsets of the header lines, when string indexes are byte offsets (ASCII/latin1 text).
  const offsets: number[] | undefined =
    crlf2 >= 0 && (encoding === 'latin1' || text.length === textEnd - start) ? [] : undefined;
  try {
    blankAt = parseHeaderLines(text, nl < 0 ? text.length : nl + 1, headers, offsets, start);
  } catch (err) {
    if (isResponse && err instanceof SipParseError) throw new SipParseError(0, err.message);
    throw err;
  }
  if (blankAt >= 0) {
    // Bare-LF line ends (tolerated): the header section ended at an earlier empty line.
    bodyStart =
      start +
      (encoding === 'latin1' || text.length === textEnd - start
        ? blankAt
        : Buffer.byteLength(text.slice(0, blankAt), 'utf8'));
    exact = false;
  }

  // Content-Length (RFC 3261 §20.14, §18.3).
  let cl: number | undefined;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    const nlen = h.name.length;
    if (nlen === 1 ? (h.name.charCodeAt(0) | 0x20) !== 0x6c : nlen !== 14 || h.name.toLowerCase() !== 'content-length')
      continue;
    const v = parseDigits(h.value);
    if (v === undefined) throw fail(msg, `bad Content-Length: ${h.value.slice(0, 40)}`);
    if (cl !== undefined && cl !== v) throw fail(msg, 'conflicting Content-Length headers');
    cl = v;
  }
  const avail = len - bodyStart;
  let body: Buffer;
  if (cl === undefined) {
    body = stream || bodyStart >= len ? EMPTY_BODY : buf.subarray(bodyStart);
    exact = false;
  } else {
    if (cl > avail) throw fail(msg, `Content-Length ${cl} larger than the ${avail} body bytes received`);
    body = cl === 0 ? EMPTY_BODY : buf.subarray(bodyStart, bodyStart + cl);
  }
  msg.body = body;
  if (exact && cl !== undefined) {
    if (offsets !== undefined && offsets.length > 0) offsets[offsets.length - 1] = crlf2 + 2; // the last line's CRLF
    msg.setOriginal(new OriginalBytes(buf, start, bodyStart + cl, offsets));
  }

  if (msg.kind === 'response') validateResponse(msg);
  return msg;
}

/** Node's internal `latin1Slice` skips `toString`'s argument handling; fall back when absent. */
const fastLatin1 = typeof (Buffer.prototype as unknown as { latin1Slice?: unknown }).latin1Slice === 'function';
function latin1(buf: Buffer, start: number, end: number): string {
  return fastLatin1
    ? (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end)
    : buf.toString('latin1', start, end);
}

function fail(msg: SipMessage, why: string): SipParseError {
  return new SipParseError(msg.kind === 'response' ? 0 : 400, why, msg);
}

/** Split header lines: `name HCOLON value`, continuation lines folded into one SP (RFC 3261 §7.3.1). */
function parseHeaderLines(
  text: string,
  pos: number,
  headers: HeaderField[],
  offsets: number[] | undefined,
  base: number,
): number {
  const tlen = text.length;
  while (pos < tlen) {
    const nl = text.indexOf('\n', pos);
    let end = nl < 0 ? tlen : nl;
    const next = nl < 0 ? tlen : nl + 1;
    if (end > pos && text.charCodeAt(end - 1) === 0x0d) end--;
    if (end === pos) {
      // An empty line ends the header section (only reachable with bare-LF line ends, or at the
      // very end of an unterminated datagram): return where the body starts.
      return next < tlen ? next : -1;
    }
    const c = text.charCodeAt(pos);
    if (c === 0x20 || c === 0x09) {
      if (headers.length === 0) throw new SipParseError(400, 'continuation line before any header');
      const cont = text.slice(pos, end).trim();
      if (cont.length > 0) {
        const h = headers[headers.length - 1];
        h.value = h.value.length > 0 ? h.value + ' ' + cont : cont;
      }
      if (offsets !== undefined) offsets[offsets.length - 1] = base + next;
    } else {
      // field-name (a token), optional blanks, HCOLON (RFC 3261 §7.3.1) in one pass.
      let k = pos;
      while (k < end && isTokenChar(text.charCodeAt(k))) k++;
      const ne = k;
      while (k < end && (text.charCodeAt(k) === 0x20 || text.charCodeAt(k) === 0x09)) k++;
      if (k >= end || text.charCodeAt(k) !== 0x3a || ne === pos) throw badHeaderLine(text, pos, end);
      const colon = k;
      let vs = colon + 1;
      while (vs < end && (text.charCodeAt(vs) === 0x20 || text.charCodeAt(vs) === 0x09)) vs++;
      let ve = end;
      while (ve > vs && (text.charCodeAt(ve - 1) === 0x20 || text.charCodeAt(ve - 1) === 0x09)) ve--;
      headers.push({ name: constantAt(COMMON_NAMES, text, pos, ne) ?? text.slice(pos, ne), value: text.slice(vs, ve) });
      if (offsets !== undefined) offsets.push(base + pos, base + next);
    }
    pos = next;
  }
  return -1;
}

/** Why a header line that is not `token *WSP ":"` was refused (400). */
function badHeaderLine(text: string, pos: number, end: number): SipParseError {
  const colon = text.indexOf(':', pos);
  if (colon < 0 || colon >= end)
    return new SipParseError(400, `header line without colon: ${text.slice(pos, Math.min(end, pos + 40))}`);
  let ne = colon;
  while (ne > pos && (text.charCodeAt(ne - 1) === 0x20 || text.charCodeAt(ne - 1) === 0x09)) ne--;
  if (ne === pos) return new SipParseError(400, 'empty header name');
  return new SipParseError(400, `bad header name: ${text.slice(pos, Math.min(ne, pos + 40))}`);
}

/** Header names as nearly every UA writes them: constants instead of slices. */
const COMMON_NAMES = constantTable([
  'Via',
  'From',
  'To',
  'Call-ID',
  'CSeq',
  'Contact',
  'Max-Forwards',
  'Expires',
  'User-Agent',
  'Content-Length',
  'Content-Type',
  'Authorization',
  'Allow',
  'Supported',
  'Route',
  'Record-Route',
  'Server',
  'Accept',
  'Event',
  'Require',
  'WWW-Authenticate',
  'Proxy-Authorization',
  'Date',
  'v',
  'f',
  't',
  'i',
  'm',
  'l',
  'c',
  'k',
]);

/** `SIP-Version SP Status-Code SP Reason-Phrase` (RFC 3261 §7.2); anything wrong → drop (status 0). */
function parseStatusLine(line: string, headers: HeaderField[], encoding: 'utf8' | 'latin1'): SipResponseMessage {
  const sp = line.indexOf(' ');
  if (sp < 0) throw new SipParseError(0, 'bad status line');
  const version = line.slice(0, sp);
  if (version.toUpperCase() !== 'SIP/2.0')
    throw new SipParseError(0, `unsupported version in response: ${version.slice(0, 20)}`);
  const code = line.slice(sp + 1, sp + 4);
  const after = line.charCodeAt(sp + 4);
  const status = parseDigits(code);
  if (
    status === undefined ||
    code.length !== 3 ||
    (sp + 4 < line.length && after !== 0x20) ||
    status < 100 ||
    status > 699
  ) {
    throw new SipParseError(0, `bad status code: ${line.slice(sp + 1, sp + 20)}`);
  }
  const reason = sp + 5 <= line.length ? line.slice(sp + 5) : '';
  return new SipResponseMessage(status, reason, headers, EMPTY_BODY, version, encoding);
}

/** `Method SP Request-URI SP SIP-Version` (RFC 3261 §7.1): exactly single spaces, method a token. */
function parseRequestLine(line: string, headers: HeaderField[], encoding: 'utf8' | 'latin1'): SipRequestMessage {
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 === sp1 + 1 || sp2 === line.length - 1 || line.indexOf(' ', sp2 + 1) >= 0) {
    throw new SipParseError(400, `bad request line: ${line.slice(0, 60)}`);
  }
  const method = line.slice(0, sp1);
  for (let i = 0; i < method.length; i++) {
    if (!isTokenChar(method.charCodeAt(i))) throw new SipParseError(400, `bad method: ${method.slice(0, 40)}`);
  }
  const version = line.slice(sp2 + 1);
  if (!isSipVersion(version)) throw new SipParseError(400, `bad SIP-Version: ${version.slice(0, 20)}`);
  return new SipRequestMessage(method, line.slice(sp1 + 1, sp2), headers, EMPTY_BODY, version, encoding);
}

/** `SIP/` at the start, any case (RFC 3261 §7.1: the version is case-insensitive), without a slice. */
function startsWithSipSlash(v: string): boolean {
  return (
    (v.charCodeAt(0) | 0x20) === 0x73 &&
    (v.charCodeAt(1) | 0x20) === 0x69 &&
    (v.charCodeAt(2) | 0x20) === 0x70 &&
    v.charCodeAt(3) === 0x2f
  );
}

/** `"SIP" "/" 1*DIGIT "." 1*DIGIT`, case-insensitive (RFC 3261 §25.1). */
function isSipVersion(v: string): boolean {
  if (v === 'SIP/2.0') return true;
  if (v.length < 7 || !startsWithSipSlash(v)) return false;
  const dot = v.indexOf('.', 4);
  return dot > 4 && parseDigits(v.slice(4, dot)) !== undefined && parseDigits(v.slice(dot + 1)) !== undefined;
}

/**
 * A response whose core headers are garbled is dropped (RFC 3261 §18.1.2, RFC 4475 §3.1.2.5).
 * Missing ones are left to the transaction layer (abbreviated RFC example flows omit Via), which
 * drops what it cannot match.
 */
function validateResponse(res: SipMessage): void {
  try {
    if (res.hasHeader('Via')) void res.vias;
    if (res.hasHeader('CSeq')) void res.cseq;
    if (res.hasHeader('Call-ID')) void res.callId;
    if (res.hasHeader('From')) void res.from;
    if (res.hasHeader('To')) void res.to;
  } catch (err) {
    if (err instanceof SipParseError) throw new SipParseError(0, `malformed response: ${err.message}`, res);
    throw err;
  }
}
