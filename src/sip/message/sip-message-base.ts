/**
 * Shared implementation of requests and responses (RFC 3261 §7): ordered raw header lines,
 * lazily parsed and cached typed headers, serialisation (reusing the bytes a parsed message came
 * in: {@link OriginalBytes}).
 */
import { SipParseError, type CSeq, type HeaderField, type NameAddr, type Via } from './types.js';
import { headerKey, isListHeader } from './header-names.js';
import { getParam, parseDigits, splitList } from './sip-syntax.js';
import { parseNameAddr } from './parse-name-addr.js';
import { parseVia } from './parse-via.js';
import { parseCSeq } from './parse-cseq.js';
import { OriginalBytes } from './original-bytes.js';

const CRLF = '\r\n';

/**
 * Base class of {@link SipRequestMessage} and {@link SipResponseMessage}.
 *
 * The header lines are the source of truth; typed accessors (`via`, `from`, `cseq`, …) parse on
 * first use, cache the result and throw `SipParseError(400)` when the header is missing or
 * malformed. The cache is dropped on every change. Objects returned by typed accessors are
 * read-only views: change a header with `setHeader` & co.
 */
export abstract class SipMessageBaseImpl {
  /** Header lines in order. */
  protected _headers: HeaderField[];
  protected _body: Buffer;
  /** Header text encoding: `utf8` unless the message came with bytes that are not valid UTF-8. */
  protected _encoding: 'utf8' | 'latin1';
  /** The bytes this message was parsed from (see {@link OriginalBytes}); none for a message built from parts. */
  private _original: OriginalBytes | undefined;
  private _cache: TypedCache | undefined;
  /** Look-up keys of `_headers` (lazy), kept in step by the mutators. */
  private _keys: string[] | undefined;
  /** The `headers` array was handed out: it may be edited behind our back, so keys are no longer kept. */
  private _exposed = false;

  protected constructor(headers: HeaderField[], body: Buffer, encoding: 'utf8' | 'latin1' = 'utf8') {
    this._headers = headers;
    this._body = body;
    this._encoding = encoding;
  }

  /** Header lines in order. Handing out the array means it may be changed, so the message stops reusing its original bytes. */
  get headers(): HeaderField[] {
    this.headersWillChange();
    this._exposed = true;
    return this._headers;
  }

  /** Header lines in order, read-only view (does not give up the original-bytes fast path). */
  get headerFields(): readonly HeaderField[] {
    return this._headers;
  }

  get body(): Buffer {
    return this._body;
  }

  set body(b: Buffer) {
    this.willChange();
    this._body = b;
  }

  /** The message is about to differ from the bytes it was parsed from (start line, header or body edit). */
  protected willChange(): void {
    this._original?.willChange(this._headers);
  }

  /** A header line is about to change (through our methods or the handed-out array): the typed headers go too. */
  private headersWillChange(): void {
    this.willChange();
    this._cache = undefined;
  }

  /** Look-up key of every header line, in order (recomputed on each call once `headers` was handed out). */
  private keys(): string[] {
    let ks = this._keys;
    if (ks === undefined || this._exposed) {
      const hs = this._headers;
      ks = this._keys = new Array<string>(hs.length);
      for (let i = 0; i < hs.length; i++) ks[i] = headerKey(hs[i].name);
    }
    return ks;
  }

  /** @internal Used by the parser: the bytes this message was parsed from. */
  setOriginal(original: OriginalBytes): void {
    this._original = original;
  }

  /** Raw values of every line of this header (no comma splitting), by long or compact name, case-insensitive. */
  getHeaderLines(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    const hs = this._headers;
    const ks = this.keys();
    for (let i = 0; i < hs.length; i++) if (ks[i] === key) out.push(hs[i].value);
    return out;
  }

  /** First value of a header (first list element for list headers), RFC 3261 §7.3.1. */
  getHeader(name: string): string | undefined {
    const key = headerKey(name);
    const i = this.keys().indexOf(key);
    if (i < 0) return undefined;
    const v = this._headers[i].value;
    return isListHeader(key) ? splitList(v)[0] : v;
  }

