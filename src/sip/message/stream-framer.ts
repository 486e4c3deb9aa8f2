/**
 * Message framing on stream transports (TCP, TLS): RFC 3261 §18.3 (Content-Length delimits the
 * body; a missing Content-Length means 0 on streams), §7.5 (CRLFs between messages) and
 * RFC 5626 §3.5.1 (CRLF keepalives: a double CRLF "ping" is answered with a single CRLF "pong").
 */
import { SipParseError } from './types.js';
import { headerKey } from './header-names.js';
import { parseDigits } from './sip-syntax.js';
import { parseMessage, type ParsedMessage } from './parse-message.js';

/** What {@link StreamFramer.push} found in the bytes. */
export type FramerEvent =
  /** A complete message that parsed. */
  | { type: 'message'; message: ParsedMessage }
  /** A complete (well-framed) message that did not parse; the connection stays usable. `error.partial` may hold the headers. */
  | { type: 'invalid'; error: SipParseError; raw: Buffer }
  /** A CRLFCRLF keepalive ping (RFC 5626 §3.5.1): answer with a single CRLF. */
  | { type: 'ping' }
  /** A single CRLF between messages: a keepalive pong (RFC 5626 §3.5.1), or CRLF to ignore (RFC 3261 §7.5). */
  | { type: 'pong' }
  /** Framing is lost (bad Content-Length, header section too long): close the connection (RFC 3261 §18.3). */
  | { type: 'fatal'; error: SipParseError };

/** Limits of a {@link StreamFramer}. */
export interface StreamFramerOptions {
  /** Largest header section (start line + headers) accepted, bytes. Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Largest Content-Length accepted, bytes. Default 16 MiB. */
  maxBodyBytes?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');

/**
 * Splits a byte stream into SIP messages. Feed every chunk read from the connection to
 * {@link push}; it returns the events found, in order. After a `fatal` event the framer stays
 * dead (every later push returns `[]`) and the transport must close the connection.
 * Memory is bounded by `maxHeaderBytes + maxBodyBytes` per connection.
 */
export class StreamFramer {
  private store: Buffer = Buffer.allocUnsafe(4096);
  private len = 0;
  private readPos = 0;
  /** Where the search for the end of the header section resumes (avoids quadratic rescans). */
  private scanPos = 0;
  /** Total length of the message being waited for, once its header section is known. */
  private needed = -1;
  private dead = false;
  private readonly maxHeaderBytes: number;
  private readonly maxBodyBytes: number;

  constructor(opts: StreamFramerOptions = {}) {
    this.maxHeaderBytes = opts.maxHeaderBytes ?? 64 * 1024;
    this.maxBodyBytes = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  }

  /** Bytes buffered and not yet framed. */
  get buffered(): number {
    return this.len - this.readPos;
  }

  /** True after a fatal framing error. */
  get closed(): boolean {
    return this.dead;
  }

  /** Add bytes read from the connection; returns the events they complete. */
  push(chunk: Buffer): FramerEvent[] {
    if (this.dead) return [];
    this.append(chunk);
    const events: FramerEvent[] = [];
    while (this.step(events));
    this.compact();
    return events;
  }

  private append(chunk: Buffer): void {
    const need = this.len + chunk.length;
    if (need > this.store.length) {
      // Drop what was already consumed, grow geometrically.
      const live = this.len - this.readPos;
      let cap = this.store.length;
      while (cap < live + chunk.length) cap *= 2;
      const next = Buffer.allocUnsafe(cap);
      this.store.copy(next, 0, this.readPos, this.len);
      this.scanPos -= this.readPos;
      this.len = live;
      this.readPos = 0;
      this.store = next;
    }
    chunk.copy(this.store, this.len);
    this.len += chunk.length;
  }

  private compact(): void {
    if (this.readPos === this.len) {
      this.readPos = this.len = this.scanPos = 0;
      if (this.store.length > 65536) this.store = Buffer.allocUnsafe(4096);
    }
  }

