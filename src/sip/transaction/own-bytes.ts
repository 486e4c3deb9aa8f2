/**
 * Bytes a transaction keeps for its retransmissions (RFC 3261 §17.2.1, §17.2.2) while it waits
 * out timer H or J (32 s).
 */

/**
 * `bytes` in a memory block of their own. A serialised message is usually a slice of Node's
 * shared 8 KB allocation pool; kept for 32 s, that slice would keep the whole block (and the
 * other messages in it) alive.
 */
export function ownBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}
