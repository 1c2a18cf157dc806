/** `deploy status`'s table-format answer: the deployment, each environment, its steps and runs. */
import type { DeploymentView } from '@borealis/deploy-spec';
import { table } from './table.js';
import { oneLine } from './terminal-text.js';
import { queryLine } from './watch-deployment.js';

export function renderStatus(view: DeploymentView): string {
  // Every value below may come from outside (deploy file, callbacks, endpoints): one line each.
  const t = oneLine;
  const lines = [
    `Deployment ${t(view.id)}  ${t(view.application)} ${t(view.version ?? '')}  ${t(view.status)}  (driver: ${t(view.driver)})`,
  ];
  if (view.message) lines.push(`  ${t(view.message)}`);
  lines.push(`  started by ${t(view.createdBy)} at ${t(view.createdAt)}`);
  for (const env of view.environments) {
    lines.push(
      '',
      `${t(env.name)}: ${t(env.status)} (${t(env.phase)})${env.dependsOn.length ? `  after ${env.dependsOn.map(t).join(', ')}` : ''}`,
    );
    if (env.message) lines.push(`  ${t(env.message)}`);
    lines.push(
      table(
        ['  STEP', 'STATUS', 'DETAIL'],
        env.steps.map((s) => [
          `  ${t(s.step)}`,
          t(s.status),
          [s.message ? t(s.message) : '', s.via ? `via ${t(s.via)}` : ''].filter(Boolean).join('; '),
        ]),
      ),
    );
    for (const s of env.steps)
      if (s.awaiting)
        lines.push(
          `  waiting for you: ${s.awaiting.commands.map(t).join('   or   ')}${s.awaiting.decision === 'approve or reject' ? `  (${approvers(s.requiresRoles)})` : ''}`,
        );
    for (const s of env.steps) {
      const a = s.analysis;
      if (!a || (a.runs.length === 0 && !a.nextJudgmentAt)) continue;
      lines.push(
        `  analysis ${t(s.location)}: ${a.runs.length} of ${a.numberOfJudgmentRuns} run(s), every ${a.interval}, ${a.lookbackMethod} window${a.nextJudgmentAt ? `; next at ${a.nextJudgmentAt}` : ''}`,
      );
      for (const r of a.runs) {
        lines.push(`    run ${r.run} ${r.verdict} at ${r.at}, window ${r.window.start} – ${r.window.end}`);
        for (const q of r.queries) lines.push(`      ${queryLine(q)}`);
        if (r.queries.length === 0) lines.push(`      ${t(r.message)}`);
      }
    }
    for (const r of env.webhookRuns) {
      lines.push(
        `  webhook ${t(r.webhookName)} (${t(r.location)}): ${t(r.status)}${r.agent ? ` via agent ${t(r.agent.agentIdentifier)}` : ''}${r.mdMessage ? ` — ${t(r.mdMessage)}` : ''}${r.reason ? ` (${t(r.reason)})` : ''}${r.waiting ? ` — ${t(r.waiting.message)}` : ''}`,
      );
    }
    if (env.target?.versions.length) {
      lines.push(
        `  ${t(env.target.driver)} target: ${env.target.versions.map((v) => `${t(v.version)} ${t(v.weight)}% ${t(v.role)}`).join(', ')}`,
      );
    }
  }
  // Who decided what, and why (the deployment's audit entries).
  const audit = view.audit ?? [];
  if (audit.length) {
    lines.push('', 'Decisions:');
    lines.push(
      table(
        ['  WHEN', 'WHO', 'WHAT', 'ENVIRONMENT', 'FROM', 'WHY'],
        audit.map((e) => [
          `  ${t(e.at)}`,
          t(e.actor),
          t(e.action),
          e.environment ? t(e.environment) : '-',
          e.source ? t(e.source) : '-',
          e.reason ? t(e.reason) : '-',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/** Who may approve a pause, as the control plane judges it: one of its roles, or admin. */
function approvers(requiresRoles: readonly string[] | undefined): string {
  const roles = requiresRoles?.length ? requiresRoles : ['deployer'];
  return `needs the role ${[...roles, 'admin'].map(oneLine).join(' or ')}`;
}
