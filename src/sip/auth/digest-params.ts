/**
 * Parsing and writing of `Digest` credentials and challenges (RFC 3261 §25.1 `credentials`,
 * `challenge`; RFC 7616 §3.3, §3.4).
 */

/** One parsed `Digest …` header value: scheme plus lower-cased parameter names. */
export interface AuthParams {
  scheme: string;
  params: Map<string, string>;
}

/**
 * Parse `Digest a=b, c="d, e"` (quoted strings with `\` escapes, RFC 3261 §25.1). Returns
 * `undefined` when the value is not syntactically an auth header. Bounded: at most 64 params.
 */
export function parseAuthHeader(value: string): AuthParams | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9._-]*)\s+/.exec(value);
  if (!m) return undefined;
  const scheme = m[1];
  const params = new Map<string, string>();
  const re = /([A-Za-z0-9._-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))[ \t]*(?:,[ \t]*|$)/y;
  re.lastIndex = m[0].length;
  for (let n = 0; n < 64; n++) {
    if (re.lastIndex >= value.length) return { scheme, params };
    const start = re.lastIndex;
    const pm = re.exec(value);
    if (!pm || re.lastIndex === start) return undefined;
    const name = pm[1].toLowerCase();
    let val = pm[2] ?? pm[3];
    if (pm[2] !== undefined && val.includes('\\')) val = val.replace(/\\(.)/g, '$1');
    if (!params.has(name)) params.set(name, val);
  }
  return undefined;
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
