/**
 * MD5 (RFC 1321) of short ASCII strings, in JavaScript, for the per-request digest check
 * (RFC 7616 §3.4.1 H() with `algorithm=MD5`). Under load a server answers one REGISTER per
 * wake-up, and OpenSSL's hash entry (`crypto.hash`: provider fetch, context set-up) runs cold
 * each time; this small routine stays next to the rest of the request path. Anything that is
 * not ASCII is left to the caller (`undefined`): UTF-8 encoding is done by `crypto`.
 */
import { HEX_BYTE } from '../../util/hex.js';

/** Per-step left rotations (RFC 1321 §3.4). */
const SHIFT = new Int32Array([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4,
  11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);

/** T[i] = floor(2^32 · |sin(i + 1)|) (RFC 1321 §3.4), as signed 32-bit values. */
const T = new Int32Array(64);
for (let i = 0; i < 64; i++) T[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0;

/** Message word used by each step (RFC 1321 §3.4 rounds 1–4). */
const WORD = new Int32Array(64);
for (let i = 0; i < 64; i++)
  WORD[i] = i < 16 ? i : i < 32 ? (5 * i + 1) % 16 : i < 48 ? (3 * i + 5) % 16 : (7 * i) % 16;

const X = new Int32Array(16);

/** Longest input taken (longer ones go to `crypto`; digest inputs are a few hundred bytes). */
const MAX_LEN = 1024;

/**
 * Lower-case hex MD5 of `s` when every character is ASCII (then its UTF-8 bytes are its
 * character codes), else `undefined`.
 */
export function md5Ascii(s: string): string | undefined {
  const len = s.length;
  if (len > MAX_LEN) return undefined;
  // Padding (RFC 1321 §3.1–3.2): 0x80, zeros to 56 mod 64, then the bit length (64-bit LE).
  const blocks = ((len + 8) >>> 6) + 1;
  let a = 0x67452301;
  let b = 0xefcdab89 | 0;
  let c = 0x98badcfe | 0;
  let d = 0x10325476;
  for (let blk = 0; blk < blocks; blk++) {
    const base = blk << 6;
    if (base + 64 <= len) {
      // A whole block of the message: four characters a word, no padding to look at.
      for (let w = 0, at = base; w < 16; w++, at += 4) {
        const c0 = s.charCodeAt(at);
        const c1 = s.charCodeAt(at + 1);
        const c2 = s.charCodeAt(at + 2);
        const c3 = s.charCodeAt(at + 3);
        if ((c0 | c1 | c2 | c3) > 0x7f) return undefined;
        X[w] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      }
    } else {
      for (let w = 0; w < 16; w++) {
        let v = 0;
        for (let k = 3; k >= 0; k--) {
          const at = base + (w << 2) + k;
          let byte: number;
          if (at < len) {
            byte = s.charCodeAt(at);
            if (byte > 0x7f) return undefined;
          } else if (at === len) byte = 0x80;
          else byte = 0;
          v = (v << 8) | byte;
        }
        X[w] = v;
      }
    }
    if (blk === blocks - 1) {
      X[14] = len << 3;
      X[15] = len >>> 29;
    }
    let aa = a;
    let bb = b;
    let cc = c;
    let dd = d;
    // The four rounds of RFC 1321 §3.4, one loop each (no per-step branch on the round).
    for (let i = 0; i < 16; i++) {
      const t = (aa + ((bb & cc) | (~bb & dd)) + T[i] + X[i]) | 0;
      const r = SHIFT[i];
      aa = dd;
      dd = cc;
      cc = bb;
      bb = (bb + ((t << r) | (t >>> (32 - r)))) | 0;
    }
    for (let i = 16; i < 32; i++) {
      const t = (aa + ((dd & bb) | (~dd & cc)) + T[i] + X[WORD[i]]) | 0;
      const r = SHIFT[i];
      aa = dd;
      dd = cc;
      cc = bb;
      bb = (bb + ((t << r) | (t >>> (32 - r)))) | 0;
    }
    for (let i = 32; i < 48; i++) {
      const t = (aa + (bb ^ cc ^ dd) + T[i] + X[WORD[i]]) | 0;
      const r = SHIFT[i];
      aa = dd;
      dd = cc;
      cc = bb;
      bb = (bb + ((t << r) | (t >>> (32 - r)))) | 0;
    }
    for (let i = 48; i < 64; i++) {
      const t = (aa + (cc ^ (bb | ~dd)) + T[i] + X[WORD[i]]) | 0;
      const r = SHIFT[i];
      aa = dd;
      dd = cc;
      cc = bb;
      bb = (bb + ((t << r) | (t >>> (32 - r)))) | 0;
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  return le(a) + le(b) + le(c) + le(d);
}

/** A 32-bit word as 8 hex digits, least significant byte first (RFC 1321 §3.5). */
function le(n: number): string {
  return HEX_BYTE[n & 255] + HEX_BYTE[(n >>> 8) & 255] + HEX_BYTE[(n >>> 16) & 255] + HEX_BYTE[(n >>> 24) & 255];
}
