/**
 * Parsing and writing of `Digest` credentials and challenges (RFC 3261 §25.1 `credentials`,
 * `challenge`; RFC 7616 §3.3, §3.4).
 */
import { constantAt, constantTable } from '../message/sip-syntax.js';

/** One parsed `Digest …` header value: scheme plus lower-cased parameter names. */
export interface AuthParams {
  scheme: string;
  params: Map<string, string>;
}

/**
 * The parameters of `Digest` credentials a server checks (RFC 7616 §3.4), first occurrence of
 * each; a fixed shape instead of a Map for the per-request path.
 */
export class DigestFields {
  scheme = '';
  username: string | undefined = undefined;
  realm: string | undefined = undefined;
  nonce: string | undefined = undefined;
  uri: string | undefined = undefined;
  response: string | undefined = undefined;
  algorithm: string | undefined = undefined;
  cnonce: string | undefined = undefined;
  qop: string | undefined = undefined;
  nc: string | undefined = undefined;

  /** Keep the first value of a known name (lower case, as {@link scanAuthHeader} gives it). */
  param(name: string, value: string): void {
    switch (name) {
      case 'username':
        this.username ??= value;
        break;
      case 'realm':
        this.realm ??= value;
        break;
      case 'nonce':
        this.nonce ??= value;
        break;
      case 'uri':
        this.uri ??= value;
        break;
      case 'response':
        this.response ??= value;
        break;
      case 'algorithm':
        this.algorithm ??= value;
        break;
      case 'cnonce':
        this.cnonce ??= value;
        break;
      case 'qop':
        this.qop ??= value;
        break;
      case 'nc':
        this.nc ??= value;
        break;
    }
  }
}

/** Every parameter, first occurrence of each name. */
class MapSink {
  readonly params = new Map<string, string>();
  param(name: string, value: string): void {
    if (!this.params.has(name)) this.params.set(name, value);
  }
}

/**
 * Parse `Digest a=b, c="d, e"` (quoted strings with `\` escapes, RFC 3261 §25.1). Returns
 * `undefined` when the value is not syntactically an auth header. Bounded: at most 64 params.
 */
export function parseAuthHeader(value: string): AuthParams | undefined {
  const sink = new MapSink();
  const scheme = scanAuthHeader(value, sink);
  return scheme === undefined ? undefined : { scheme, params: sink.params };
}

/** {@link parseAuthHeader} into the fields a server checks (no Map): `undefined` when unparseable. */
export function parseDigestFields(value: string): DigestFields | undefined {
  const f = new DigestFields();
  const scheme = scanAuthHeader(value, f);
  if (scheme === undefined) return undefined;
  f.scheme = scheme;
  return f;
}

/**
 * The scanner behind both parsers: hands each `name=value` (name lower-cased, value unquoted)
 * to `sink` in order and returns the scheme, or `undefined` on a syntax error (then `sink` may
 * have seen some parameters). Quoted values are found with `indexOf` (escapes are rare).
 */
function scanAuthHeader(value: string, sink: { param(name: string, value: string): void }): string | undefined {
  const n = value.length;
  let i = 0;
  while (i < n && isSpace(value.charCodeAt(i))) i++;
  const ss = i;
  if (i >= n || !isAlpha(value.charCodeAt(i))) return undefined;
  while (i < n && isNameChar(value.charCodeAt(i))) i++;
  const scheme = value.slice(ss, i);
  const afterScheme = i;
  while (i < n && isSpace(value.charCodeAt(i))) i++;
  if (i === afterScheme) return undefined;
  for (let count = 0; count < 64; count++) {
    if (i >= n) return scheme;
    const ns = i;
    while (i < n && isNameChar(value.charCodeAt(i))) i++;
    if (i === ns) return undefined;
    const name = constantAt(KNOWN_NAMES, value, ns, i) ?? value.slice(ns, i).toLowerCase();
    i = skipBlank(value, i);
    if (value.charCodeAt(i) !== 0x3d) return undefined;
    i = skipBlank(value, i + 1);
    let val: string;
    if (value.charCodeAt(i) === 0x22) {
      // quoted-string with `\` escapes (RFC 3261 §25.1 quoted-pair)
      const vs = ++i;
      const q = value.indexOf('"', vs);
      if (q < 0) return undefined;
      const bs = value.indexOf('\\', vs);
      if (bs < 0 || bs > q) {
        val = value.slice(vs, q);
        i = q + 1;
      } else {
        i = bs;
        for (;;) {
          if (i >= n) return undefined;
          const c = value.charCodeAt(i);
          if (c === 0x22) break;
          if (c === 0x5c) {
            if (i + 1 >= n) return undefined;
            i += 2;
          } else i++;
        }
        val = value.slice(vs, i).replace(/\\(.)/gs, '$1');
        i++;
      }
    } else {
      const vs = i;
      while (i < n) {
        const c = value.charCodeAt(i);
        if (isSpace(c) || c === 0x2c || c === 0x22) break;
        i++;
      }
      if (i === vs) return undefined;
      val = value.slice(vs, i);
    }
    i = skipBlank(value, i);
    if (i < n) {
      if (value.charCodeAt(i) !== 0x2c) return undefined;
      i = skipBlank(value, i + 1);
    }
    sink.param(name, val);
  }
  return undefined;
}

/** Parameter names of RFC 7616 §3.3–§3.4, as written by nearly every client: constants instead of slices. */
const KNOWN_NAMES = constantTable([
  'nc',
  'uri',
  'qop',
  'realm',
  'nonce',
  'stale',
  'cnonce',
  'opaque',
  'domain',
  'username',
  'response',
  'algorithm',
]);

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
/** `[A-Za-z0-9._-]`: scheme and parameter names. */
function isNameChar(c: number): boolean {
  return isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x2d;
}
/** Whitespace (`\s`: space, tab, CR, LF, FF, VT, NBSP). */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
}
/** Skip spaces and tabs. */
function skipBlank(s: string, i: number): number {
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  return i;
}

/** Quote a value as a quoted-string (RFC 3261 §25.1). */
export function quoteParam(value: string): string {
  if (!/["\\]/.test(value)) return `"${value}"`;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * Write `Digest name=value, …`. Names listed in `unquoted` are written bare (RFC 7616 §3.4:
 * `algorithm`, `qop` in credentials, `nc`, `stale`); all others quoted.
 */
export function formatAuthHeader(
  params: Array<[string, string | undefined]>,
  unquoted: ReadonlySet<string> = new Set(['algorithm', 'nc', 'stale']),
): string {
  const parts: string[] = [];
  for (const [k, v] of params) {
    if (v === undefined) continue;
    parts.push(`${k}=${unquoted.has(k) ? v : quoteParam(v)}`);
  }
  return `Digest ${parts.join(', ')}`;
}
