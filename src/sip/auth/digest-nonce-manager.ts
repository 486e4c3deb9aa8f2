import * as crypto from 'node:crypto';
import { createHmac, randomBytes } from 'node:crypto';
import { RandomPool } from './random-pool.js';
import { HEX_BYTE } from '../../util/hex.js';
import type { Clock } from '../../util/clock.js';

/** Outcome of checking a nonce and its nonce-count (RFC 7616 §3.4, §5.5 replay). */
export type NonceCheck =
  | { result: 'ok'; retry: boolean; ts: number }
  /** Signed by us but too old: the client should retry with a fresh nonce, `stale=true`. */
  | { result: 'stale'; retry: boolean }
  /** Not one of ours (bad signature or format). */
  | { result: 'invalid' }
  /** Valid but the nonce-count was already used (or not increasing). */
  | { result: 'replay'; retry: boolean };

/** Options of {@link NonceManager}. */
export interface NonceManagerOptions {
  clock: Clock;
  /** HMAC key; random per process when omitted (nonces then die with the process, which is fine). */
  secret?: Buffer;
  /** Lifetime of a nonce in ms (default 300 000, as Kamailio's `nonce_expire`). */
  lifetimeMs?: number;
  /** Maximum number of nonces whose nonce-count is remembered (default 50 000). */
  maxTracked?: number;
}

