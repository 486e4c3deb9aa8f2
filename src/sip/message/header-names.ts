/**
 * Header-name knowledge: compact forms (RFC 3261 §7.3.3, IANA "Header Fields" registry) and
 * which headers may carry comma-separated lists (RFC 3261 §7.3.1).
 */

/** Compact form → long form (lower-case), RFC 3261 §7.3.3 and later RFCs (IANA registry). */
const COMPACT: Record<string, string> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

/**
 * Headers whose grammar is NOT a comma-separated list (or whose values contain commas),
 * so `getHeaders` must never split them (RFC 3261 §7.3.1: only `#(values)` headers combine).
 */
const NOT_LISTS = new Set<string>([
  'www-authenticate',
  'authorization',
  'proxy-authenticate',
  'proxy-authorization',
  'authentication-info',
  'date',
  'call-id',
  'cseq',
  'content-length',
  'content-type',
  'content-disposition',
  'from',
  'to',
  'max-forwards',
  'min-expires',
  'expires',
  'subject',
  'retry-after',
  'timestamp',
  'user-agent',
  'server',
  'organization',
  'priority',
  'mime-version',
  'reply-to',
  'refer-to',
  'referred-by',
  'replaces',
  'session-expires',
  'min-se',
  'event',
  'identity',
  'identity-info',
  'subscription-state',
  'rack',
  'rseq',
  'sip-etag',
  'sip-if-match',
  'target-dialog',
  'p-charging-vector',
  'p-charging-function-addresses',
]);

/** Compact form by lower-case character code. */
const COMPACT_BY_CODE: Array<string | undefined> = new Array<string | undefined>(128).fill(undefined);
for (const [c, long] of Object.entries(COMPACT)) COMPACT_BY_CODE[c.charCodeAt(0)] = long;

/**
 * Header names as nearly every UA spells them, with their keys (literals: the keys compare by
 * identity with the ones the typed getters look for), by length: `[name, key, name, key, …]`.
 * A look-up compares the name with the few spellings of its length, with no hashing of a
 * freshly sliced name (which the key cache below would need).
 */
const USUAL_BY_LENGTH: string[][] = [];
for (const [name, key] of [
  ['To', 'to'],
  ['Via', 'via'],
  ['From', 'from'],
  ['CSeq', 'cseq'],
  ['Route', 'route'],
  ['Allow', 'allow'],
  ['Call-ID', 'call-id'],
  ['Contact', 'contact'],
  ['Require', 'require'],
  ['Expires', 'expires'],
  ['Supported', 'supported'],
  ['User-Agent', 'user-agent'],
  ['Max-Forwards', 'max-forwards'],
  ['Record-Route', 'record-route'],
  ['Content-Type', 'content-type'],
  ['Content-Length', 'content-length'],
]) {
  while (USUAL_BY_LENGTH.length <= name.length) USUAL_BY_LENGTH.push([]);
  USUAL_BY_LENGTH[name.length].push(name, key);
}

const keyCache = new Map<string, string>();
const KEY_CACHE_MAX = 2048;

/**
 * The look-up key of a header name: lower-case long form (compact forms expanded,
 * RFC 3261 §7.3.3; names are case-insensitive, §7.3.1).
 */
export function headerKey(name: string): string {
  // Fast paths: compact forms by character code, usual spellings by length.
  const n = name.length;
  if (n === 1) {
    const c = name.charCodeAt(0) | 0x20;
    const k = c < 128 ? COMPACT_BY_CODE[c] : undefined;
    if (k !== undefined) return k;
  } else if (n < USUAL_BY_LENGTH.length) {
    const usual = USUAL_BY_LENGTH[n];
    for (let i = 0; i < usual.length; i += 2) if (usual[i] === name) return usual[i + 1];
  }
  let key = keyCache.get(name);
  if (key !== undefined) return key;
  const lower = name.toLowerCase();
  key = lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
  // Bounded: hostile peers can send endless distinct names.
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(name, key);
  return key;
}

/** True if the header's values may be comma-separated lists (RFC 3261 §7.3.1). Unknown headers are treated as lists. */
export function isListHeader(key: string): boolean {
  return !NOT_LISTS.has(key);
}

/** Canonical long spelling for well-known headers, used when we create a header ourselves. */
const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'min-se': 'Min-SE',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
  rack: 'RAck',
  rseq: 'RSeq',
};

/** Long, conventionally capitalised form of a header name (`call-id` → `Call-ID`, `v` → `Via`). */
export function canonicalHeaderName(name: string): string {
  const key = headerKey(name);
  const special = CANONICAL[key];
  if (special) return special;
  return key.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}
