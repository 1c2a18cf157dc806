/**
 * Text from outside (a callback's mdMessage, an endpoint's body, names, server messages) is
 * printed with its control characters made visible, so it can never move the cursor, clear the
 * screen, retitle the terminal (OSC), overwrite a line with a carriage return, or reorder what
 * is shown (bidirectional overrides). `ESC` becomes `\x1b`, CR `\r`, U+009B `\u009b`, U+202E
 * `\u202e`. Characters from DEL up are written `\uXXXX`, which is also a valid escape inside the
 * JSON the CLI prints (JSON.stringify leaves them raw), so `-o json` stays parseable and exact.
 */

/** C0 and C1 controls except tab and newline, DEL, and the bidirectional and direction marks. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** The same plus newline and tab: for text that must stay on its line (names, table cells). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE_ONE_LINE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(ch: string): string {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  const code = ch.charCodeAt(0);
  return code < 0x7f
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Safe to write to a terminal; newlines and tabs kept (the CLI's own output goes through this). */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** Safe and on one line: for a value from outside shown inside a line of ours. */
export function oneLine(text: unknown): string {
  return String(text ?? '').replace(UNSAFE_ONE_LINE, visible);
}
