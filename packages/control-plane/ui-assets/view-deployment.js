// One deployment: its environments, steps, analyses, webhook runs, decisions and the buttons to
// make them.
import { api } from './api.js';
import { backLink, markdown, statusBadge, table, time, updatedNote } from './components.js';
import { announce, append, h, main, show } from './dom.js';
import { errorMessage, loadFailed } from './feedback.js';
import { poll } from './poll.js';

const DEPLOYMENT_REFRESH_MS = 2000;
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK']);
const ACTIONS = [
  { action: 'approve', label: 'Approve', when: 'approval' },
  { action: 'reject', label: 'Reject', when: 'approval', danger: true },
  { action: 'roll-forward', label: 'Roll forward', when: 'roll' },
  { action: 'rollback', label: 'Roll back', when: 'roll', danger: true },
  { action: 'cancel', label: 'Cancel', danger: true },
];

/** Results of people's actions, per deployment and environment, kept across re-renders. */
const actionResults = new Map();
const busy = new Set();

export function deploymentScreen(id) {
  document.title = 'Deployment · Borealis';
  const path = `/api/v1/deployments/${encodeURIComponent(id)}`;
  let lastGood;
  poll(DEPLOYMENT_REFRESH_MS, async (current) => {
    const load = async () => {
      const view = await api('GET', path);
      if (!current()) return;
      lastGood = renderDeployment(view, () => load().catch(() => undefined));
      show(lastGood);
      document.title = `${view.application} ${view.status} · Borealis`;
    };
    try {
      await load();
    } catch (err) {
      return current() && loadFailed(err, `Deployment ${id}`, lastGood ? [lastGood] : [backLink()]);
    }
    return current();
  });
}

function renderDeployment(d, refresh) {
  const root = h('div');
  append(root, [
    backLink(),
    h('h1', {}, `Deployment of ${d.application} `, statusBadge(d.status)),
    d.message ? h('p', {}, d.message) : null,
    h(
      'dl',
      { className: 'meta' },
      h('dt', {}, 'ID'),
      h('dd', { className: 'mono' }, d.id),
      h('dt', {}, 'Started'),
      h('dd', {}, time(d.createdAt)),
      h('dt', {}, 'Finished'),
      h('dd', {}, time(d.finishedAt)),
      h('dt', {}, 'Started by'),
      h('dd', {}, d.createdBy ?? '—'),
      h('dt', {}, 'Target driver'),
      h('dd', {}, d.driver ?? '—'),
    ),
  ]);
  for (const env of d.environments ?? []) root.append(renderEnvironment(d, env, refresh));
  root.append(renderDecisions(d));
  root.append(updatedNote());
  return root;
}

/** Who started the deployment and who decided what, when, from where and why (its audit entries). */
function renderDecisions(d) {
  const section = h('section', { className: 'panel', 'aria-labelledby': 'decisions' });
  const rows = (d.audit ?? []).map((e) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, e.actor),
      h('td', {}, e.action),
      h('td', {}, e.environment ?? '—'),
      h('td', {}, e.reason ?? ''),
      h('td', { className: 'mono' }, e.source ?? '—'),
      h('td', {}, time(e.at)),
    ),
  );
  append(section, [
    h('h2', { id: 'decisions' }, 'Decisions'),
    table(
      'Who decided what, and why',
      ['Who', 'What', 'Environment', 'Why', 'From', 'When'],
      rows,
      'No decisions yet.',
    ),
  ]);
  return section;
}

function renderEnvironment(d, env, refresh) {
  const headingId = `env-${env.name}`;
  const section = h('section', { className: 'panel', 'aria-labelledby': headingId });
  const awaiting = (env.steps ?? []).filter((s) => s.status === 'waiting' && s.awaiting);
  const wants = new Set();
  for (const s of awaiting) {
    if (/approve/.test(s.awaiting.decision)) wants.add('approval');
    if (/roll/.test(s.awaiting.decision)) wants.add('roll');
  }
  append(section, [
    h('h2', { id: headingId }, `Environment ${env.name} `, statusBadge(env.status)),
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
        `Waiting for a person to ${s.awaiting.decision} (${s.step}). From a shell: `,
        h('code', {}, s.awaiting.commands.join('  |  ')),
      ),
    ),
  ]);

  if (!FINAL.has(env.status)) {
    const key = `${d.id}/${env.name}`;
    const buttons = ACTIONS.map((a) =>
      h(
        'button',
        {
          type: 'button',
          className: a.danger ? 'danger' : a.when && wants.has(a.when) ? 'primary' : '',
          'aria-disabled': busy.has(key) ? 'true' : undefined,
          dataset: { key: `${key}/${a.action}`, action: a.action },
          'aria-describedby': `${headingId}-result`,
          onClick: () => decide(d.id, env.name, a, refresh),
        },
        a.label,
      ),
    );
    section.append(
      h('div', { className: 'actions', role: 'group', 'aria-label': `Decisions for ${env.name}` }, buttons),
    );
  }
  const result = actionResults.get(`${d.id}/${env.name}`);
  section.append(
    h('p', { id: `${headingId}-result`, className: `message ${result?.kind ?? ''}` }, result?.text ?? ''),
  );

  const steps = (env.steps ?? []).map((s) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, s.step),
      h('td', { className: 'mono' }, s.location),
      h('td', {}, statusBadge(s.status)),
      h(
        'td',
        {},
        s.message ?? '',
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
      h('th', { scope: 'row' }, r.webhookName, h('div', { className: 'muted mono' }, r.location)),
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

async function decide(id, environment, a, refresh) {
  const key = `${id}/${environment}`;
  if (busy.has(key)) return;
  busy.add(key);
  for (const b of main.querySelectorAll('button[data-action]')) {
    if (b.dataset.key?.startsWith(`${key}/`)) b.setAttribute('aria-disabled', 'true');
  }
  try {
    await api('POST', `/api/v1/deployments/${encodeURIComponent(id)}/${a.action}`, { environment });
    const text = `${a.label}: sent for ${environment}.`;
    actionResults.set(key, { kind: 'success', text });
    announce(text);
  } catch (err) {
    const text = errorMessage(err);
    if (text === null) return;
    actionResults.set(key, { kind: 'error', text: `${a.label} failed: ${text}` });
    announce(`${a.label} failed: ${text}`);
  } finally {
    busy.delete(key);
  }
  await refresh();
}
