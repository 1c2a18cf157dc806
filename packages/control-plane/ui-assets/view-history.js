// An application's revision history, per environment: what ran when, who started and approved
// it, what runs now, and "Roll back to this" (a new deployment of that revision, confirmed with a
// reason, gated like any other).
import { api } from './api.js';
import { table, time, updatedNote } from './components.js';
import { confirmWithReason } from './confirm-dialog.js';
import { announce, h, show } from './dom.js';
import { errorMessage, loadFailed } from './feedback.js';
import { poll } from './poll.js';

const HISTORY_REFRESH_MS = 5000;
/** Outcome of the last rollback asked for here, per application and environment. */
const results = new Map();

export function historyScreen(application) {
  document.title = `${application} history · Borealis`;
  const path = `/api/v1/applications/${encodeURIComponent(application)}/history`;
  poll(HISTORY_REFRESH_MS, async (current) => {
    let data;
    try {
      data = await api('GET', path);
    } catch (err) {
      return current() && loadFailed(err, `History of ${application}`);
    }
    if (!current()) return false;
    show(render(application, data));
    return true;
  });
}

function render(application, data) {
  const envs = data?.environments ?? [];
  const parts = [
    h(
      'p',
      {},
      h(
        'a',
        { href: `#/deployments?application=${encodeURIComponent(application)}` },
        `← Deployments of ${application}`,
      ),
    ),
    h('h1', {}, `History of ${application}`),
    h(
      'p',
      { className: 'muted' },
      'Every environment a deployment brought to SUCCEEDED is a revision. Rolling back starts a new ' +
        'deployment of that revision’s deploy file and context, for that one environment, with its own gates.',
    ),
  ];
  if (envs.length === 0) parts.push(h('p', { className: 'muted' }, `${application} has no revision yet.`));
  for (const env of envs) {
    const headingId = `history-${env.name}`;
    const key = `${application}/${env.name}`;
    const rows = [...env.revisions].reverse().map((r) => {
      const isCurrent = r.revision === env.current;
      return h(
        'tr',
        { className: isCurrent ? 'current' : undefined },
        h(
          'th',
          { scope: 'row' },
          `#${r.revision}`,
          isCurrent ? h('span', { className: 'status status-ok' }, 'runs now') : null,
        ),
        h(
          'td',
          { className: 'mono' },
          r.version,
          r.images?.length ? h('div', { className: 'muted' }, r.images.join(', ')) : null,
        ),
        h('td', {}, time(r.deployedAt)),
        h(
          'td',
          {},
          r.startedBy ?? '—',
          r.rollbackOf ? h('div', { className: 'muted' }, `rollback to #${r.rollbackOf.revision}`) : null,
        ),
        h('td', {}, r.approvedBy?.length ? r.approvedBy.join(', ') : '—'),
        h(
          'td',
          {},
          h(
            'a',
            {
              href: `#/deployments/${encodeURIComponent(r.deploymentId)}/${encodeURIComponent(env.name)}`,
              className: 'mono',
              'aria-label': `Deployment ${r.deploymentId} (revision ${r.revision})`,
            },
            r.deploymentId.slice(0, 8),
          ),
        ),
        h(
          'td',
          {},
          isCurrent
            ? null
            : h(
                'button',
                {
                  type: 'button',
                  className: 'danger',
                  dataset: { key: `rollback-${env.name}-${r.revision}` },
                  'aria-label': `Roll back ${env.name} to revision ${r.revision} (${r.version})`,
                  onClick: () => rollBack(application, env.name, r),
                },
                'Roll back to this',
              ),
        ),
      );
    });
    const result = results.get(key);
    parts.push(
      h(
        'section',
        { className: 'panel', 'aria-labelledby': headingId },
        h('h2', { id: headingId }, `Environment ${env.name}`),
        h(
          'p',
          { id: `${headingId}-result`, className: `message ${result?.kind ?? ''}` },
          result?.nodes ?? '',
        ),
        table(
          `Revisions of ${application} in ${env.name}, newest first`,
          ['Revision', 'Version', 'Deployed', 'Started by', 'Approved by', 'Deployment', 'Action'],
          rows,
          'No revision.',
        ),
      ),
    );
  }
  parts.push(updatedNote());
  return parts;
}

async function rollBack(application, environment, r) {
  const reason = await confirmWithReason({
    title: `Roll ${environment} back to revision ${r.revision}?`,
    body: `A new deployment of ${application} ${r.version} (revision ${r.revision}) starts in ${environment} only; its gates run again.`,
    confirmLabel: `Roll back to revision ${r.revision}`,
  });
  if (reason === null) return;
  const key = `${application}/${environment}`;
  try {
    const started = await api('POST', `/api/v1/applications/${encodeURIComponent(application)}/rollback`, {
      environment,
      toRevision: r.revision,
      reason,
    });
    const href = `#/deployments/${encodeURIComponent(started.deploymentId)}/${encodeURIComponent(environment)}`;
    results.set(key, {
      kind: 'success',
      nodes: [
        `Rollback to revision ${r.revision} started: `,
        h('a', { href }, `deployment ${started.deploymentId}`),
      ],
    });
    announce(`Rollback of ${environment} to revision ${r.revision} started.`);
  } catch (err) {
    const text = errorMessage(err);
    if (text === null) return;
    results.set(key, { kind: 'error', nodes: `Roll back failed: ${text}` });
    announce(`Roll back failed: ${text}`);
  }
  historyScreen(application);
}
