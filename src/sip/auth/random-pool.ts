import { randomFillSync } from 'node:crypto';
import { HEX_BYTE } from '../../util/hex.js';

/**
 * Cryptographically random bytes handed out from a pre-filled pool: one `getrandom` call per
 * 4 KiB instead of one per nonce (randomBytes per call dominated REGISTER processing).
 */
export class RandomPool {
  private readonly pool: Buffer;
  private offset: number;

  constructor(size = 4096) {
    this.pool = Buffer.allocUnsafe(size);
    this.offset = size;
  }

  /** A random unsigned 32-bit value. */
  uint32(): number {
    return this.pool.readUInt32LE(this.take(4));
  }

  /** `n` random bytes as lower-case hex. */
  hex(n: number): string {
    const p = this.pool;
    let s = '';
    for (let i = this.take(n), end = i + n; i < end; i++) s += HEX_BYTE[p[i]];
    return s;
  }

  /** Where the next `n` unused bytes start (the pool refilled when too few are left). */
  private take(n: number): number {
    if (this.offset + n > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }
}
