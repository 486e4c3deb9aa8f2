/**
 * Shared implementation of requests and responses (RFC 3261 §7): ordered raw header lines,
 * lazily parsed and cached typed headers, serialisation.
 */
import { SipParseError, type CSeq, type HeaderField, type NameAddr, type Via } from './types.js';
import { headerKey, isListHeader } from './header-names.js';
import { parseDigits, splitList } from './sip-syntax.js';
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
  /** Header text encoding: `utf8` unless the message came with bytes that are not valid UTF-8. */
  protected _encoding: 'utf8' | 'latin1';
  private _cache: Map<string, unknown> | undefined;
  /** Look-up keys of `_headers` (lazy), kept in step by the mutators. */
  private _keys: string[] | undefined;
  /** The header names `_keys` were computed from: lets `keys()` notice edits made through `headers`. */
  private _keyNames: string[] | undefined;

  protected constructor(headers: HeaderField[], body: Buffer, encoding: 'utf8' | 'latin1' = 'utf8') {
    this._headers = headers;
    this._body = body;
    this._encoding = encoding;
  }

  /** Header lines in order. Handing out the array means it may be changed, so the message stops reusing its original bytes. */
  get headers(): HeaderField[] {
    this.touch();
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
    this._raw = undefined;
  }

  /** Mark modified: forget the original bytes and the typed-header cache. */
  protected touch(): void {
    this._raw = undefined;
    this._cache = undefined;
  }

  /** A header line changed through our own methods: keys stay valid (they are kept in step). */
  private changed(): void {
    this._raw = undefined;
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

  /** Splice the key arrays exactly as `_headers` was spliced (see keys()). */
  private spliceKeys(i: number, remove: number, name?: string, key?: string): void {
    const ks = this._keys;
    const nm = this._keyNames;
    if (ks === undefined || nm === undefined) return;
    if (name === undefined || key === undefined) {
      ks.splice(i, remove);
      nm.splice(i, remove);
    } else {
      ks.splice(i, remove, key);
      nm.splice(i, remove, name);
    }
  }

  /** @internal used by the parser: remember the original bytes (only when they equal what `toBuffer` would write). */
  setRaw(raw: Buffer | undefined): void {
    this._raw = raw;
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

  protected cached<T>(key: string, compute: () => T): T {
    let c = this._cache;
    if (c === undefined) c = this._cache = new Map<string, unknown>();
    if (c.has(key)) return c.get(key) as T;
    const v = compute();
    c.set(key, v);
    return v;
  }

  /** The only value of a single-valued header; 400 if missing or repeated (RFC 3261 §8.1.1, §20). */
  protected single(name: string): string {
    const lines = this.getHeaderLines(name);
    if (lines.length === 0) throw new SipParseError(400, `missing ${name}`);
    if (lines.length > 1) throw new SipParseError(400, `more than one ${name}`);
    return lines[0];
  }

  /** Call-ID (RFC 3261 §20.8): `word ["@" word]`, no whitespace. */
  get callId(): string {
    return this.cached('call-id', () => {
      const v = this.single('Call-ID');
      if (v.length === 0 || /\s/.test(v)) throw new SipParseError(400, 'bad Call-ID');
      return v;
    });
  }

  /** CSeq (RFC 3261 §20.16): sequence number must fit 32 bits unsigned, method a token. */
  get cseq(): CSeq {
    return this.cached('cseq', () => {
      const v = this.single('CSeq');
      const m = /^(\d+)\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(v);
      if (!m) throw new SipParseError(400, 'bad CSeq');
      const seq = m[1].length > 12 ? Infinity : Number(m[1]);
      if (seq > 0xffffffff) throw new SipParseError(400, 'CSeq number too large (RFC 3261 §8.1.1.5)');
      return { seq, method: m[2] };
    });
  }

  /** From (RFC 3261 §20.20). */
  get from(): NameAddr {
    return this.cached('from', () => parseNameAddr(this.single('From')));
  }

  /** To (RFC 3261 §20.39). */
  get to(): NameAddr {
    return this.cached('to', () => parseNameAddr(this.single('To')));
  }

  /** Every Via value, top first (RFC 3261 §20.42). 400 if none. */
  get vias(): Via[] {
    return this.cached('via', () => {
      const values = this.getHeaders('Via');
      if (values.length === 0) throw new SipParseError(400, 'missing Via');
      return values.map(parseVia);
    });
  }

  /** Top Via. */
  get via(): Via {
    return this.cached('via0', () => {
      const first = this.getHeader('Via');
      if (first === undefined) throw new SipParseError(400, 'missing Via');
      const c = this._cache;
      if (c !== undefined && c.has('via')) return (c.get('via') as Via[])[0];
      return parseVia(first);
    });
  }

  /** Contact values (RFC 3261 §20.10); `[]` when absent or `*` (see {@link contactWildcard}). */
  get contacts(): NameAddr[] {
    return this.cached('contact', () => {
      const values = this.getHeaders('Contact');
      if (values.length === 1 && values[0] === '*') return [];
      return values.map((v) => {
        if (v === '*') throw new SipParseError(400, 'Contact * mixed with other values (RFC 3261 §10.2.2)');
        return parseNameAddr(v);
      });
    });
  }

  /** True when the message carries `Contact: *` (REGISTER removing all bindings, RFC 3261 §10.2.2). */
  get contactWildcard(): boolean {
    const values = this.getHeaders('Contact');
    return values.length === 1 && values[0] === '*';
  }

  /** Route values in order (RFC 3261 §20.34). */
  get routes(): NameAddr[] {
    return this.cached('route', () => this.getHeaders('Route').map(parseNameAddr));
  }

  /** Record-Route values in order (RFC 3261 §20.30). */
  get recordRoutes(): NameAddr[] {
    return this.cached('record-route', () => this.getHeaders('Record-Route').map(parseNameAddr));
  }

  /** Max-Forwards (RFC 3261 §20.22), `undefined` when absent (RFC 2543 peers). Values above 255 are clamped. */
  get maxForwards(): number | undefined {
    return this.cached('max-forwards', () => {
      const lines = this.getHeaderLines('Max-Forwards');
      if (lines.length === 0) return undefined;
      if (lines.length > 1) throw new SipParseError(400, 'more than one Max-Forwards');
      const v = parseDigits(lines[0]);
      if (v === undefined) throw new SipParseError(400, 'bad Max-Forwards');
      return Math.min(v, 255);
    });
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
    let head = this.startLine() + CRLF;
    const hs = this._headers;
    let clWritten = false;
    const len = String(this._body.length);
    const ks = this.keys();
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i];
      if (ks[i] === 'content-length') {
        if (clWritten) continue;
        clWritten = true;
        head += h.name + ': ' + len + CRLF;
      } else head += h.name + ': ' + h.value + CRLF;
    }
    if (!clWritten) head += 'Content-Length: ' + len + CRLF;
    head += CRLF;
    const body = this._body;
    // ASCII header text (the usual case) is written with the cheaper latin1 encoder.
    const enc = this._encoding === 'latin1' ? 'latin1' : Buffer.byteLength(head, 'utf8') === head.length ? 'latin1' : 'utf8';
    const headLen = enc === 'latin1' ? head.length : Buffer.byteLength(head, 'utf8');
    const out = Buffer.allocUnsafe(headLen + body.length);
    out.write(head, 0, enc);
    if (body.length > 0) body.copy(out, headLen);
    return out;
  }

  /** The serialised message as text (header encoding; binary bodies are not meaningful as text). */
  toString(): string {
    return this.toBuffer().toString(this._encoding);
  }
}
