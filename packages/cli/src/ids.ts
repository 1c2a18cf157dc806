import type { DeploymentSummary } from '@borealis/deploy-spec';
import type { RunContext } from './cli.js';
import { CliError } from './errors.js';

/** A prefix that matched no id, or several. */
export class IdPrefixError extends CliError {
  constructor(
    message: string,
    readonly problem: 'none' | 'ambiguous',
  ) {
    super(message, 2);
    this.name = 'IdPrefixError';
  }
}

/**
 * Unique prefixes, as git takes them: the one candidate that starts with `prefix` (an exact match
 * wins), else a usage error listing what matched. For any kind of id the CLI takes; pass the
 * candidates (e.g. every token id from the list route).
 */
export function resolveIdPrefix(
  prefix: string,
  candidates: ReadonlyArray<{ id: string; label?: string }>,
  kind: string,
): string {
  const exact = candidates.find((c) => c.id === prefix);
  if (exact) return exact.id;
  const matches = candidates.filter((c) => c.id.startsWith(prefix));
  if (matches.length === 1) return (matches[0] as { id: string }).id;
  if (matches.length === 0) throw new IdPrefixError(`No ${kind} id starts with ${prefix}`, 'none');
  throw new IdPrefixError(
    `${prefix} is ambiguous: ${matches.length} ${kind} ids start with it —\n${matches
      .map((m) => `  ${m.id}${m.label ? `  ${m.label}` : ''}`)
      .join('\n')}\nGive more characters.`,
    'ambiguous',
  );
}

const FULL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A deployment id from a full id or a unique prefix of one (the server filters by prefix). */
export async function resolveDeploymentId(ctx: RunContext, idOrPrefix: string): Promise<string> {
  if (FULL_ID.test(idOrPrefix)) return idOrPrefix.toLowerCase();
  if (!/^[0-9a-f-]{1,36}$/i.test(idOrPrefix))
    throw new CliError(
      `${idOrPrefix} is not a deployment id (or the start of one): ids are hex digits and -, e.g. 3f2a9c1e; \`${ctx.bin} deploy list\` shows them`,
      2,
    );
  const { deployments } = await ctx.api<{ deployments: DeploymentSummary[] }>(
    'GET',
    `/api/v1/deployments?idPrefix=${encodeURIComponent(idOrPrefix.toLowerCase())}&limit=20`,
  );
  return resolveIdPrefix(
    idOrPrefix.toLowerCase(),
    deployments.map((d) => ({ id: d.id, label: `${d.application}  ${d.status}  ${d.createdAt}` })),
    'deployment',
  );
}
