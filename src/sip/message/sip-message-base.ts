/**
 * Shared implementation of requests and responses (RFC 3261 §7): ordered raw header lines,
 * lazily parsed and cached typed headers, serialisation.
 */
import { SipParseError, type CSeq, type HeaderField, type NameAddr, type Via } from './types.js';
import { headerKey, isListHeader } from './header-names.js';
import { getParam, isToken, parseDigits, splitList } from './sip-syntax.js';
import { parseNameAddr } from './parse-name-addr.js';
import { parseVia } from './parse-via.js';

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
  /** The exact bytes this message was parsed from while it is unmodified (fast serialisation). */
  protected _raw: Buffer | undefined;
  /** The same bytes as a range of `_src` not sliced yet (`_rawEnd < 0`: none): a view is made only if asked for. */
  private _rawStart = 0;
  private _rawEnd = -1;
  /** Span arrays owed (see {@link materializeSpans}) and the line changed meanwhile. */
  private _spansPending = false;
  private _pendingChanged = -1;
  /** Header text encoding: `utf8` unless the message came with bytes that are not valid UTF-8. */
  protected _encoding: 'utf8' | 'latin1';
  private _cache: TypedCache | undefined;
  /** Look-up keys of `_headers` (lazy), kept in step by the mutators. */
  private _keys: string[] | undefined;
  /** The header names `_keys` were computed from: lets `keys()` notice edits made through `headers`. */
  private _keyNames: string[] | undefined;
  /** The `headers` array was handed out (it may have been edited behind our back since). */
  private _exposed = false;
  /**
   * Original bytes of each header line, kept in step with `_headers` once the message is first
   * changed: serialising a modified message copies unchanged lines instead of re-encoding them.
   * `_spanStart[i] < 0` = a line we wrote; `_spanValue[i]` = the value the bytes stand for.
   */
  private _src: Buffer | undefined;
  /** Parser's byte offsets of the header lines in `_src` (start, end pairs), until first needed. */
  private _lineOffsets: number[] | undefined;
  private _spanStart: number[] | undefined;
  private _spanEnd: number[] | undefined;
  private _spanValue: string[] | undefined;

  protected constructor(headers: HeaderField[], body: Buffer, encoding: 'utf8' | 'latin1' = 'utf8') {
    this._headers = headers;
    this._body = body;
    this._encoding = encoding;
  }

  /** Header lines in order. Handing out the array means it may be changed, so the message stops reusing its original bytes. */
  get headers(): HeaderField[] {
    this.touch();
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
    this._body = b;
    this.dropRaw();
  }

  /** Mark modified: forget the original bytes and the typed-header cache. */
  protected touch(): void {
    this.dropRaw();
    this._cache = undefined;
  }

  /**
   * The message is about to differ from its original bytes: stop returning them, but remember
   * where each (still unchanged) header line sits in them, for {@link toBuffer}.
   */
  protected dropRaw(): void {
    if (this._spansPending) {
      this.materializeSpans();
      return;
    }
    if (this._raw === undefined && this._rawEnd < 0) return;
    this._raw = undefined;
    this._rawEnd = -1;
    this.indexSpans(-1);
  }

  /**
   * The span arrays of a message changed only by {@link replaceFirstLine} are built when first
   * needed (serialisation, another change), with that one line marked as written by us: a
   * request that is only answered (REGISTER, OPTIONS) never builds them.
   */
  private materializeSpans(): void {
    this._spansPending = false;
    const changedLine = this._pendingChanged;
    this._pendingChanged = -1;
    this.indexSpans(changedLine);
  }

  /** Turn the parser's flat line offsets into the per-line span arrays kept in step with `_headers`; line `changedLine` (if ≥ 0) is not the original's. */
  private indexSpans(changedLine: number): void {
    const flat = this._lineOffsets;
    const hs = this._headers;
    this._lineOffsets = undefined;
    if (flat === undefined || flat.length !== 2 * hs.length) return;
    const n = hs.length;
    const starts = new Array<number>(n);
    const ends = new Array<number>(n);
    const values = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      starts[i] = i === changedLine ? -1 : flat[2 * i];
      ends[i] = i === changedLine ? -1 : flat[2 * i + 1];
      values[i] = i === changedLine ? '' : hs[i].value;
    }
    this.keys();
    this._spanStart = starts;
    this._spanEnd = ends;
    this._spanValue = values;
  }

  /** A header line changed through our own methods: keys stay valid (they are kept in step). */
  private changed(): void {
    this.dropRaw();
    this._cache = undefined;
  }

  /**
   * Look-up key of every header line, in order. Kept in step by the mutators; if the `headers`
   * array was edited directly, the name check (pointer compares, cheap) notices and rebuilds.
   */
  private keys(): string[] {
    const hs = this._headers;
    let ks = this._keys;
    const names = this._keyNames;
    // Only a handed-out array can have changed without the mutators keeping the keys in step.
    if (ks !== undefined && !this._exposed) return ks;
    if (ks !== undefined && names !== undefined && names.length === hs.length) {
      let ok = true;
      for (let i = 0; i < hs.length; i++) {
        if (hs[i].name !== names[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return ks;
    }
    // Lines changed behind our back: the byte spans can no longer be matched to lines.
    this._spanStart = this._spanEnd = this._spanValue = undefined;
    ks = new Array<string>(hs.length);
    const nm = new Array<string>(hs.length);
    for (let i = 0; i < hs.length; i++) {
      nm[i] = hs[i].name;
      ks[i] = headerKey(nm[i]);
    }
    this._keys = ks;
    this._keyNames = nm;
    return ks;
  }

  /** Splice the key (and span) arrays exactly as `_headers` was spliced (see keys()). */
  private spliceKeys(i: number, remove: number, name?: string, key?: string): void {
    const ks = this._keys;
    const nm = this._keyNames;
    if (ks === undefined || nm === undefined) return;
    const ss = this._spanStart;
    const se = this._spanEnd;
    const sv = this._spanValue;
    if (name === undefined || key === undefined) {
      ks.splice(i, remove);
      nm.splice(i, remove);
      if (ss && se && sv) {
        ss.splice(i, remove);
        se.splice(i, remove);
        sv.splice(i, remove);
      }
    } else {
      ks.splice(i, remove, key);
      nm.splice(i, remove, name);
      if (ss && se && sv) {
        ss.splice(i, remove, -1);
        se.splice(i, remove, -1);
        sv.splice(i, remove, '');
      }
    }
  }

  /**
   * @internal used by the parser: the exact bytes of this message (returned by `toBuffer` while
   * unmodified) and, optionally, `[start, end)` offsets in `src` of every header line.
   */
  setRaw(raw: Buffer, src?: Buffer, lineOffsets?: number[]): void {
    this._raw = raw;
    this._src = src;
    this._lineOffsets = lineOffsets;
  }

  /** @internal {@link setRaw} with the bytes given as `[start, end)` of `src` (no view made until needed). */
  setRawRange(src: Buffer, start: number, end: number, lineOffsets?: number[]): void {
    this._raw = undefined;
    this._spansPending = false;
    this._pendingChanged = -1;
    this._src = src;
    this._rawStart = start;
    this._rawEnd = end;
    this._lineOffsets = lineOffsets;
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
    const hs = this._headers;
    const ks = this.keys();
    for (let i = 0; i < hs.length; i++) {
      if (ks[i] === key) {
        const v = hs[i].value;
        return isListHeader(key) ? splitList(v)[0] : v;
      }
    }
    return undefined;
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
    const key = headerKey(name);
    const hs = this._headers;
    const ks = this.keys();
    for (let i = 0; i < hs.length; i++) if (ks[i] === key) return true;
    return false;
  }

  /** Replace all lines of this header by one line (at the place of the first; name as the message wrote it). */
  setHeader(name: string, value: string): void {
    const key = headerKey(name);
    const hs = this._headers;
    const ks = this.keys();
    this.changed();
    let first = -1;
    for (let i = 0; i < hs.length; i++) {
      if (ks[i] !== key) continue;
      if (first < 0) {
        first = i;
        hs[i] = { name: hs[i].name, value };
      } else {
        hs.splice(i, 1);
        this.spliceKeys(i, 1);
        i--;
      }
    }
    if (first < 0) {
      hs.push({ name, value });
      this.spliceKeys(hs.length - 1, 0, name, key);
    }
  }

  /** Add a line after the last line of this header, or at the end. */
  addHeader(name: string, value: string): void {
    const key = headerKey(name);
    const hs = this._headers;
    const ks = this.keys();
    this.changed();
    for (let i = hs.length - 1; i >= 0; i--) {
      if (ks[i] === key) {
        const written = hs[i].name;
        hs.splice(i + 1, 0, { name: written, value });
        this.spliceKeys(i + 1, 0, written, key);
        return;
      }
    }
    hs.push({ name, value });
    this.spliceKeys(hs.length - 1, 0, name, key);
  }

  /** Add a line before the first line of this header, or at the top (RFC 3261 §16.6 step 8 for Via). */
  prependHeader(name: string, value: string): void {
    const key = headerKey(name);
    const hs = this._headers;
    const ks = this.keys();
    this.changed();
    for (let i = 0; i < hs.length; i++) {
      if (ks[i] === key) {
        const written = hs[i].name;
        hs.splice(i, 0, { name: written, value });
        this.spliceKeys(i, 0, written, key);
        return;
      }
    }
    hs.unshift({ name, value });
    this.spliceKeys(0, 0, name, key);
  }

  /** Remove every line of this header. */
  removeHeader(name: string): void {
    const key = headerKey(name);
    const hs = this._headers;
    const ks = this.keys();
    this.changed();
    for (let i = hs.length - 1; i >= 0; i--) {
      if (ks[i] === key) {
        hs.splice(i, 1);
        this.spliceKeys(i, 1);
      }
    }
  }

  /** Remove the first value of a list header (the top Via in a response, RFC 3261 §18.1.2; a Route, §16.4). */
  removeFirstValue(name: string): string | undefined {
    const key = headerKey(name);
    const hs = this._headers;
    const ks = this.keys();
    for (let i = 0; i < hs.length; i++) {
      if (ks[i] !== key) continue;
      this.changed();
      const parts = splitList(hs[i].value);
      const first = parts.shift();
      if (parts.length === 0) {
        hs.splice(i, 1);
        this.spliceKeys(i, 1);
      } else hs[i] = { name: hs[i].name, value: parts.join(', ') };
      return first;
    }
    return undefined;
  }

  /** The typed-header cache, created on first use and dropped on every change. */
  private typed(): TypedCache {
    let t = this._cache;
    if (t === undefined) t = this._cache = new TypedCache();
    return t;
  }

  /** The only value of a single-valued header; 400 if missing or repeated (RFC 3261 §8.1.1, §20). */
  protected single(name: string): string {
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
   * @internal Replace the top Via value by `value`, whose parsed form the caller already has
   * (`parsed` must be what `parseVia(value)` returns): the transport layer's `received`/`rport`
   * stamp (RFC 3261 §18.2.1, RFC 3581 §4), so the stamped Via is not parsed again. As before, the
   * Via values end up on one line (`a, b, …`) when there were several.
   */
  setTopVia(value: string, parsed: Via): void {
    const lines = this.getHeaderLines('Via');
    if (lines.length === 1 && lines[0].indexOf(',') < 0) this.setHeader('Via', value);
    else {
      const all = this.getHeaders('Via');
      all[0] = value;
      this.setHeader('Via', all.join(', '));
    }
    this.typed().via = parsed;
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
    const key = headerKey(name);
    const hs = this._headers;
    const ks = this.keys();
    for (let i = 0; i < hs.length; i++) if (ks[i] === key) return hs[i].value;
    return undefined;
  }

  /**
   * @internal Replace the value of the first line of a header whose line holds one value only
   * (the caller checked), keeping the parsed top Via the caller already has for it
   * (`parsed`, for `Via`): the transport layer's `received`/`rport` stamp.
   */
  replaceFirstLine(name: string, value: string, parsed?: Via): void {
    const key = headerKey(name);
    const hs = this._headers;
    const ks = this.keys();
    for (let i = 0; i < hs.length; i++) {
      if (ks[i] !== key) continue;
      if (!this._spansPending && (this._raw !== undefined || this._rawEnd >= 0) && this._lineOffsets !== undefined) {
        // First change of a parsed message: the original bytes go, the span arrays are owed.
        this._raw = undefined;
        this._rawEnd = -1;
        this._spansPending = true;
        this._pendingChanged = i;
        this._cache = undefined;
      } else this.changed();
      hs[i] = { name: hs[i].name, value };
      if (parsed !== undefined && key === 'via') this.typed().via = parsed;
      return;
    }
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
    // One Contact line whose value is `*` (a `*` line holds no list, so no splitting needed).
    const hs = this._headers;
    const ks = this.keys();
    let found = false;
    for (let i = 0; i < hs.length; i++) {
      if (ks[i] !== 'contact') continue;
      if (found || hs[i].value !== '*') return false;
      found = true;
    }
    return found;
  }

  /** Option tags of every Require line (RFC 3261 §20.32). */
  get require(): string[] {
    return this.getHeaders('Require').filter((t) => t.length > 0);
  }

  /** Option tags of every Supported line (RFC 3261 §20.37). */
  get supported(): string[] {
    return this.getHeaders('Supported').filter((t) => t.length > 0);
  }

  /** Media type of the body without parameters, lower-case (RFC 3261 §20.15), or undefined. */
  get contentType(): string | undefined {
    const v = this.getHeader('Content-Type');
    if (v === undefined) return undefined;
    const semi = v.indexOf(';');
    return (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
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
    if (this._raw !== undefined) return this._raw;
    if (this._rawEnd >= 0) return (this._raw = (this._src as Buffer).subarray(this._rawStart, this._rawEnd));
    if (this._spansPending) this.materializeSpans();
    const hs = this._headers;
    const ks = this.keys();
    const src = this._src;
    const ss = this._spanStart;
    const se = this._spanEnd;
    const sv = this._spanValue;
    const names = this._keyNames;
    const useSpans = src !== undefined && ss !== undefined && se !== undefined && sv !== undefined && names !== undefined && ss.length === hs.length;
    const len = String(this._body.length);
    // Pieces to write: text, or [start, end) byte ranges of the original message.
    const texts: string[] = [];
    const spanFrom: number[] = [];
    const spanTo: number[] = [];
    let text = this.startLine() + CRLF;
    let clWritten = false;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i];
      if (ks[i] === 'content-length') {
        if (clWritten) continue;
        clWritten = true;
        text += h.name + ': ' + len + CRLF;
      } else if (useSpans && ss[i] >= 0 && h.value === sv[i] && h.name === names[i]) {
        const last = spanTo.length - 1;
        if (text.length === 0 && last >= 0 && spanTo[last] === ss[i]) spanTo[last] = se[i];
        else {
          texts.push(text);
          text = '';
          spanFrom.push(ss[i]);
          spanTo.push(se[i]);
        }
      } else text += h.name + ': ' + h.value + CRLF;
    }
    if (!clWritten) text += 'Content-Length: ' + len + CRLF;
    texts.push(text + CRLF);
    const body = this._body;
    // ASCII header text (the usual case) is written with the cheaper latin1 encoder.
    const latin = this._encoding === 'latin1';
    let total = body.length;
    const lens = new Array<number>(texts.length);
    for (let k = 0; k < texts.length; k++) {
      const t = texts[k];
      lens[k] = latin ? t.length : Buffer.byteLength(t, 'utf8');
      total += lens[k];
    }
    for (let k = 0; k < spanFrom.length; k++) total += spanTo[k] - spanFrom[k];
    const out = Buffer.allocUnsafe(total);
    let off = 0;
    for (let k = 0; k < texts.length; k++) {
      const t = texts[k];
      if (lens[k] > 0) out.write(t, off, latin || lens[k] === t.length ? 'latin1' : 'utf8');
      off += lens[k];
      if (k < spanFrom.length) off += (src as Buffer).copy(out, off, spanFrom[k], spanTo[k]);
    }
    if (body.length > 0) body.copy(out, off);
    return out;
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

/** `CSeq: 1*DIGIT LWS Method` (RFC 3261 §20.16); the number must fit 32 bits unsigned (§8.1.1.5). */
function parseCSeq(v: string): CSeq {
  let i = 0;
  let seq = 0;
  while (i < v.length) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    seq = seq * 10 + d;
    i++;
  }
  if (i === 0) throw new SipParseError(400, 'bad CSeq');
  if (i > 10 || seq > 0xffffffff) throw new SipParseError(400, 'CSeq number too large (RFC 3261 §8.1.1.5)');
  const ws = i;
  while (i < v.length && (v.charCodeAt(i) === 0x20 || v.charCodeAt(i) === 0x09)) i++;
  if (i === ws || i === v.length) throw new SipParseError(400, 'bad CSeq');
  const method = v.slice(i);
  if (!isToken(method)) throw new SipParseError(400, 'bad CSeq method');
  return { seq, method };
}
