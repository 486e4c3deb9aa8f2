import * as crypto from 'node:crypto';
import { md5Ascii } from './md5-ascii.js';

/** One-shot `crypto.hash` (Node ≥ 20.12), much cheaper than a Hash object per call. */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

/**
 * Digest algorithms we compute (RFC 8760 §2: SIP digest with SHA-256 and MD5; the `-sess`
 * variants of RFC 7616 §3.4.2). SHA-512-256 is not offered (FIXME(RFC 8760 §2.1)).
 */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

/** The algorithms a server challenges with, preferred first (RFC 8760 §2.4: strongest first). */
export const CHALLENGE_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

/** Parse an `algorithm` parameter value (case-insensitive); missing means MD5 (RFC 7616 §3.3). */
export function parseDigestAlgorithm(value: string | undefined): DigestAlgorithm | undefined {
  if (value === undefined) return 'MD5';
  switch (value.toUpperCase()) {
    case 'MD5':
      return 'MD5';
    case 'MD5-SESS':
      return 'MD5-sess';
    case 'SHA-256':
      return 'SHA-256';
    case 'SHA-256-SESS':
      return 'SHA-256-sess';
    default:
      return undefined;
  }
}

/** Hex digest with the hash function behind `alg` (RFC 7616 §3.4.1 H()). */
export function digestHash(alg: DigestAlgorithm, data: string): string {
  const sha = alg.startsWith('SHA-256');
  if (!sha) {
    const h = md5Ascii(data);
    if (h !== undefined) return h;
  }
  const name = sha ? 'sha256' : 'md5';
  if (oneShot) return oneShot(name, data, 'hex');
  return crypto.createHash(name).update(data, 'utf8').digest('hex');
}

/** Inputs of the digest `response` computation (RFC 7616 §3.4.1, RFC 2617 §3.2.2). */
export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  /** Plain password; or give `ha1` instead. */
  password?: string;
  /** Pre-computed H(username:realm:password). */
  ha1?: string;
  method: string;
  /** The `uri` (digest-uri) parameter exactly as sent. */
  uri: string;
  nonce: string;
  /** `auth` (or undefined for the RFC 2069 compatibility form). `auth-int` is not supported. */
  qop?: 'auth';
  /** 8 hex digits, as sent. */
  nc?: string;
  cnonce?: string;
}

/** H(A1) for `algorithm` (RFC 7616 §3.4.2; `-sess` mixes nonce and cnonce in). */
export function computeHa1(input: DigestResponseInput): string {
  const base = input.ha1 ?? digestHash(input.algorithm, `${input.username}:${input.realm}:${input.password ?? ''}`);
  if (input.algorithm.endsWith('-sess')) {
    return digestHash(input.algorithm, `${base}:${input.nonce}:${input.cnonce ?? ''}`);
  }
  return base;
}

/** The `response` parameter value (RFC 7616 §3.4.1; without qop: RFC 2617 §3.2.2.1). */
export function computeDigestResponse(input: DigestResponseInput): string {
  const ha1 = computeHa1(input);
  const ha2 = digestHash(input.algorithm, `${input.method}:${input.uri}`);
  if (input.qop) {
    return digestHash(
      input.algorithm,
      `${ha1}:${input.nonce}:${input.nc ?? ''}:${input.cnonce ?? ''}:${input.qop}:${ha2}`,
    );
  }
  return digestHash(input.algorithm, `${ha1}:${input.nonce}:${ha2}`);
}
