/**
 * Reading what `deploy validate|plan|start` send: the deploy file, and the manifest files its
 * `manifests[].path` entries name (the control plane cannot read the user's disk).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDeployFile } from '@borealis/deploy-spec';
import { CliError } from './errors.js';

/**
 * The files the deploy file's `manifests[].path` entries name, read relative to the deploy file:
 * the control plane cannot read the user's disk, so they travel with the deploy file.
 */
export function readManifestFiles(file: string, text: string): Record<string, string> {
  const parsed = parseDeployFile(text, { fileName: file });
  const files: Record<string, string> = {};
  for (const m of parsed.spec?.manifests ?? []) {
    if (!('path' in m) || m.path in files) continue;
    const where = isAbsolute(m.path) ? m.path : resolve(dirname(file), m.path);
    try {
      // A folder stands for its YAML files, in name order, as one multi-document stream.
      files[m.path] = statSync(where).isDirectory()
        ? readdirSync(where)
            .filter((f) => /\.ya?ml$/i.test(f))
            .sort()
            .map((f) => readFileSync(resolve(where, f), 'utf8'))
            .join('\n---\n')
        : readFileSync(where, 'utf8');
    } catch (err) {
      throw new CliError(
        `${file}: manifests path ${m.path} cannot be read (${where}): ${(err as Error).message}`,
        2,
      );
    }
  }
  return files;
}

export function readDeployFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`, 2);
  }
}
