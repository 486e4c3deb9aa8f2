/**
 * Low-level lexical helpers of the SIP grammar (RFC 3261 §25.1): tokens, quoted strings,
 * list splitting and generic parameters. Everything works on strings with `charCodeAt`,
 * no regular expressions over whole messages.
 */
import { SipParseError, type ParamList } from './types.js';

const TOKEN = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

/** `token` character (RFC 3261 §25.1). */
export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** True if `s` is a non-empty `token` (RFC 3261 §25.1). */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) return false;
  }
  return true;
}

/** SP or HTAB (folding was already turned into SP). */
export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Index of the first non-whitespace character at or after `i`. */
export function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/**
 * End index (exclusive, after the closing quote) of the quoted-string starting at `i`
 * (which must be `"`), honouring quoted-pairs (RFC 3261 §25.1). -1 if unterminated.
 */
export function quotedStringEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return -1;
}

/** Remove surrounding quotes and resolve quoted-pairs (`\"` → `"`). Unquoted input is returned as is. */
export function unquote(s: string): string {
  if (s.length < 2 || s.charCodeAt(0) !== 0x22 || s.charCodeAt(s.length - 1) !== 0x22) return s;
  const inner = s.slice(1, -1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === '\\' && i + 1 < inner.length) {
      out += inner[i + 1];
      i++;
    } else out += c;
  }
  return out;
}

/** Quote a string for a quoted-string production, escaping `"` and `\` (RFC 3261 §25.1). */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

/**
 * Split a header value on top-level commas: commas inside quoted strings, `<…>` and
 * `(…)` comments do not split (RFC 3261 §7.3.1). Elements are trimmed; empty elements
 * are kept so that callers can reject them.
 */
export function splitList(value: string): string[] {
  // Fast path: no comma at all.
  if (value.indexOf(',') < 0) return [value];
  const out: string[] = [];
  let start = 0;
  let angle = false;
  let paren = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22) {
      const e = quotedStringEnd(value, i);
      if (e < 0) break; // unbalanced quote: the rest is one element (the parser will reject it)
      i = e - 1;
    } else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x28) paren++;
    else if (c === 0x29) {
      if (paren > 0) paren--;
    } else if (c === 0x2c && !angle && paren === 0) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}

/** Result of {@link parseParamsAt}. */
export interface ParamsResult {
  params: ParamList;
  /** Index where parsing stopped (end of string, or a character that is not `;`). */
  end: number;
}

/**
 * Parse `*( SEMI generic-param )` starting at `i` (RFC 3261 §25.1 `generic-param`):
 * `;name`, `;name=token`, `;name=host` (IPv6 references included) or `;name="quoted"`.
 * Whitespace around `;` and `=` is allowed (RFC 3261 §25.1 SEMI/EQUAL). Values are kept as
 * written (quotes included). Throws 400 on an empty name or value.
 */
export function parseParamsAt(s: string, i: number, what: string): ParamsResult {
  const params: ParamList = [];
  const n = s.length;
  for (;;) {
    i = skipWs(s, i);
    if (i >= n || s.charCodeAt(i) !== 0x3b) return { params, end: i };
    i = skipWs(s, i + 1);
    const ns = i;
    while (i < n && isTokenChar(s.charCodeAt(i))) i++;
    if (i === ns) throw new SipParseError(400, `empty parameter in ${what}`);
    const name = s.slice(ns, i);
    let j = skipWs(s, i);
    if (j < n && s.charCodeAt(j) === 0x3d) {
      j = skipWs(s, j + 1);
      const vs = j;
      const c = s.charCodeAt(j);
      if (c === 0x22) {
        const e = quotedStringEnd(s, j);
        if (e < 0) throw new SipParseError(400, `unterminated quoted parameter in ${what}`);
        j = e;
      } else if (c === 0x5b) {
        const e = s.indexOf(']', j);
        if (e < 0) throw new SipParseError(400, `unterminated IPv6 reference in ${what}`);
        j = e + 1;
      } else if (c === 0x3c) {
        // FIXME(RFC 3261 §25.1 gen-value): some phones send +sip.instance=<urn:…> unquoted; accepted as written.
        const e = s.indexOf('>', j);
        if (e < 0) throw new SipParseError(400, `unterminated <> parameter value in ${what}`);
        j = e + 1;
      } else {
        // token, plus ':' for bare IPv6 received values (RFC 5118 §4.5) and '/' '[' ']' seen in the wild.
        while (j < n) {
          const d = s.charCodeAt(j);
          if (isTokenChar(d) || d === 0x3a || d === 0x2f || d === 0x5b || d === 0x5d) j++;
          else break;
        }
      }
      if (j === vs) throw new SipParseError(400, `empty value for parameter ${name} in ${what}`);
      params.push([name, s.slice(vs, j)]);
      i = j;
    } else {
      params.push([name, null]);
    }
  }
}

/**
 * Value of a parameter, case-insensitive name (RFC 3261 §7.3.1): the value, `null` for a
 * parameter without value, `undefined` when absent.
 */
export function getParam(params: ParamList, name: string): string | null | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p[0] === name || p[0].toLowerCase() === lower) return p[1];
  }
  return undefined;
}

/** `;a=b;c` form of a parameter list. */
export function formatParams(params: ParamList): string {
  let out = '';
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    out += p[1] === null ? `;${p[0]}` : `;${p[0]}=${p[1]}`;
  }
  return out;
}

/** Resolve `%HH` escapes (RFC 3261 §19.1.2, RFC 3986 §2.1); malformed escapes are kept literally. Works byte-wise (latin1). */
export function percentDecode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '%' && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += c;
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Parse an unsigned decimal made only of digits; `undefined` if anything else (empty, sign, spaces inside). */
export function parseDigits(s: string): number | undefined {
  if (s.length === 0) return undefined;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return v;
}

/** Words looked up by length, for {@link constantAt}. */
export type ConstantTable = ReadonlyArray<readonly string[] | undefined>;

/** A {@link ConstantTable} of these words. */
export function constantTable(words: readonly string[]): ConstantTable {
  const byLen: string[][] = [];
  for (const w of words) (byLen[w.length] ??= []).push(w);
  return byLen;
}

/**
 * The word of `table` that `s` holds at `[start, end)`, exact case, or undefined: a constant
 * string instead of a slice (header and parameter names on hot paths).
 */
export function constantAt(table: ConstantTable, s: string, start: number, end: number): string | undefined {
  const list = table[end - start];
  if (list === undefined) return undefined;
  for (let k = 0; k < list.length; k++) if (s.startsWith(list[k], start)) return list[k];
  return undefined;
}