  /** One framing step; false when more bytes are needed. */
  private step(events: FramerEvent[]): boolean {
    const s = this.store;
    if (this.needed < 0) {
      // Between messages: CRLF keepalives (RFC 5626 §3.5.1) and stray CRLFs (RFC 3261 §7.5).
      while (this.readPos < this.len) {
        const c = s[this.readPos];
        if (c === 0x0a) {
          this.readPos++;
          continue;
        }
        if (c !== 0x0d) break;
        const avail = this.len - this.readPos;
        if (avail < 2) return false;
        if (s[this.readPos + 1] !== 0x0a) {
          this.readPos++;
          continue;
        }
        if (avail < 3) return false;
        if (s[this.readPos + 2] === 0x0d) {
          if (avail < 4) return false;
          if (s[this.readPos + 3] === 0x0a) {
            events.push({ type: 'ping' });
            this.readPos += 4;
            continue;
          }
        }
        events.push({ type: 'pong' });
        this.readPos += 2;
      }
      if (this.scanPos < this.readPos) this.scanPos = this.readPos;
      if (this.readPos >= this.len) return false;
      const view = s.subarray(0, this.len);
      let end = view.indexOf(CRLFCRLF, this.scanPos);
      let sepLen = 4;
      // Bare-LF header ends (tolerated) only count if they come first; search no further than needed.
      const lf = (end < 0 ? view : s.subarray(0, end + 1)).indexOf(LFLF, this.scanPos);
      if (lf >= 0 && (end < 0 || lf < end)) {
        end = lf;
        sepLen = 2;
      }
      if (end < 0) {
        if (this.len - this.readPos > this.maxHeaderBytes) return this.fatal(events, 'header section too long');
        this.scanPos = Math.max(this.readPos, this.len - 3);
        return false;
      }
      if (end - this.readPos > this.maxHeaderBytes) return this.fatal(events, 'header section too long');
      const cl = contentLengthOf(s.toString('latin1', this.readPos, end));
      if (cl === 'bad') return this.fatal(events, 'bad or conflicting Content-Length');
      if (cl > this.maxBodyBytes) return this.fatal(events, 'body too large');
      this.needed = end + sepLen + cl - this.readPos;
    }
    if (this.len - this.readPos < this.needed) return false;
    const raw = Buffer.from(s.subarray(this.readPos, this.readPos + this.needed));
    this.readPos += this.needed;
    this.scanPos = this.readPos;
    this.needed = -1;
    try {
      events.push({ type: 'message', message: parseMessage(raw, { stream: true }) });
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      events.push({ type: 'invalid', error: err, raw });
    }
    return true;
  }

  private fatal(events: FramerEvent[], why: string): false {
    this.dead = true;
    events.push({ type: 'fatal', error: new SipParseError(400, why) });
    return false;
  }
}

/** Content-Length of a header section (0 when absent, RFC 3261 §18.3 streams); 'bad' if malformed or conflicting. */
function contentLengthOf(head: string): number | 'bad' {
  let cl: number | undefined;
  let pos = head.indexOf('\n') + 1;
  if (pos === 0) return 0;
  let last: 'cl' | 'other' = 'other';
  while (pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    const c = head.charCodeAt(pos);
    if (c === 0x20 || c === 0x09) {
      // Folded Content-Length value: rare, re-read the whole thing properly.
      if (last === 'cl') return contentLengthSlow(head);
    } else {
      const colon = head.indexOf(':', pos);
      last = 'other';
      if (colon > pos && colon < nl) {
        const name = head.slice(pos, colon).trim();
        if (headerKey(name) === 'content-length') {
          last = 'cl';
          const v = parseDigits(head.slice(colon + 1, nl).trim());
          if (v === undefined || (cl !== undefined && cl !== v)) return 'bad';
          cl = v;
        }
      }
    }
    pos = nl + 1;
  }
  return cl ?? 0;
}

function contentLengthSlow(head: string): number | 'bad' {
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  return unfolded === head ? 'bad' : contentLengthOf(unfolded);
}
