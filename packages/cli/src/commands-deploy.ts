import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  type DeploymentView,
  type Diagnostic,
  formatDiagnostics,
  parseDeployFile,
} from '@borealis/control-plane';
import type { Command } from 'commander';
import { apiCall, CliError, type ClientConfig, clientConfig } from './client.js';
import { table } from './table.js';
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

export function registerDeployCommands(program: Command, out: (s: string) => void): void {
  const deploy = program.command('deploy').description('start, watch and steer deployments');

  deploy
    .command('validate')
    .description('check a deploy file locally and print problems compiler-style (exit 1 on errors)')
    .requiredOption('-f, --file <file>', 'the deploy file')
    .action((opts: { file: string }) => {
      const text = readDeployFile(opts.file);
      const { diagnostics } = parseDeployFile(text, { fileName: opts.file });
      if (diagnostics.length) out(formatDiagnostics(diagnostics, opts.file));
      const errors = diagnostics.filter((d) => d.severity === 'error').length;
      if (errors) throw new CliError(`${opts.file}: ${errors} error(s)`, 1);
      out(`${opts.file}: valid${diagnostics.length ? ` (${diagnostics.length} warning(s))` : ''}`);
    });

  deploy
    .command('start')
    .description('start a deployment from a deploy file')
    .requiredOption('-f, --file <file>', 'the deploy file')
    .option('--context <k=v>', 'a context value for {{context.k}} (repeatable)', collect, [])
    .option('-w, --watch', 'follow its progress until it ends; exit 0 only on success')
    .action(async (opts: { file: string; context: string[]; watch?: boolean }) => {
      const config = clientConfig();
      const deployFile = readDeployFile(opts.file);
      const context = Object.fromEntries(
        opts.context.map((kv) => {
          const i = kv.indexOf('=');
          if (i <= 0) throw new CliError(`--context ${kv}: expected key=value`, 2);
          return [kv.slice(0, i), kv.slice(i + 1)];
        }),
      );
      const started = await startDeployment(config, deployFile, context, opts.file);
      out(
        `Deployment ${started.deploymentId} ${started.status === 'QUEUED' ? 'queued behind the running one' : 'started'}`,
      );
      if (!opts.watch) {
        out(`Follow it with: borealis deploy status ${started.deploymentId}`);
        return;
      }
      const outcome = await watchDeployment(config, started.deploymentId, out);
      const code = WATCH_EXIT[outcome as keyof typeof WATCH_EXIT] ?? 1;
      if (code !== 0) throw new CliError(`deployment ${started.deploymentId} ended ${outcome}`, code);
    });

  deploy
    .command('status <id>')
    .description('show a deployment: each environment, its steps, webhook runs and versions')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (id: string, opts: { output: string }) => {
      const view = await apiCall<DeploymentView>(
        clientConfig(),
        'GET',
        `/api/v1/deployments/${encodeURIComponent(id)}`,
      );
      if (opts.output === 'json') out(JSON.stringify(view, null, 2));
      else if (opts.output === 'text') out(renderStatus(view));
      else throw new CliError(`--output ${opts.output} is not known; use text or json`, 2);
    });

  for (const [action, description] of DECISIONS) {
    const cmd = deploy
      .command(`${action} <id>`)
      .description(description)
      .option('-r, --reason <text>', 'why, for the audit log');
    if (action === 'cancel')
      cmd.option('-e, --env <environment>', 'the environment (default: the whole deployment)');
    else cmd.requiredOption('-e, --env <environment>', 'the environment');
    cmd.action(async (id: string, opts: { env?: string; reason?: string }) => {
      const view = await apiCall<DeploymentView>(
        clientConfig(),
        'POST',
        `/api/v1/deployments/${encodeURIComponent(id)}/${action}`,
        {
          ...(opts.env ? { environment: opts.env } : {}),
          ...(opts.reason ? { reason: opts.reason } : {}),
        },
      );
      out(`${action}: done. Deployment ${view.id} is ${view.status}.`);
    });
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function readDeployFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`, 2);
  }
}

async function startDeployment(
  config: ClientConfig,
  deployFile: string,
  context: Record<string, string>,
  fileName: string,
): Promise<{ deploymentId: string; status: string }> {
  try {
    return await apiCall(config, 'POST', '/api/v1/deployments', { deployFile, context });
  } catch (err) {
    // Show a bad file the way `deploy validate` does, with line and column.
    const local = parseDeployFile(deployFile, { fileName });
    const errors: Diagnostic[] = local.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length)
      throw new CliError(`${formatDiagnostics(errors, basename(fileName))}\n${(err as Error).message}`, 1);
    throw err;
  }
}

export function renderStatus(view: DeploymentView): string {
  const lines = [`Deployment ${view.id}  ${view.application}  ${view.status}  (driver: ${view.driver})`];
  if (view.message) lines.push(`  ${view.message}`);
  for (const env of view.environments) {
    lines.push(
      '',
      `${env.name}: ${env.status} (${env.phase})${env.dependsOn.length ? `  after ${env.dependsOn.join(', ')}` : ''}`,
    );
    if (env.message) lines.push(`  ${env.message}`);
    lines.push(
      table(
        ['  STEP', 'STATUS', 'DETAIL'],
        env.steps.map((s) => [
          `  ${s.step}`,
          s.status,
          [s.message, s.via ? `via ${s.via}` : ''].filter(Boolean).join('; '),
        ]),
      ),
    );
    for (const s of env.steps)
      if (s.awaiting) lines.push(`  waiting for you: ${s.awaiting.commands.join('   or   ')}`);
    for (const r of env.webhookRuns) {
      lines.push(
        `  webhook ${r.webhookName} (${r.location}): ${r.status}${r.agent ? ` via agent ${r.agent.agentIdentifier}` : ''}${r.mdMessage ? ` — ${r.mdMessage}` : ''}${r.reason ? ` (${r.reason})` : ''}`,
      );
    }
    if (env.target?.versions.length) {
      lines.push(
        `  ${env.target.driver} target: ${env.target.versions.map((v) => `${v.version} ${v.weight}% ${v.role}`).join(', ')}`,
      );
    }
  }
  return lines.join('\n');
}
