// One environment of a deployment: its status, what waits for a person, the decisions, steps,
// analysis runs, webhook runs and the versions running now.
import { analysisCharts } from './chart.js';
import { markdown, statusBadge, table, time } from './components.js';
import { decisionControls } from './deployment-decisions.js';
import { approvers, environmentStatus, stepStatus } from './deployment-model.js';
import { append, h } from './dom.js';

export function renderEnvironment(d, env, refresh) {
  const headingId = `env-${env.name}`;
  const section = h('section', { className: 'panel env-detail', 'aria-labelledby': headingId });
  const awaiting = (env.steps ?? []).filter((s) => s.status === 'waiting' && s.awaiting);
  const envStatus = environmentStatus(d, env);
  append(section, [
    h('h2', { id: headingId, tabindex: '-1' }, `Environment ${env.name} `, statusBadge(envStatus)),
    h(
      'dl',
      { className: 'meta' },
      h('dt', {}, 'Phase'),
      h('dd', {}, env.phase ?? '—'),
      env.dependsOn?.length ? [h('dt', {}, 'Depends on'), h('dd', {}, env.dependsOn.join(', '))] : null,
      env.strategy ? [h('dt', {}, 'Strategy'), h('dd', {}, env.strategy)] : null,
      h('dt', {}, 'Started'),
      h('dd', {}, time(env.startedAt)),
      h('dt', {}, 'Finished'),
      h('dd', {}, time(env.finishedAt)),
    ),
    env.message ? h('p', {}, env.message) : null,
    awaiting.map((s) =>
      h(
        'p',
        { className: 'message notice' },
        `Waiting for a person to ${s.awaiting.decision} (${s.step})`,
        /approve/.test(s.awaiting.decision) ? `; who may: ${approvers(s)} (or admin)` : '',
        '. From a shell: ',
        h('code', {}, s.awaiting.commands.join('  |  ')),
      ),
    ),
  ]);

  section.append(...decisionControls(d, env, headingId, envStatus, refresh));

  const steps = (env.steps ?? []).map((s) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, s.step),
      h('td', { className: 'mono' }, s.location),
      h('td', {}, statusBadge(stepStatus(d, env, s))),
      h(
        'td',
        {},
        s.message ? markdown(s.message) : '',
        s.decidedBy ? h('div', { className: 'muted' }, `decided by ${s.decidedBy}`) : null,
        s.deadlineAt && !['succeeded', 'failed', 'cancelled', 'skipped'].includes(s.status)
          ? h('div', { className: 'muted' }, 'deadline ', time(s.deadlineAt))
          : null,
      ),
    ),
  );
  section.append(
    h('h3', {}, 'Steps'),
    table(`Steps of ${env.name}`, ['Step', 'Where', 'Status', 'Detail'], steps, 'No steps.'),
  );

  // Analysis: every judgment run, each query's value against its limits, and the window asked about.
  for (const s of env.steps ?? []) {
    const a = s.analysis;
    if (!a || (a.runs.length === 0 && !a.nextJudgmentAt)) continue;
    const rows = a.runs.flatMap((r) =>
      (r.queries.length ? r.queries : [{ query: '—', passed: false, message: r.message }]).map((q, i) =>
        h(
          'tr',
          {},
          i === 0
            ? h(
                'th',
                { scope: 'row', rowSpan: Math.max(1, r.queries.length) },
                `Run ${r.run} `,
                statusBadge(r.verdict),
              )
            : null,
          i === 0
            ? h(
                'td',
                { rowSpan: Math.max(1, r.queries.length), className: 'mono' },
                time(r.window.start),
                h('div', {}, '→ ', time(r.window.end)),
              )
            : null,
          h(
            'td',
            { className: 'mono' },
            q.query,
            q.provider ? h('div', { className: 'muted' }, q.provider) : null,
          ),
          h('td', { className: 'num' }, q.value === undefined ? '—' : String(q.value)),
          h('td', { className: 'num' }, `[${q.lowerLimit ?? '−∞'}, ${q.upperLimit ?? '+∞'}]`),
          h(
            'td',
            {},
            statusBadge(q.passed ? 'passed' : 'failed'),
            h('div', { className: 'muted' }, q.message),
          ),
        ),
      ),
    );
    section.append(
      h('h3', {}, `Analysis ${s.location}`),
      h(
        'p',
        { className: 'muted' },
        `${a.runs.length} of ${a.numberOfJudgmentRuns} run(s), every ${a.interval}, ${a.lookbackMethod} window; rollBackMode ${a.rollBackMode}, rollForwardMode ${a.rollForwardMode}`,
        a.nextJudgmentAt ? ['; next run ', time(a.nextJudgmentAt)] : null,
      ),
      analysisCharts(a),
      table(
        `Judgment runs of ${s.location} in ${env.name}`,
        ['Run', 'Window', 'Query', 'Value', 'Limits', 'Verdict'],
        rows,
        'No run yet.',
      ),
    );
  }

  const runs = (env.webhookRuns ?? []).map((r) =>
    h(
      'tr',
      {},
      h(
        'th',
        { scope: 'row' },
        h(
          'a',
          {
            href: `#/webhook-runs/${encodeURIComponent(r.id)}`,
            dataset: { key: `run-${r.id}` },
            'aria-label': `${r.webhookName}: request, attempts and callback`,
          },
          r.webhookName,
        ),
        h('div', { className: 'muted mono' }, r.location),
      ),
      h('td', {}, statusBadge(r.status)),
      h(
        'td',
        {},
        r.agent
          ? [
              h('span', { className: 'mono' }, r.agent.agentIdentifier),
              h('div', { className: 'muted mono', title: r.agent.instanceId }, r.agent.instanceId),
            ]
          : h('span', { className: 'muted' }, 'direct'),
      ),
      h('td', {}, r.reason ?? ''),
      h('td', { className: 'md-cell' }, r.mdMessage ? markdown(r.mdMessage) : ''),
      h('td', { className: 'num' }, String(r.attempts ?? 0)),
      h('td', {}, time(r.createdAt), r.settledAt ? h('div', {}, 'settled ', time(r.settledAt)) : null),
    ),
  );
  section.append(
    h('h3', {}, 'Webhook runs'),
    table(
      `Webhook runs of ${env.name}`,
      ['Webhook', 'Status', 'Agent', 'Reason', 'Message', 'Attempts', 'Started'],
      runs,
      'No webhook run yet.',
    ),
  );

  const versions = env.target?.versions ?? [];
  if (versions.length) {
    section.append(
      h('h3', {}, 'Running now'),
      table(
        `Versions in ${env.name} (${env.target.driver} driver)`,
        ['Version', 'Role', 'Traffic', 'Deployment'],
        versions.map((v) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row', className: 'mono' }, v.version),
            h('td', {}, v.role),
            h('td', { className: 'num' }, `${v.weight}%`),
            h('td', { className: 'mono' }, v.deploymentId),
          ),
        ),
        '',
      ),
    );
  }
  return section;
}