const oneShot = (crypto as unknown as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;
/** Nonce layout, all lower-case hex: issue time (ms, 12 digits), retry flag (1), random (12), MAC (24). */
const TS_LEN = 12;
const RND_LEN = 12;
const MAC_LEN = 24;
const PAYLOAD_LEN = TS_LEN + 1 + RND_LEN;
const NONCE_LEN = PAYLOAD_LEN + MAC_LEN;
/** Nonces remembered after issue (≈ 7 s of challenges at 600/s): phones answer within milliseconds. */
const ISSUED_KEPT = 4096;

/** The issue time a nonce of ours carries (its first 12 hex digits). */
function issueTime(nonce: string): number {
  return parseInt(nonce.slice(0, TS_LEN), 16);
}

/** A millisecond time (an integer below 2^48) as 12 hex digits (`Number#toString(16)` on a double is slow). */
function hex48(t: number): string {
  const hi = Math.floor(t / 0x1000000);
  const lo = t - hi * 0x1000000;
  return HEX_BYTE[(hi >>> 16) & 255] + HEX_BYTE[(hi >>> 8) & 255] + HEX_BYTE[hi & 255] + HEX_BYTE[(lo >>> 16) & 255] + HEX_BYTE[(lo >>> 8) & 255] + HEX_BYTE[lo & 255];
}

/**
 * Stateless, HMAC-signed nonces with an embedded timestamp and flags, and a bounded
 * nonce-count table against replay (RFC 7616 §3.3 "nonce", §5.5; RFC 3261 §22.4).
 *
 * Memory bound: at most `maxTracked` entries. When an entry must be evicted early, the
 * timestamp of the evicted nonce raises a watermark: any nonce not in the table and not newer
 * than the watermark is answered `stale`, so eviction can never re-open a replay window.
 */
export class NonceManager {
  private readonly clock: Clock;
  private readonly secret: Buffer;
  private readonly lifetimeMs: number;
  private readonly maxTracked: number;
  /**
   * nonce → last nonce-count accepted with it. A number, not an object: the table holds up to
   * `maxTracked` entries for minutes, and small values keep the old generation small.
   */
  private readonly seen = new Map<string, number>();
  /**
   * Nonces in the order of their first commit, as a queue with a moving head (a Map used as a
   * FIFO makes V8 skip every deleted slot on each iteration). Issue times grow along it, so
   * expired nonces are found at the head; a nonce committed again keeps its place.
   */
  private queue: string[] = [];
  private head = 0;
  private watermark = -Infinity;
  private readonly random = new RandomPool();
  /** The last {@link ISSUED_KEPT} nonces issued → issue time, and the ring that bounds them. */
  private readonly issued = new Map<string, number>();
  private readonly issuedRing: Array<string | undefined> = new Array<string | undefined>(ISSUED_KEPT);
  private issuedNext = 0;
  private readonly secretText: string;

  constructor(opts: NonceManagerOptions) {
    this.clock = opts.clock;
    this.secret = opts.secret ?? randomBytes(32);
    this.secretText = this.secret.toString('latin1');
    this.lifetimeMs = opts.lifetimeMs ?? 300_000;
    this.maxTracked = opts.maxTracked ?? 50_000;
  }

  /** Number of nonces currently tracked (for tests and metrics). */
  get tracked(): number {
    return this.seen.size;
  }

  /**
   * A new nonce (RFC 7616 §3.3: unique, opaque to the client): issue time, retry flag and 48
   * random bits in hex, then a MAC of them under our key. `retry` marks a nonce issued after a
   * failed attempt (second failure → 403). Built as text: no buffers.
   */
  issue(retry = false): string {
    const now = Math.min(Math.max(0, Math.floor(this.clock.now())), 0xffffffffffff);
    const payload = hex48(now) + (retry ? '1' : '0') + this.random.hex(RND_LEN / 2);
    const nonce = payload + this.mac(payload);
    // Remember the last ISSUED_KEPT nonces (a ring): their answers skip the MAC check.
    const slot = this.issuedRing[this.issuedNext];
    if (slot !== undefined) this.issued.delete(slot);
    this.issuedRing[this.issuedNext] = nonce;
    this.issuedNext = (this.issuedNext + 1) % ISSUED_KEPT;
    this.issued.set(nonce, now);
    return nonce;
  }

  /**
   * Check a nonce and its nonce-count. `nc` is the numeric nonce-count, or `undefined` for a
   * response without qop (then the nonce may be used only once).
   * Call {@link commit} only after the response digest itself was verified.
   */
  check(nonce: string, nc: number | undefined): NonceCheck {
    const lastNc = this.seen.get(nonce);
    let ts: number;
    let retry: boolean;
    // A nonce already accepted, or one we issued a moment ago, is ours as it stands: the MAC
    // (a hash) is checked only for the others.
    const issuedAt = lastNc === undefined ? this.issued.get(nonce) : issueTime(nonce);
    if (issuedAt !== undefined) {
      ts = issuedAt;
      retry = nonce.charCodeAt(TS_LEN) === 0x31;
    } else {
      const decoded = this.decode(nonce);
      if (!decoded) return { result: 'invalid' };
      ts = decoded.ts;
      retry = decoded.retry;
    }
    const now = this.clock.now();
    if (now - ts > this.lifetimeMs || ts - now > 60_000) return { result: 'stale', retry };
    if (lastNc !== undefined) {
      if (nc === undefined || nc <= lastNc) return { result: 'replay', retry };
      return { result: 'ok', retry, ts };
    }
    if (ts <= this.watermark) return { result: 'stale', retry };
    return { result: 'ok', retry, ts };
  }

  /** Remember that `nc` was used with `nonce` (after a successful verification). */
  commit(nonce: string, nc: number | undefined): void {
    if (!this.seen.has(nonce)) this.queue.push(nonce);
    this.seen.set(nonce, nc ?? Number.MAX_SAFE_INTEGER); // no qop: single use
    this.prune();
  }

  private prune(): void {
    const now = this.clock.now();
    // From the oldest end: drop expired nonces (bounded work per call), evict while over the bound.
    let expiredBudget = 8;
    while (this.head < this.queue.length) {
      const q = this.queue[this.head]!;
      if (!this.seen.has(q)) {
        this.head++;
        continue;
      }
      const ts = issueTime(q);
      if (now - ts > this.lifetimeMs && expiredBudget-- > 0) {
        this.seen.delete(q);
        this.head++;
        continue;
      }
      if (this.seen.size > this.maxTracked) {
        this.seen.delete(q);
        if (ts > this.watermark) this.watermark = ts;
        this.head++;
        continue;
      }
      break;
    }
    if (this.head > 1024 && this.head > this.queue.length - this.head) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private decode(nonce: string): { ts: number; retry: boolean } | undefined {
    if (nonce.length !== NONCE_LEN) return undefined;
    for (let i = 0; i < NONCE_LEN; i++) {
      const c = nonce.charCodeAt(i);
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return undefined;
    }
    const flag = nonce.charCodeAt(TS_LEN);
    if (flag !== 0x30 && flag !== 0x31) return undefined;
    const payload = nonce.slice(0, PAYLOAD_LEN);
    const expected = this.mac(payload);
    // Constant-time comparison of the MAC (every character looked at).
    let diff = 0;
    for (let i = 0; i < MAC_LEN; i++) diff |= expected.charCodeAt(i) ^ nonce.charCodeAt(PAYLOAD_LEN + i);
    if (diff !== 0) return undefined;
    return { ts: parseInt(nonce.slice(0, TS_LEN), 16), retry: flag === 0x31 };
  }

  /**
   * Keyed SHA-256 of the fixed-length payload, first 96 bits in hex. With the one-shot
   * `crypto.hash` this is SHA-256(key ‖ payload): safe here because the payload length is fixed
   * and checked, so length extension cannot produce a valid nonce; it costs a fifth of an Hmac
   * object.
   */
  private mac(payload: string): string {
    if (oneShot) return oneShot('sha256', this.secretText + payload, 'hex').slice(0, MAC_LEN);
    return createHmac('sha256', this.secret).update(payload, 'latin1').digest('hex').slice(0, MAC_LEN);
  }
}
