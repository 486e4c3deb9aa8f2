import type { Clock } from '../../util/clock.js';
import { CHALLENGE_ALGORITHMS, digestHash, parseDigestAlgorithm, type DigestAlgorithm } from './digest-hash.js';
import { parseDigestFields, quoteParam, type DigestFields } from './digest-params.js';
import { NonceManager } from './digest-nonce-manager.js';

/** Entries of the H(A1) cache (cleared when full; one per phone credential in practice). */
const HA1_CACHE_MAX = 20_000;
/** Entries of the H(A2) cache (cleared when full; one per method and Request-URI in practice). */
const HA2_CACHE_MAX = 4_096;

/** The secret a credential is checked against: a plain password, or H(user:realm:pass) per algorithm. */
export type DigestSecret = { password: string } | { ha1: Partial<Record<'MD5' | 'SHA-256', string>> };

/** What the server must do with a request after checking its credentials. */
export type DigestVerdict =
  /** Credentials valid (RFC 3261 §22.1). */
  | { outcome: 'ok'; username: string; algorithm: DigestAlgorithm }
  /** No credentials for our realm: challenge (401/407). */
  | {
      outcome: 'challenge';
      /**
       * `replay`: the digest is right but this nonce-count was already accepted (RFC 7616 §5.5):
       * a replay, or the retransmission of a request already accepted, which a stateless UAS
       * may recognise by other means (RFC 3261 §8.2.7); answered `stale=true` otherwise.
       */
      reason: 'missing' | 'stale' | 'replay' | 'bad-credentials' | 'unknown-nonce';
      stale: boolean;
      retry: boolean;
      username?: string;
    }
  /** Credentials wrong again after a re-challenge: refuse (403, RFC 3261 §22.2). */
  | { outcome: 'forbidden'; reason: string; username?: string }
  /** Credentials unparseable: 400. */
  | { outcome: 'malformed'; reason: string };

/** Options of {@link DigestServer}. */
export interface DigestServerOptions {
  clock: Clock;
  /**
   * The nonces to issue and check; give the same manager to a server built anew (new options)
   * so that outstanding challenges stay valid. Default: a new one (`nonceLifetimeMs`,
   * `nonceSlots`).
   */
  nonces?: NonceManager;
  /** Nonce lifetime in ms (default 300 s), for a new manager. */
  nonceLifetimeMs?: number;
  /** Nonces remembered (default 65,536), for a new manager. */
  nonceSlots?: number;
  /** Algorithms to challenge with, preferred first (default SHA-256, MD5 — RFC 8760 §2.4). */
  algorithms?: readonly DigestAlgorithm[];
}

/** Inputs of {@link DigestServer.verify}: the parts of a request digest authentication looks at. */
export interface DigestRequest {
  method: string;
  /** Every `Authorization` (or `Proxy-Authorization`) header value, unsplit. */
  credentials: readonly string[];
}

/**
 * Server side of SIP digest authentication (RFC 3261 §22.1–22.4 with RFC 8760 algorithms and
 * RFC 7616 `qop=auth`). Generic: knows nothing of who the users are; the caller gives the
 * realm and a secret lookup. Usable for REGISTER (401/WWW-Authenticate) and for INVITE from
 * registered phones alike.
 */
export class DigestServer {
  readonly nonces: NonceManager;
  private readonly algorithms: readonly DigestAlgorithm[];
  /** Algorithms whose answers are accepted: those challenged with and their `-sess` variants. */
  private readonly accepted = new Set<string>();
  /** (algorithm, username, realm, password) → H(A1), bounded by {@link HA1_CACHE_MAX}. */
  private readonly ha1Cache = new Map<string, string>();
  /** (algorithm, method, digest-uri) → H(A2), bounded by {@link HA2_CACHE_MAX}. */
  private readonly ha2Cache = new Map<string, string>();

  constructor(opts: DigestServerOptions) {
    this.nonces =
      opts.nonces ?? new NonceManager({ clock: opts.clock, lifetimeMs: opts.nonceLifetimeMs, slots: opts.nonceSlots });
    this.algorithms = opts.algorithms ?? CHALLENGE_ALGORITHMS;
    for (const a of this.algorithms) this.accepted.add(a).add(`${a}-sess`);
  }

  /**
   * Challenge header values, one per algorithm, strongest first (RFC 8760 §2.4, RFC 3261
   * §22.1). Put them in `WWW-Authenticate` (401) or `Proxy-Authenticate` (407).
   */
  challenge(realm: string, opts: { stale?: boolean; retry?: boolean } = {}): string[] {
    const nonce = this.nonces.issue(opts.retry ?? false);
    // The text formatAuthHeader writes, built directly (one per algorithm).
    const head =
      'Digest realm=' +
      quoteParam(realm) +
      ', nonce="' +
      nonce +
      '"' +
      (opts.stale ? ', stale=true' : '') +
      ', algorithm=';
    const out = new Array<string>(this.algorithms.length);
    for (let i = 0; i < out.length; i++) out[i] = head + this.algorithms[i] + ', qop="auth"';
    return out;
  }

