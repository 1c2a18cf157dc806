/** Context variables as templates see them: a flat dictionary of strings. */
export type TemplateContext = Record<string, string>;

/**
 * Merges context layers, later layers winning: file-level `context` < start-time `--context` <
 * the `runWebhook.context` of the call site (most specific wins). The result has no prototype so
 * a key like `constructor` is just a key.
 */
export function mergeContext(
  ...layers: ReadonlyArray<Readonly<Record<string, unknown>> | undefined>
): TemplateContext {
  const merged: TemplateContext = Object.create(null);
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined || value === null) continue;
      merged[key] = typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  return merged;
}
