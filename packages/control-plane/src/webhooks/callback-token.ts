import { createHash, randomBytes } from 'node:crypto';

/**
 * Callback tokens: 256 random bits, base64url (43 characters, fits a URL path unescaped). Only
 * the SHA-256 hash is stored: a stolen database cannot settle runs, and since the token is
 * uniformly random, a fast hash is enough (there is nothing to brute-force).
 */
export function newCallbackToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashCallbackToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Tokens we issue have this shape; anything else is answered like an unknown token without a lookup. */
export function looksLikeCallbackToken(text: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(text);
}
