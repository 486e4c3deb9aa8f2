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

  /** Copy `n` random bytes into `target` at `at`. */
  fill(target: Buffer, at: number, n: number): void {
    if (this.offset + n > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    this.pool.copy(target, at, this.offset, this.offset + n);
    this.offset += n;
  }

  /** `n` random bytes as lower-case hex. */
  hex(n: number): string {
    if (this.offset + n > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const p = this.pool;
    let s = '';
    for (let i = this.offset, end = this.offset + n; i < end; i++) s += HEX_BYTE[p[i]];
    this.offset += n;
    return s;
  }
}
