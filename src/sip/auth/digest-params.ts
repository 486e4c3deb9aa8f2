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
  let i = m[0].length;
  const s = value;
  for (let n = 0; n < 64; n++) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
    if (i >= s.length) return { scheme, params };
    const nm = /^([A-Za-z0-9._-]+)\s*=\s*/.exec(s.slice(i, i + 80));
    if (!nm) return undefined;
    const name = nm[1].toLowerCase();
    i += nm[0].length;
    let val = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s[i];
        if (c === '\\' && i + 1 < s.length) {
          val += s[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        val += c;
        i++;
      }
      if (!closed) return undefined;
    } else {
      const start = i;
      while (i < s.length && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
      val = s.slice(start, i);
      if (val === '') return undefined;
    }
    if (!params.has(name)) params.set(name, val);
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
    if (i < s.length && s[i] !== ',') return undefined;
  }
  return undefined;
}

/** Quote a value as a quoted-string (RFC 3261 §25.1). */
export function quoteParam(value: string): string {
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