  /** Every value: repeated lines and comma-separated elements alike (RFC 3261 §7.3.1). */
  getHeaders(name: string): string[] {
    const key = headerKey(name);
    const list = isListHeader(key);
    const out: string[] = [];
    const hs = this._headers;
    const ks = this.keys();
    for (let i = 0; i < hs.length; i++) {
      if (ks[i] !== key) continue;
      if (list) for (const v of splitList(hs[i].value)) out.push(v);
      else out.push(hs[i].value);
    }
    return out;
  }

  hasHeader(name: string): boolean {
    return this.keys().indexOf(headerKey(name)) >= 0;
  }

  /** Replace all lines of this header by one line (at the place of the first; name as the message wrote it). */
  setHeader(name: string, value: string): void {
    const key = headerKey(name);
    const first = this.keys().indexOf(key);
    if (first < 0) return this.insertLine(this._headers.length, name, key, value);
    this.removeLines(key, first + 1);
    this._headers[first] = { name: this._headers[first].name, value };
  }

  /** Add a line after the last line of this header (name as the message wrote it), or at the end. */
  addHeader(name: string, value: string): void {
    const key = headerKey(name);
    const last = this.keys().lastIndexOf(key);
    if (last < 0) this.insertLine(this._headers.length, name, key, value);
    else this.insertLine(last + 1, this._headers[last].name, key, value);
  }

  /** Add a line before the first line of this header, or at the top (RFC 3261 §16.6 step 8 for Via). */
  prependHeader(name: string, value: string): void {
    const key = headerKey(name);
    const first = this.keys().indexOf(key);
    if (first < 0) this.insertLine(0, name, key, value);
    else this.insertLine(first, this._headers[first].name, key, value);
  }

  /** Remove every line of this header. */
  removeHeader(name: string): void {
    this.removeLines(headerKey(name), 0);
  }

  /** Insert line `name: value` (look-up key `key`) at index `at`. */
  private insertLine(at: number, name: string, key: string, value: string): void {
    const ks = this.keys();
    this.headersWillChange();
    this._headers.splice(at, 0, { name, value });
    ks.splice(at, 0, key);
  }

  /** Remove the lines with look-up key `key` from index `from` on. */
  private removeLines(key: string, from: number): void {
    const hs = this._headers;
    const ks = this.keys();
    this.headersWillChange();
    for (let i = hs.length - 1; i >= from; i--) {
      if (ks[i] !== key) continue;
      hs.splice(i, 1);
      ks.splice(i, 1);
    }
  }

  /** Remove the first value of a list header (the top Via in a response, RFC 3261 §18.1.2; a Route, §16.4). */
  removeFirstValue(name: string): string | undefined {
    const hs = this._headers;
    const ks = this.keys();
    const i = ks.indexOf(headerKey(name));
    if (i < 0) return undefined;
    this.headersWillChange();
    const parts = splitList(hs[i].value);
    const first = parts.shift();
    if (parts.length > 0) hs[i] = { name: hs[i].name, value: parts.join(', ') };
    else {
      hs.splice(i, 1);
      ks.splice(i, 1);
    }
    return first;
  }

  /** The typed-header cache, created on first use and dropped on every change. */
  private typed(): TypedCache {
    let t = this._cache;
    if (t === undefined) t = this._cache = new TypedCache();
    return t;
  }

  /** The only value of a single-valued header; 400 if missing or repeated (RFC 3261 §8.1.1, §20). */
  private single(name: string): string {
    const key = headerKey(name);
    const hs = this._headers;
    const ks = this.keys();
    let found: string | undefined;
    for (let i = 0; i < hs.length; i++) {
      if (ks[i] !== key) continue;
      if (found !== undefined) throw new SipParseError(400, `more than one ${name}`);
      found = hs[i].value;
    }
    if (found === undefined) throw new SipParseError(400, `missing ${name}`);
    return found;
  }