  /**
   * Check the request's credentials for `realm` (RFC 3261 §22.4, RFC 7616 §3.4).
   * `lookup(username)` returns the user's secret or `undefined` when unknown.
   * On `ok`, the nonce-count is committed (a replay of the same message then fails).
   */
  verify(req: DigestRequest, realm: string, lookup: (username: string) => DigestSecret | undefined): DigestVerdict {
    let parsed: DigestFields | undefined;
    for (const value of req.credentials) {
      const auth = parseDigestFields(value);
      if (!auth) {
        // Unknown schemes are ignored (RFC 4475 §3.3.7); a broken Digest is a bad request.
        if (/^\s*digest\b/i.test(value)) return { outcome: 'malformed', reason: 'unparseable credentials' };
        continue;
      }
      if (auth.scheme.length !== 6 || auth.scheme.toLowerCase() !== 'digest') continue;
      if (auth.realm === realm) {
        parsed = auth;
        break;
      }
    }
    if (!parsed) return { outcome: 'challenge', reason: 'missing', stale: false, retry: false };

    const { username, nonce, uri, response, cnonce } = parsed;
    const qopRaw = parsed.qop;
    const ncRaw = parsed.nc;
    const algorithm = parseDigestAlgorithm(parsed.algorithm);
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return { outcome: 'malformed', reason: 'missing username, nonce, uri or response' };
    }
    if (!algorithm || !this.accepted.has(algorithm)) {
      return { outcome: 'challenge', reason: 'bad-credentials', stale: false, retry: false, username };
    }
    let nc: number | undefined;
    if (qopRaw !== undefined) {
      if (qopRaw.toLowerCase() !== 'auth') return { outcome: 'malformed', reason: `unsupported qop ${qopRaw}` };
      if (!ncRaw || !/^[0-9a-fA-F]{8}$/.test(ncRaw) || !cnonce) {
        return { outcome: 'malformed', reason: 'qop=auth without valid nc/cnonce' };
      }
      nc = parseInt(ncRaw, 16);
    }

    const check = this.nonces.check(nonce, nc);
    const secret = lookup(username);
    const ok =
      secret !== undefined &&
      this.responseMatches(
        secret,
        {
          algorithm,
          username,
          realm,
          method: req.method,
          uri,
          nonce,
          qop: nc !== undefined ? 'auth' : undefined,
          nc: ncRaw,
          cnonce,
        },
        response,
      );
    if (check.result === 'invalid') {
      // Not one of our live nonces (forged, issued before a restart, or its slot reused since).
      // A right digest proves the credentials: answer stale=true so the phone retries silently
      // (RFC 7616 §3.3).
      return { outcome: 'challenge', reason: ok ? 'stale' : 'unknown-nonce', stale: ok, retry: false, username };
    }
    if (!ok) {
      if (check.retry) return { outcome: 'forbidden', reason: 'bad credentials after re-challenge', username };
      return { outcome: 'challenge', reason: 'bad-credentials', stale: false, retry: true, username };
    }
    // The digest is right: only now does freshness matter (RFC 7616 §3.3 stale).
    if (check.result === 'stale' || check.result === 'replay') {
      return { outcome: 'challenge', reason: check.result, stale: true, retry: false, username };
    }
    this.nonces.commit(nonce, nc);
    // FIXME(RFC 7616 §3.4.6): the digest-uri is not compared with the Request-URI.
    return { outcome: 'ok', username, algorithm };
  }

  private responseMatches(
    secret: DigestSecret,
    input: {
      algorithm: DigestAlgorithm;
      username: string;
      realm: string;
      method: string;
      uri: string;
      nonce: string;
      qop?: 'auth';
      nc?: string;
      cnonce?: string;
    },
    given: string,
  ): boolean {
    const base = input.algorithm.startsWith('SHA-256') ? 'SHA-256' : 'MD5';
    let ha1: string | undefined;
    if ('password' in secret) {
      // H(A1) of a plain password is the same for every request of the user: computed once.
      const key = `${base}\u0000${input.username}\u0000${input.realm}\u0000${secret.password}`;
      ha1 = this.ha1Cache.get(key);
      if (ha1 === undefined) {
        ha1 = digestHash(base, `${input.username}:${input.realm}:${secret.password}`);
        if (this.ha1Cache.size >= HA1_CACHE_MAX) this.ha1Cache.clear();
        this.ha1Cache.set(key, ha1);
      }
    } else {
      ha1 = secret.ha1[base];
      if (!ha1) return false;
    }
    if (input.algorithm.endsWith('-sess'))
      ha1 = digestHash(input.algorithm, `${ha1}:${input.nonce}:${input.cnonce ?? ''}`);
    // H(A2) = H(method:digest-uri) repeats for every REGISTER of a phone (RFC 7616 §3.4.3).
    const a2 = `${base}\u0000${input.method}:${input.uri}`;
    let ha2 = this.ha2Cache.get(a2);
    if (ha2 === undefined) {
      ha2 = digestHash(base, `${input.method}:${input.uri}`);
      if (this.ha2Cache.size >= HA2_CACHE_MAX) this.ha2Cache.clear();
      this.ha2Cache.set(a2, ha2);
    }
    const expected =
      input.qop !== undefined
        ? digestHash(base, `${ha1}:${input.nonce}:${input.nc ?? ''}:${input.cnonce ?? ''}:${input.qop}:${ha2}`)
        : digestHash(base, `${ha1}:${input.nonce}:${ha2}`);
    return sameHex(expected, given);
  }
}

/**
 * Constant-time comparison of our lower-case hex digest with the client's `response`, whose
 * hex letters may be upper case (every character is looked at; no buffers).
 */
function sameHex(expected: string, given: string): boolean {
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    let g = given.charCodeAt(i);
    if (g >= 0x41 && g <= 0x46) g += 0x20;
    diff |= g ^ expected.charCodeAt(i);
  }
  return diff === 0;
}
