import type { DeploymentSpec } from '@borealis/deploy-spec';

/** How many deploy files' parses are kept, and the largest file kept (larger ones are parsed each time). */
export const PARSED_FILES_KEPT = 64;
export const PARSED_FILE_MAX_CHARS = 64 * 1024;

/**
 * The specs of deploy files the API parsed lately, by the file's exact text (issue 17): a
 * pipeline that starts the same file again and again (its image given with `--context`) is
 * parsed and validated once. Only what depends on the text alone is kept — a valid file whose
 * analysis defines no queries (those are checked against the metric providers that exist at each
 * start) — so the same text gives the same spec whoever sends it: secrets and context
 * are not in it (templates are rendered at run time). Each start gets its own copy. A spec is
 * kept from a file's second start on: files seen once (every start a new text) would pay for
 * copies and garbage and gain nothing. Bounded: at most `PARSED_FILES_KEPT` files of at most
 * `PARSED_FILE_MAX_CHARS` characters, least recently used first out, and as many texts again
 * remembered as seen once.
 */
export class ParsedFiles {
  readonly #kept = new Map<string, DeploymentSpec>();
  readonly #seenOnce = new Set<string>();
  constructor(private readonly capacity = PARSED_FILES_KEPT) {}

  /** A copy of the spec parsed from exactly `text`, if it is kept. */
  get(text: string): DeploymentSpec | undefined {
    const spec = this.#kept.get(text);
    if (!spec) return undefined;
    this.#kept.delete(text);
    this.#kept.set(text, spec);
    return structuredClone(spec);
  }

  /** Keeps (a copy of) `spec`, parsed offline from `text`, if `text` was seen before. */
  keep(text: string, spec: DeploymentSpec): void {
    if (text.length > PARSED_FILE_MAX_CHARS || this.capacity <= 0) return;
    if (!this.#seenOnce.delete(text)) {
      this.#seenOnce.add(text);
      if (this.#seenOnce.size > this.capacity)
        this.#seenOnce.delete(this.#seenOnce.values().next().value as string);
      return;
    }
    this.#kept.set(text, structuredClone(spec));
    if (this.#kept.size > this.capacity) this.#kept.delete(this.#kept.keys().next().value as string);
  }

  get size(): number {
    return this.#kept.size;
  }
}
