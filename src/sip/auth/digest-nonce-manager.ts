import { hex32, hex48 } from '../../util/hex.js';
import { RandomPool } from './random-pool.js';
import type { Clock } from '../../util/clock.js';

/** Outcome of checking a nonce and its nonce-count (RFC 7616 §3.4, §5.5 replay). */
export type NonceCheck =
  | { result: 'ok'; retry: boolean; ts: number }
  /** Issued by us but too old: the client should retry with a fresh nonce, `stale=true`. */
  | { result: 'stale'; retry: boolean }
  /** Not one of ours: forged, malformed, issued by an earlier process, or its slot reused since. */
  | { result: 'invalid' }
  /** Valid but the nonce-count was already used (or not increasing). */
  | { result: 'replay'; retry: boolean };

/** Options of {@link NonceManager}. */
export interface NonceManagerOptions {
  clock: Clock;
  /** Lifetime of a nonce in ms (default 300 000, as Kamailio's `nonce_expire`). */
  lifetimeMs?: number;
  /**
   * Nonces remembered: the size of the slot ring, rounded up to a power of two (default 65,536,
   * ≈ 2.1 MB). A nonce lives until its slot is reused (`slots` issues later) or its lifetime ends.
   */
  slots?: number;
}

/** Nonce layout, lower-case hex: sequence number (12 digits), retry flag (1), random tag (16). */
const SEQ_LEN = 12;
const NONCE_LEN = SEQ_LEN + 1 + 16;
/** Value of each character code as a hex digit (lower case only, as we write them), else -1. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;

/** `n` hex digits of `s` from `at` as a number (n ≤ 8 → an unsigned 32-bit value), or -1. */
function hexAt(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at, end = at + n; i < end; i++) {
    const c = s.charCodeAt(i);
    const d = c < 128 ? HEX_VALUE[c] : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Digest nonces as slots of a fixed ring (RFC 7616 §3.3 "nonce", §5.5 replay; RFC 3261 §22.4),
 * the way Kamailio's `auth` module indexes nonces (`nid`): each nonce is a sequence number, a
 * retry flag and 64 random bits; its slot (`sequence mod slots`) holds the sequence number, the
 * random tag, the flag, the issue time and the last nonce-count accepted with it.
 *
 * - Issuing and checking cost no hash and no allocation beyond the nonce text: typed arrays,
 *   no Map (the MAC and the nonce-count table of a stateless design were most of the cost of a
 *   challenge under load).
 * - Memory is fixed (33 bytes a slot); a nonce whose slot has been reused is `invalid`, which
 *   the server answers with a fresh challenge (`stale=true` when the digest was right): the
 *   phone retries silently.
 * - Nonces die with the process: after a restart every earlier nonce is `invalid` (stale=true
 *   for a right digest), so a request captured before a restart cannot be replayed after it.
 * - The random tag is compared in constant time; a nonce is only accepted with the exact text
 *   we issued (lower-case hex, 29 digits).
 */
export class NonceManager {
  private readonly clock: Clock;
  private readonly lifetimeMs: number;
  private readonly mask: number;
  /** Per slot: sequence number of the nonce it holds (0 = empty; sequences start at 1). */
  private readonly seqs: Float64Array;
  /** Per slot: issue time (ms). */
  private readonly issuedAt: Float64Array;
  /** Per slot: last nonce-count accepted + 1 (0 = none yet; Infinity = used without qop). */
  private readonly ncs: Float64Array;
  /** Per slot: the random tag, two 32-bit halves. */
  private readonly tagHi: Uint32Array;
  private readonly tagLo: Uint32Array;
  /** Per slot: 1 for a nonce issued after a failed attempt. */
  private readonly retries: Uint8Array;
  private next = 1;
  private committed = 0;
  /** Random bits from a pool (one `getrandom` call per 512 nonces). */
  private readonly random = new RandomPool();

  constructor(opts: NonceManagerOptions) {
    this.clock = opts.clock;
    this.lifetimeMs = opts.lifetimeMs ?? 300_000;
    let slots = 1;
    while (slots < Math.min(Math.max(opts.slots ?? 65_536, 1), 1 << 30)) slots *= 2;
    this.mask = slots - 1;
    this.seqs = new Float64Array(slots);
    this.issuedAt = new Float64Array(slots);
    this.ncs = new Float64Array(slots);
    this.tagHi = new Uint32Array(slots);
    this.tagLo = new Uint32Array(slots);
    this.retries = new Uint8Array(slots);
  }

  /** Number of slots whose nonce has been used at least once (for tests and metrics). */
  get tracked(): number {
    return this.committed;
  }

  /** Number of slots: nonces issued before the last `slots` issues are forgotten. */
  get slots(): number {
    return this.mask + 1;
  }

  /**
   * A new nonce (RFC 7616 §3.3: unique, opaque to the client). `retry` marks a nonce issued
   * after a failed attempt (second failure → 403).
   */
  issue(retry = false): string {
    const seq = this.next++;
    const slot = seq & this.mask;
    const hi = this.random.uint32();
    const lo = this.random.uint32();
    if (this.ncs[slot] !== 0) this.committed--;
    this.seqs[slot] = seq;
    this.issuedAt[slot] = this.clock.now();
    this.ncs[slot] = 0;
    this.tagHi[slot] = hi;
    this.tagLo[slot] = lo;
    this.retries[slot] = retry ? 1 : 0;
    return hex48(seq) + (retry ? '1' : '0') + hex32(hi) + hex32(lo);
  }

  /**
   * Check a nonce and its nonce-count. `nc` is the numeric nonce-count, or `undefined` for a
   * response without qop (then the nonce may be used only once).
   * Call {@link commit} only after the response digest itself was verified.
   */
  check(nonce: string, nc: number | undefined): NonceCheck {
    const slot = this.slotOf(nonce);
    if (slot < 0) return { result: 'invalid' };
    const retry = this.retries[slot] === 1;
    const ts = this.issuedAt[slot];
    const now = this.clock.now();
    if (now - ts > this.lifetimeMs) return { result: 'stale', retry };
    const last = this.ncs[slot];
    if (last !== 0 && (nc === undefined || nc + 1 <= last)) return { result: 'replay', retry };
    return { result: 'ok', retry, ts };
  }

  /** Remember that `nc` was used with `nonce` (after a successful verification). */
  commit(nonce: string, nc: number | undefined): void {
    const slot = this.slotOf(nonce);
    if (slot < 0) return;
    if (this.ncs[slot] === 0) this.committed++;
    this.ncs[slot] = nc === undefined ? Infinity : nc + 1;
  }

  /** The slot holding `nonce` as we issued it, or -1 (malformed, forged, or slot reused since). */
  private slotOf(nonce: string): number {
    if (nonce.length !== NONCE_LEN) return -1;
    const seqHi = hexAt(nonce, 0, 4);
    const seqLo = hexAt(nonce, 4, 8);
    const flag = nonce.charCodeAt(SEQ_LEN) - 0x30;
    const hi = hexAt(nonce, SEQ_LEN + 1, 8);
    const lo = hexAt(nonce, SEQ_LEN + 9, 8);
    if (seqHi < 0 || seqLo < 0 || hi < 0 || lo < 0 || (flag !== 0 && flag !== 1)) return -1;
    const seq = seqHi * 0x100000000 + seqLo;
    const slot = seqLo & this.mask;
    // Every part compared before deciding (the tag in constant time).
    const diff = (this.tagHi[slot] ^ hi) | (this.tagLo[slot] ^ lo) | (this.retries[slot] ^ flag);
    if (seq === 0 || this.seqs[slot] !== seq || diff !== 0) return -1;
    return slot;
  }
}
