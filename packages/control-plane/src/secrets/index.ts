/**
 * Secrets: values sealed with AES-256-GCM before they reach the store, readable only through
 * `getValues` (webhook rendering). Values never appear in logs, errors or API answers.
 */

export {
  type LoadSecretKeyOptions,
  loadSecretKey,
  SecretKey,
} from './secret-key.js';
export {
  type CreateSecretsRepositoryOptions,
  createSecretsRepository,
  MAX_SECRET_VALUE_BYTES,
  type PutSecretResult,
  type SecretMetadata,
  type SecretsRepository,
  validateSecretName,
  validateSecretValue,
} from './secrets-repository.js';