  /** Call-ID (RFC 3261 §20.8): `word ["@" word]`, no whitespace. */
  get callId(): string {
    const t = this.typed();
    if (t.callId === undefined) {
      const v = this.single('Call-ID');
      if (v.length === 0 || /\s/.test(v)) throw new SipParseError(400, 'bad Call-ID');
      t.callId = v;
    }
    return t.callId;
  }

  /** CSeq (RFC 3261 §20.16): sequence number must fit 32 bits unsigned, method a token. */
  get cseq(): CSeq {
    const t = this.typed();
    if (t.cseq === undefined) t.cseq = parseCSeq(this.single('CSeq'));
    return t.cseq;
  }

  /** From (RFC 3261 §20.20). */
  get from(): NameAddr {
    const t = this.typed();
    if (t.from === undefined) t.from = parseNameAddr(this.single('From'));
    return t.from;
  }

  /** To (RFC 3261 §20.39). */
  get to(): NameAddr {
    const t = this.typed();
    if (t.to === undefined) t.to = parseNameAddr(this.single('To'));
    return t.to;
  }

  /** Every Via value, top first (RFC 3261 §20.42). 400 if none. */
  get vias(): Via[] {
    const t = this.typed();
    if (t.vias === undefined) {
      const values = this.getHeaders('Via');
      if (values.length === 0) throw new SipParseError(400, 'missing Via');
      const vias = new Array<Via>(values.length);
      // The top Via may be parsed already (`via`): the same value, no need to parse it twice.
      for (let i = 0; i < values.length; i++) vias[i] = i === 0 && t.via !== undefined ? t.via : parseVia(values[i]);
      t.vias = vias;
    }
    return t.vias;
  }

  /** Top Via. */
  get via(): Via {
    const t = this.typed();
    if (t.vias !== undefined) return t.vias[0];
    if (t.via === undefined) {
      const first = this.getHeader('Via');
      if (first === undefined) throw new SipParseError(400, 'missing Via');
      t.via = parseVia(first);
    }
    return t.via;
  }

  /**
   * @internal The header lines a response to this request copies (RFC 3261 §8.2.6.2: every
   * Via, From, To, Call-ID, CSeq; Timestamp in a 100, §8.2.6.1), in order, each ending in
   * CRLF, with `;tag=toTag` added to a To that has no tag: the text of a stateless answer,
   * written without building a response object (RFC 3261 §8.2.7).
   */
  responseCopyText(status: number, toTag: string | undefined): string {
    const hs = this._headers;
    const ks = this.keys();
    let out = '';
    for (let i = 0; i < hs.length; i++) {
      const k = ks[i];
      if (k === 'via' || k === 'from' || k === 'call-id' || k === 'cseq' || (status === 100 && k === 'timestamp')) {
        out += hs[i].name + ': ' + hs[i].value + CRLF;
      } else if (k === 'to') {
        out += hs[i].name + ': ' + hs[i].value;
        if (toTag !== undefined && !this.toHasTag()) out += ';tag=' + toTag;
        out += CRLF;
      }
    }
    return out;
  }

  /** Whether the To header carries a tag (false when it cannot be parsed). */
  private toHasTag(): boolean {
    try {
      return getParam(this.to.params, 'tag') !== undefined;
    } catch {
      return false;
    }
  }

  /** Header text encoding (`latin1` when the message came as bytes that are not UTF-8). */
  get encoding(): 'utf8' | 'latin1' {
    return this._encoding;
  }

  /** @internal The raw value of the first line of a header (no list splitting), or undefined. */
  firstLine(name: string): string | undefined {
    const i = this.keys().indexOf(headerKey(name));
    return i < 0 ? undefined : this._headers[i].value;
  }

  /**
   * @internal Replace the value of the first line of a header whose line holds one value only
   * (the caller checked), keeping the parsed top Via the caller already has for it
   * (`parsed`, for `Via`): the transport layer's `received`/`rport` stamp.
   */
  replaceFirstLine(name: string, value: string, parsed?: Via): void {
    const key = headerKey(name);
    const i = this.keys().indexOf(key);
    if (i < 0) return;
    this.headersWillChange();
    this._headers[i] = { name: this._headers[i].name, value };
    if (parsed !== undefined && key === 'via') this.typed().via = parsed;
  }

