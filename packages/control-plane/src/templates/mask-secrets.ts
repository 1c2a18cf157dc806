import { encodeJsonStringContent, encodeUriValue } from '@borealis/deploy-spec';

const MASK = '****';

/**
 * Replaces every occurrence of a secret value in a recorded request or answer by `****`, in the
 * forms it can take after rendering: as written, JSON-escaped and URI-encoded.
 */
export function maskSecrets(text: string, secretValues: readonly string[]): string {
  const forms = new Set<string>();
  for (const value of secretValues) {
    if (value.length === 0) continue;
    forms.add(value);
    forms.add(encodeJsonStringContent(value));
    forms.add(encodeUriValue(value));
    // application/x-www-form-urlencoded spelling of spaces.
    forms.add(encodeUriValue(value).replace(/%20/g, '+'));
  }
  // Longest first, so a secret that contains another is masked whole.
  let masked = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    masked = masked.split(form).join(MASK);
  }
  return masked;
}
