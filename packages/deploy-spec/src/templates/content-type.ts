/** Header lists as deploy files write them and as requests carry them. */
export type HeaderLike = { key: string; value: string } | readonly [string, string];

function headerPair(h: HeaderLike): readonly [string, string] {
  return Array.isArray(h)
    ? (h as readonly [string, string])
    : [(h as { key: string }).key, (h as { value: string }).value];
}

export function findContentType(headers: readonly HeaderLike[]): string | undefined {
  for (const h of headers) {
    const [key, value] = headerPair(h);
    // Typed as strings, but deploy files with errors reach here partially decoded.
    if (typeof key === 'string' && key.trim().toLowerCase() === 'content-type') {
      return typeof value === 'string' ? value : '';
    }
  }
  return undefined;
}

/**
 * Whether a body is JSON and its values must be JSON-escaped: a JSON content type says so; with no
 * content type at all, a body that starts like a JSON document is treated as one (escaping is the
 * safe side). The deploy-file validator uses the same rule for its "does not render to JSON" warning.
 */
export function bodyIsJson(headers: readonly HeaderLike[], body: string): boolean {
  const contentType = findContentType(headers);
  if (contentType !== undefined) return /(^|[/+])json\b/i.test(contentType.trim());
  return /^\s*[[{]/.test(body);
}
