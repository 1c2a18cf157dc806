import { basename, dirname, resolve } from 'node:path';
import {
  type DeploymentSummary,
  type DeploymentView,
  type Diagnostic,
  formatDiagnostics,
  formatPlan,
  parseDeployFile,
  planDeployment,
} from '@borealis/deploy-spec';
import type { Command } from 'commander';
import { type Cli, offline, type RunContext } from './cli.js';
import { readDeployFile, readManifestFiles } from './deploy-file-input.js';
import { renderStatus } from './deployment-status.js';
import { CliError } from './errors.js';
import { IdPrefixError, resolveDeploymentId } from './ids.js';
import { ago, table } from './table.js';
import { oneLine, terminalSafe } from './terminal-text.js';
import { watchDeployment } from './watch-deployment.js';

/** Exit codes of `deploy start --watch`: 0 only when the deployment succeeded. */
export const WATCH_EXIT = { SUCCEEDED: 0, FAILED: 1, ROLLED_BACK: 1, CANCELLED: 3 } as const;

const DECISIONS = [
  ['approve', 'approve the pause an environment is waiting on'],
  ['reject', 'reject the approval an environment is waiting on (it fails)'],
  ['rollback', 'roll an environment back to its previous version'],
  ['roll-forward', 'go on after a failed analysis whose rollBackMode is manual'],
  ['cancel', 'cancel one environment (--env) or the whole deployment'],
] as const;

