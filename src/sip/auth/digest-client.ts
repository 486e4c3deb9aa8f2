import { RandomPool } from './random-pool.js';
import { computeDigestResponse, parseDigestAlgorithm, type DigestAlgorithm } from './digest-hash.js';
import { formatAuthHeader, parseAuthHeader } from './digest-params.js';

/** Credentials a UAC answers challenges with (RFC 3261 §22.2). */
export interface DigestCredentials {
  username: string;
  password: string;
}

/** Inputs of {@link DigestClient.answer}. */
export interface DigestChallengeInput {
  method: string;
  /** Request-URI of the request being retried (becomes the digest `uri`). */
  uri: string;
  /** Every `WWW-Authenticate` / `Proxy-Authenticate` value of the 401/407, unsplit. */
  challenges: readonly string[];
}

const PREFERENCE: readonly DigestAlgorithm[] = ['SHA-256', 'SHA-256-sess', 'MD5', 'MD5-sess'];

/**
 * Client side of SIP digest authentication (RFC 3261 §22.2, §22.3; RFC 8760 §2.4: use the
 * first challenge with the strongest algorithm we support). Keeps the nonce-count per nonce so
 * a UAC can reuse a nonce for later requests (RFC 7616 §3.4).
 */
export class DigestClient {
  private readonly nc = new Map<string, number>();
  private static readonly random = new RandomPool(1024);

  constructor(private readonly credentials: DigestCredentials) {}

  /**
   * Build the `Authorization` (or `Proxy-Authorization`) value answering the challenges, or
   * `undefined` when none uses an algorithm we support.
   */
  answer(input: DigestChallengeInput, cnonce = DigestClient.random.hex(8)): string | undefined {
    let best: { alg: DigestAlgorithm; params: Map<string, string> } | undefined;
    for (const value of input.challenges) {
      const ch = parseAuthHeader(value);
      if (!ch || ch.scheme.toLowerCase() !== 'digest') continue;
      const alg = parseDigestAlgorithm(ch.params.get('algorithm'));
      if (!alg || !ch.params.has('nonce')) continue;
      if (!best || PREFERENCE.indexOf(alg) < PREFERENCE.indexOf(best.alg)) best = { alg, params: ch.params };
    }
    if (!best) return undefined;
    const { alg, params } = best;
    const realm = params.get('realm') ?? '';
    const nonce = params.get('nonce') ?? '';
    const qops = (params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
    const useQop = qops.includes('auth');
    let ncStr: string | undefined;
    if (useQop) {
      const n = (this.nc.get(nonce) ?? 0) + 1;
      if (this.nc.size > 64) this.nc.clear();
      this.nc.set(nonce, n);
      ncStr = n.toString(16).padStart(8, '0');
    }
    const response = computeDigestResponse({
      algorithm: alg,
      username: this.credentials.username,
      realm,
      password: this.credentials.password,
      method: input.method,
      uri: input.uri,
      nonce,
      qop: useQop ? 'auth' : undefined,
      nc: ncStr,
      cnonce: useQop || alg.endsWith('-sess') ? cnonce : undefined,
    });
    return formatAuthHeader(
      [
        ['username', this.credentials.username],
        ['realm', realm],
        ['nonce', nonce],
        ['uri', input.uri],
        ['response', response],
        ['algorithm', alg],
        ['cnonce', useQop || alg.endsWith('-sess') ? cnonce : undefined],
        ['opaque', params.get('opaque')],
        ['qop', useQop ? 'auth' : undefined],
        ['nc', ncStr],
      ],
      new Set(['algorithm', 'nc', 'qop']),
    );
  }
}
