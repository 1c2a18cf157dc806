import { readFileSync } from 'node:fs';

/**
 * A program's version from its package.json, for `--version` and the handshake: pass
 * `new URL('../package.json', import.meta.url)` from a module in src/ or dist/ (the file is one
 * level above both). `0.0.0` when it cannot be read.
 */
export function packageVersion(packageJson: URL): string {
  try {
    return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
