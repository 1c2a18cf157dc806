import { describe, expect, it } from 'vitest';
import { oneLine, terminalSafe } from './terminal-text.js';

describe('terminal text', () => {
  it('shows every control character, keeps newlines and tabs in full output, and keeps -o json parseable', () => {
    expect(terminalSafe('a\u001b[2Jb\u0007\rc\u009bd\u202ee\u200ff\u007fg\n\th')).toBe(
      'a\\x1b[2Jb\\x07\\rc\\u009bd\\u202ee\\u200ff\\u007fg\n\th',
    );
    expect(oneLine('one\ntwo\tthree\r')).toBe('one\\ntwo\\tthree\\r');
    expect(oneLine(undefined)).toBe('');
    const value = { m: 'x\u009b31m\u202e\u001b]0;t\u0007' };
    expect(JSON.parse(terminalSafe(JSON.stringify(value)))).toEqual(value);
    // Text with nothing to hide is untouched, whatever its script.
    expect(terminalSafe('déploiement ✓ 部署 — ok')).toBe('déploiement ✓ 部署 — ok');
  });
});
