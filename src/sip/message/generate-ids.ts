/** Random identifiers: tags (RFC 3261 §19.3), branches (§8.1.1.7), Call-IDs (§8.1.1.4). */
import { randomBytes } from 'node:crypto';

const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolPos = 0;

function randomHex(bytes: number): string {
  if (poolPos + bytes > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolPos = 0;
  }
  const s = pool.toString('hex', poolPos, poolPos + bytes);
  poolPos += bytes;
  return s;
}

/** A From/To tag with at least 32 bits of randomness (RFC 3261 §19.3): 64 bits, hex. */
export function generateTag(): string {
  return randomHex(8);
}

/** A branch starting with the magic cookie `z9hG4bK` (RFC 3261 §8.1.1.7), 96 random bits. */
export function generateBranch(): string {
  return 'z9hG4bK' + randomHex(12);
}

/** A globally unique Call-ID (RFC 3261 §8.1.1.4): 128 random bits, optionally `@host`. */
export function generateCallId(host?: string): string {
  const id = randomHex(16);
  return host ? `${id}@${host}` : id;
}
