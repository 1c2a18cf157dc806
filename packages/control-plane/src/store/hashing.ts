import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh random credential: 256 bits, base64url, so it fits headers and URLs unescaped. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Tokens and client secrets are 256-bit random values, so a single fast hash is enough to make a
 * stolen database useless (there is nothing to brute-force); a slow password hash would only
 * cost latency on every request.
 */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests; different lengths compare unequal. */
export function digestsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  if (left.length !== right.length || left.length === 0) return false;
  return timingSafeEqual(left, right);
}