export function registerDeployCommands(program: Command, cli: Cli): void {
  const deploy = program.command('deploy').description('start, watch and steer deployments');

  offline(
    deploy
      .command('validate')
      .description('check a deploy file locally and print problems compiler-style (exit 1 on errors)')
      .requiredOption('-f, --file <file>', 'the deploy file')
      .action(
        cli.run((ctx) => {
          const file = ctx.opts.file as string;
          const text = readDeployFile(file);
          // On disk, manifests[].path can be checked against the deploy file's directory.
          const { diagnostics } = parseDeployFile(text, { fileName: file, baseDir: dirname(resolve(file)) });
          if (diagnostics.length) ctx.out(formatDiagnostics(diagnostics, file));
          const errors = diagnostics.filter((d) => d.severity === 'error').length;
          if (errors) throw new CliError(`${file}: ${errors} error(s)`, 1);
          ctx.out(`${file}: valid${diagnostics.length ? ` (${diagnostics.length} warning(s))` : ''}`);
        }),
      ),
  );

  offline(
    deploy
      .command('plan')
      .description(
        'print, without changing anything, the Kubernetes objects and API calls the kubernetes driver would make for each environment (pipe to kubectl apply --dry-run=server -f -; -o json for tools)',
      )
      .requiredOption('-f, --file <file>', 'the deploy file')
      .option('-e, --env <environment>', 'only this environment')
      .action(
        cli.run(async (ctx) => {
          const file = ctx.opts.file as string;
          const text = readDeployFile(file);
          const parsed = parseDeployFile(text, { fileName: file, baseDir: dirname(resolve(file)) });
          const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
          if (!parsed.spec || errors.length) {
            ctx.out(formatDiagnostics(parsed.diagnostics, file));
            throw new CliError(`${file}: ${errors.length} error(s); nothing to plan`, 1);
          }
          const manifestFiles = readManifestFiles(file, text);
          let plans = planDeployment({ ...parsed.spec, manifestFiles });
          const env = ctx.opts.env as string | undefined;
          if (env !== undefined) {
            plans = plans.filter((p) => p.environment === env);
            if (plans.length === 0)
              throw new CliError(
                `${file} has no environment ${env}; it has ${Object.keys(parsed.spec.targets).join(', ')}`,
                2,
              );
          }
          const format = ctx.format();
          if (format === 'table') ctx.out(formatPlan(plans));
          else ctx.print({ environments: plans }, () => formatPlan(plans));
          if (plans.some((p) => p.error))
            throw new CliError('some environments cannot be planned (see ERROR above)', 1);
        }),
      ),
  );

  deploy
    .command('start')
    .description(
      'start a deployment from a deploy file (-o json|yaml prints {deploymentId, status}; with --watch, the final deployment, progress on stderr)',
    )
    .requiredOption('-f, --file <file>', 'the deploy file')
    .option('--context <k=v>', 'a context value for {{context.k}} (repeatable)', collect, [])
    .option('-w, --watch', 'follow its progress until it ends; exit 0 only on success')
    .action(
      cli.run(async (ctx) => {
        const format = ctx.format();
        const file = ctx.opts.file as string;
        const deployFile = readDeployFile(file);
        // The API receives only the text; missing manifest files are found here, before sending.
        const missing = parseDeployFile(deployFile, {
          fileName: file,
          baseDir: dirname(resolve(file)),
        }).diagnostics.filter((d) => d.code === 'BRL_DF_MANIFEST_NOT_FOUND');
        if (missing.length) throw new CliError(formatDiagnostics(missing, file), 1);
        const context = Object.fromEntries(
          (ctx.opts.context as string[]).map((kv) => {
            const i = kv.indexOf('=');
            if (i <= 0) throw new CliError(`--context ${kv}: expected key=value`, 2);
            return [kv.slice(0, i), kv.slice(i + 1)];
          }),
        );
        const started = await startDeployment(ctx, deployFile, context, file);
        // Machine-readable output keeps stdout for the document; progress goes to stderr.
        const progress =
          format === 'table' ? ctx.out : (s: string) => process.stderr.write(`${terminalSafe(s)}\n`);
        if (!ctx.opts.watch) {
          ctx.print(started, (s) =>
            [
              `Deployment ${oneLine(s.deploymentId)} ${s.status === 'QUEUED' ? 'queued behind the running one' : 'started'}`,
              `Follow it with: ${cli.bin} deploy watch ${oneLine(s.deploymentId)}`,
            ].join('\n'),
          );
          return;
        }
        progress(
          `Deployment ${oneLine(started.deploymentId)} ${started.status === 'QUEUED' ? 'queued behind the running one' : 'started'}`,
        );
        await watchToEnd(ctx, started.deploymentId, progress);
      }),
    );

  deploy
    .command('list')
    .description('list deployments, newest first')
    .option('-a, --application <name>', 'only this application')
    .option(
      '-s, --status <statuses>',
      'only these statuses, comma-separated (e.g. RUNNING,AWAITING_APPROVAL)',
    )
    .option(
      '--since <when>',
      'created since a date-time (2026-12-01T09:00:00Z) or a duration ago (30m, 24h, 7d)',
    )
    .option('-n, --limit <n>', 'at most this many (default 20, at most 1000)', '20')
    .action(
      cli.run(async (ctx) => {
        ctx.format();
        const limit = Number(ctx.opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          throw new CliError(`--limit ${String(ctx.opts.limit)}: give a whole number from 1 to 1000`, 2);
        const q = new URLSearchParams({ limit: String(limit) });
        if (ctx.opts.application) q.set('application', String(ctx.opts.application));
        if (ctx.opts.status) q.set('status', String(ctx.opts.status));
        if (ctx.opts.since) q.set('since', String(ctx.opts.since));
        const answer = await ctx.api<{ deployments: DeploymentSummary[] }>('GET', `/api/v1/deployments?${q}`);
        ctx.print(answer, (a) =>
          a.deployments.length === 0
            ? `No deployments match. Start one with: ${cli.bin} deploy start -f deploy.yml`
            : table(
                ['ID', 'APPLICATION', 'VERSION', 'STATUS', 'STARTED BY', 'CREATED', 'FINISHED'],
                a.deployments.map((d) => [
                  oneLine(d.id.slice(0, 8)),
                  oneLine(d.application),
                  oneLine(d.version ?? '-'),
                  oneLine(d.status),
                  oneLine(d.createdBy),
                  ago(d.createdAt),
                  d.finishedAt ? ago(d.finishedAt) : '-',
                ]),
              ),
        );
      }),
    );

  deploy
    .command('watch <id>')
    .description(
      'follow a deployment until it ends (exit 0 only on success; re-attaches if the server restarts)',
    )
    .action(
      cli.run(async (ctx, idOrPrefix: string) => {
        const format = ctx.format();
        const id = await resolveDeploymentId(ctx, idOrPrefix);
        const progress =
          format === 'table' ? ctx.out : (s: string) => process.stderr.write(`${terminalSafe(s)}\n`);
        await watchToEnd(ctx, id, progress);
      }),
    );

  deploy
    .command('status <id>')
    .description('show a deployment: each environment, its steps, webhook runs and versions')
    .action(
      cli.run(async (ctx, idOrPrefix: string) => {
        ctx.format();
        const id = await resolveDeploymentId(ctx, idOrPrefix);
        const view = await ctx.api<DeploymentView>('GET', `/api/v1/deployments/${encodeURIComponent(id)}`);
        ctx.print(view, renderStatus);
      }),
    );

  for (const [action, description] of DECISIONS) {
    if (action === 'rollback') {
      registerRollback(deploy, cli, description);
      continue;
    }
    const cmd = deploy
      .command(`${action} <id>`)
      .description(description)
      .option('-r, --reason <text>', 'why, for the audit log');
    if (action === 'cancel')
      cmd.option('-e, --env <environment>', 'the environment (default: the whole deployment)');
    else cmd.requiredOption('-e, --env <environment>', 'the environment');
    cmd.action(
      cli.run(async (ctx, idOrPrefix: string) => {
        ctx.format();
        const id = await resolveDeploymentId(ctx, idOrPrefix);
        const env = ctx.opts.env as string | undefined;
        const reason = ctx.opts.reason as string | undefined;
        const view = await ctx.api<DeploymentView>(
          'POST',
          `/api/v1/deployments/${encodeURIComponent(id)}/${action}`,
          { ...(env ? { environment: env } : {}), ...(reason ? { reason } : {}) },
        );
        ctx.print(view, (v) => `${action}: done. Deployment ${oneLine(v.id)} is ${oneLine(v.status)}.`);
      }),
    );
  }
}

/**
 * `deploy rollback ID --env E`: the decision (roll an environment of a running deployment back).
 * `deploy rollback APP --env E [--to N]`: after success, a new deployment of an earlier revision
 * (default: the one before the current). An argument that names a deployment (id or unique
 * prefix) is the first; anything else, or `--to`, the second.
 */
function registerRollback(deploy: Command, cli: Cli, description: string): void {
  deploy
    .command('rollback <idOrApplication>')
    .description(
      `${description}; or, given an application, start a new deployment of an earlier revision of one environment (default: the previous one; see \`history APP\`), gated like any other`,
    )
    .requiredOption('-e, --env <environment>', 'the environment')
    .option(
      '--to <revision>',
      'application rollback: the revision number to go back to (default: the previous one)',
    )
    .option('-w, --watch', 'application rollback: follow the new deployment until it ends')
    .option('-r, --reason <text>', 'why, for the audit log')
    .action(
      cli.run(async (ctx, arg: string) => {
        const format = ctx.format();
        const env = ctx.opts.env as string;
        const reason = ctx.opts.reason as string | undefined;
        let deploymentId: string | undefined;
        if (ctx.opts.to === undefined && /^[0-9a-f-]{1,36}$/i.test(arg)) {
          try {
            deploymentId = await resolveDeploymentId(ctx, arg);
          } catch (err) {
            // Not a deployment: an application name made of hex digits, or an ambiguous prefix.
            if (!(err instanceof IdPrefixError) || err.problem !== 'none') throw err;
          }
        }
        if (deploymentId) {
          const view = await ctx.api<DeploymentView>(
            'POST',
            `/api/v1/deployments/${encodeURIComponent(deploymentId)}/rollback`,
            { environment: env, ...(reason ? { reason } : {}) },
          );
          ctx.print(view, (v) => `rollback: done. Deployment ${oneLine(v.id)} is ${oneLine(v.status)}.`);
          return;
        }
        let toRevision: number | undefined;
        if (ctx.opts.to !== undefined) {
          toRevision = Number(ctx.opts.to);
          if (!Number.isInteger(toRevision) || toRevision < 1)
            throw new CliError(
              `--to ${String(ctx.opts.to)}: give a revision number (see ${cli.bin} history ${arg})`,
              2,
            );
        }
        const started = await ctx.api<{
          deploymentId: string;
          status: string;
          toRevision: number;
          fromRevision: number;
          version: string;
        }>('POST', `/api/v1/applications/${encodeURIComponent(arg)}/rollback`, {
          environment: env,
          ...(toRevision !== undefined ? { toRevision } : {}),
          ...(reason ? { reason } : {}),
        });
        const progress =
          format === 'table' ? ctx.out : (s: string) => process.stderr.write(`${terminalSafe(s)}\n`);
        if (!ctx.opts.watch) {
          ctx.print(started, (s) =>
            [
              `Rolling ${oneLine(arg)} ${oneLine(env)} back from revision ${s.fromRevision} to revision ${s.toRevision} (${oneLine(s.version)}): deployment ${oneLine(s.deploymentId)} ${s.status === 'QUEUED' ? 'queued' : 'started'}`,
              `Follow it with: ${cli.bin} deploy watch ${oneLine(s.deploymentId)}`,
            ].join('\n'),
          );
          return;
        }
        progress(
          `Rolling ${oneLine(arg)} ${oneLine(env)} back to revision ${started.toRevision} (${oneLine(started.version)}): deployment ${oneLine(started.deploymentId)}`,
        );
        await watchToEnd(ctx, started.deploymentId, progress);
      }),
    );
}

/** Follows a deployment to its end; throws (exit code by outcome) unless it succeeded. */
export async function watchToEnd(ctx: RunContext, id: string, progress: (s: string) => void): Promise<void> {
  const outcome = await watchDeployment(ctx.client(), id, progress, { bin: ctx.bin });
  if (ctx.format() !== 'table') {
    const view = await ctx.api<DeploymentView>('GET', `/api/v1/deployments/${encodeURIComponent(id)}`);
    ctx.print(view, renderStatus);
  }
  const code = WATCH_EXIT[outcome as keyof typeof WATCH_EXIT] ?? 1;
  if (code !== 0) throw new CliError(`deployment ${id} ended ${outcome}`, code);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function startDeployment(
  ctx: RunContext,
  deployFile: string,
  context: Record<string, string>,
  fileName: string,
): Promise<{ deploymentId: string; status: string }> {
  try {
    const manifestFiles = readManifestFiles(fileName, deployFile);
    return await ctx.api('POST', '/api/v1/deployments', {
      deployFile,
      context,
      ...(Object.keys(manifestFiles).length ? { manifestFiles } : {}),
    });
  } catch (err) {
    // Show a bad file the way `deploy validate` does, with line and column.
    const local = parseDeployFile(deployFile, { fileName });
    const errors: Diagnostic[] = local.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length)
      throw new CliError(`${formatDiagnostics(errors, basename(fileName))}\n${(err as Error).message}`, 1);
    throw err;
  }
}