  /**
   * @internal Take over the parsed Via values of `other`, whose Via lines this message carries
   * unchanged (a response built from its request, RFC 3261 §8.2.6.2): no second parse.
   */
  adoptVias(other: SipMessageBaseImpl): void {
    const theirs = other._cache;
    if (theirs === undefined || (theirs.via === undefined && theirs.vias === undefined)) return;
    const t = this.typed();
    t.via = theirs.vias !== undefined ? theirs.vias[0] : theirs.via;
    t.vias = theirs.vias;
  }

  /** Contact values (RFC 3261 §20.10); `[]` when absent or `*` (see {@link contactWildcard}). */
  get contacts(): NameAddr[] {
    const t = this.typed();
    if (t.contacts === undefined) {
      const values = this.getHeaders('Contact');
      if (values.length === 1 && values[0] === '*') t.contacts = [];
      else {
        t.contacts = values.map((v) => {
          if (v === '*') throw new SipParseError(400, 'Contact * mixed with other values (RFC 3261 §10.2.2)');
          return parseNameAddr(v);
        });
      }
    }
    return t.contacts;
  }

  /** Route values in order (RFC 3261 §20.34). */
  get routes(): NameAddr[] {
    const t = this.typed();
    if (t.routes === undefined) t.routes = this.getHeaders('Route').map(parseNameAddr);
    return t.routes;
  }

  /** Record-Route values in order (RFC 3261 §20.30). */
  get recordRoutes(): NameAddr[] {
    const t = this.typed();
    if (t.recordRoutes === undefined) t.recordRoutes = this.getHeaders('Record-Route').map(parseNameAddr);
    return t.recordRoutes;
  }

  /** Max-Forwards (RFC 3261 §20.22), `undefined` when absent (RFC 2543 peers). Values above 255 are clamped. */
  get maxForwards(): number | undefined {
    const t = this.typed();
    if (t.maxForwards === undefined) {
      const lines = this.getHeaderLines('Max-Forwards');
      if (lines.length > 1) throw new SipParseError(400, 'more than one Max-Forwards');
      if (lines.length === 0) t.maxForwards = null;
      else {
        const v = parseDigits(lines[0]);
        if (v === undefined) throw new SipParseError(400, 'bad Max-Forwards');
        t.maxForwards = Math.min(v, 255);
      }
    }
    return t.maxForwards ?? undefined;
  }

  /** True when the message carries `Contact: *` (REGISTER removing all bindings, RFC 3261 §10.2.2). */
  get contactWildcard(): boolean {
    // A `*` line holds no list: the lines are compared as they are.
    const lines = this.getHeaderLines('Contact');
    return lines.length === 1 && lines[0] === '*';
  }

  /** The start line without CRLF. */
  abstract startLine(): string;

  /**
   * Serialise (RFC 3261 §7): start line, every header line in order with the name as written,
   * Content-Length set to the body length (the first Content-Length line is rewritten, others
   * dropped, one appended if none), empty line, body. An unmodified parsed message returns its
   * original bytes.
   */
  toBuffer(): Buffer {
    const original = this._original;
    return (
      original?.unchanged() ??
      OriginalBytes.serialise(this.startLine(), this._headers, this.keys(), this._body, this._encoding, original)
    );
  }

  /** The serialised message as text (header encoding; binary bodies are not meaningful as text). */
  toString(): string {
    return this.toBuffer().toString(this._encoding);
  }
}

/** Typed headers parsed so far (one fixed shape; `undefined` = not parsed yet). */
class TypedCache {
  callId: string | undefined = undefined;
  cseq: CSeq | undefined = undefined;
  from: NameAddr | undefined = undefined;
  to: NameAddr | undefined = undefined;
  via: Via | undefined = undefined;
  vias: Via[] | undefined = undefined;
  contacts: NameAddr[] | undefined = undefined;
  routes: NameAddr[] | undefined = undefined;
  recordRoutes: NameAddr[] | undefined = undefined;
  /** `null` = parsed, absent. */
  maxForwards: number | null | undefined = undefined;
}
