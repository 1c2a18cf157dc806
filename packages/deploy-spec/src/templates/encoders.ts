/**
 * Per-destination encoders. A substituted value must never change the structure of what it lands
 * in: not the URL's path or query, not the header line, not the JSON document.
 */

export const ENCODINGS = ['uri', 'json', 'header', 'text'] as const;
export type Encoding = (typeof ENCODINGS)[number];

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** encodeURIComponent throws on lone surrogates; a replacement character is the honest fallback. */
export function encodeUriValue(value: string): string {
  return encodeURIComponent(value.replace(LONE_SURROGATE, '\uFFFD'));
}

/** Escapes a value for use INSIDE a JSON string literal (templates write `"{{x}}"`), without quotes. */
export function encodeJsonStringContent(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

export function encodeValue(value: string, encoding: Encoding): string {
  switch (encoding) {
    case 'uri':
      return encodeUriValue(value);
    case 'json':
      return encodeJsonStringContent(value);
    case 'header':
    case 'text':
      return value;
  }
}
