import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM, one random 96-bit nonce per value (random nonces are safe far beyond any number
 * of secrets we will hold), and the secret's name as associated data, so a ciphertext copied
 * onto another secret's row fails to open instead of leaking under the wrong name.
 *
 * Sealed format: `v1.<base64url nonce>.<base64url ciphertext || 16-byte tag>`; the version prefix
 * leaves room for another scheme later without guessing.
 */
const FORMAT = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function sealValue(key: Buffer, name: string, plaintext: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${FORMAT}.${nonce.toString('base64url')}.${body.toString('base64url')}`;
}

/** The plaintext, or undefined when the value is malformed or fails authentication. */
export function openValue(key: Buffer, name: string, sealed: string): string | undefined {
  const [format, nonceText, bodyText, extra] = sealed.split('.');
  if (format !== FORMAT || nonceText === undefined || bodyText === undefined || extra !== undefined)
    return undefined;
  const nonce = Buffer.from(nonceText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return undefined;
  }
}
