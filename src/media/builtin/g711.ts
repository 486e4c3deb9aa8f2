/**
 * G.711 µ-law and A-law (ITU-T G.711; RTP payload types PCMU 0 and PCMA 8, RFC 3551 §4.5.14),
 * converting between 16-bit linear PCM and 8-bit codes. Decoding is a 256-entry table; encoding a
 * 65,536-entry table indexed by the 16-bit sample, so a 20 ms frame costs 160 lookups.
 */

/** RTP payload type of G.711 µ-law (RFC 3551 §6, Table 4). */
export const PT_PCMU = 0;
/** RTP payload type of G.711 A-law (RFC 3551 §6, Table 4). */
export const PT_PCMA = 8;

/** The G.711 code of a 16-bit linear sample, µ-law (G.711 §3.2, bias 0x84, clip 32635). */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = sample | 0;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** The 16-bit linear value of a µ-law code. */
export function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

/** The G.711 code of a 16-bit linear sample, A-law (G.711 §3.3; even bits inverted, 0x55). */
export function linearToAlaw(sample: number): number {
  let s = sample | 0;
  let sign = 0x80;
  if (s < 0) {
    sign = 0;
    s = -s - 1;
  }
  if (s > 32767) s = 32767;
  let code: number;
  if (s < 256) {
    code = s >> 4;
  } else {
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 1; mask >>= 1) exponent--;
    code = (exponent << 4) | ((s >> (exponent + 3)) & 0x0f);
  }
  return (sign | code) ^ 0x55;
}

/** The 16-bit linear value of an A-law code. */
export function alawToLinear(code: number): number {
  const a = code ^ 0x55;
  const exponent = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  if (exponent === 0) t += 8;
  else t = (t + 0x108) << (exponent - 1);
  return a & 0x80 ? t : -t;
}

function decodeTable(f: (c: number) => number): Int16Array {
  const t = new Int16Array(256);
  for (let c = 0; c < 256; c++) t[c] = f(c);
  return t;
}

function encodeTable(f: (s: number) => number): Uint8Array {
  const t = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = f(i < 32768 ? i : i - 65536);
  return t;
}

const ULAW_DECODE = decodeTable(ulawToLinear);
const ALAW_DECODE = decodeTable(alawToLinear);
let ulawEncode: Uint8Array | undefined;
let alawEncode: Uint8Array | undefined;

/** A G.711 law: which payload type, and frame-wise encode/decode through tables. */
export interface G711Codec {
  readonly payloadType: number;
  readonly name: 'PCMU' | 'PCMA';
  /** The code of silence (linear 0). */
  readonly silence: number;
  /** Encode `pcm` (clipped to 16 bits) into `out` (same length). */
  encode(pcm: Int16Array, out: Uint8Array): void;
  /** Decode `codes` into `out` (same length). */
  decode(codes: Uint8Array, out: Int16Array): void;
}

function makeCodec(name: 'PCMU' | 'PCMA'): G711Codec {
  const decodeT = name === 'PCMU' ? ULAW_DECODE : ALAW_DECODE;
  const encodeT = (): Uint8Array =>
    name === 'PCMU' ? (ulawEncode ??= encodeTable(linearToUlaw)) : (alawEncode ??= encodeTable(linearToAlaw));
  return {
    payloadType: name === 'PCMU' ? PT_PCMU : PT_PCMA,
    name,
    silence: name === 'PCMU' ? linearToUlaw(0) : linearToAlaw(0),
    encode(pcm, out) {
      const t = encodeT();
      for (let i = 0; i < pcm.length; i++) out[i] = t[pcm[i] & 0xffff];
    },
    decode(codes, out) {
      for (let i = 0; i < codes.length; i++) out[i] = decodeT[codes[i]];
    },
  };
}

/** G.711 µ-law (PCMU). */
export const PCMU: G711Codec = makeCodec('PCMU');
/** G.711 A-law (PCMA). */
export const PCMA: G711Codec = makeCodec('PCMA');

/** The codec of a static payload type (0 or 8), or undefined. */
export function codecOf(payloadType: number): G711Codec | undefined {
  return payloadType === PT_PCMU ? PCMU : payloadType === PT_PCMA ? PCMA : undefined;
}
