// A deployment's decisions: the buttons that make them (approve, reject, roll forward, roll back,
// cancel, with a reason) and the audit table of who decided what.
import { api } from './api.js';
import { table, time } from './components.js';
import { confirmWithReason } from './confirm-dialog.js';
import { FINAL, wantedDecisions } from './deployment-model.js';
import { announce, append, h, main } from './dom.js';
import { errorMessage } from './feedback.js';

const ACTIONS = [
  { action: 'approve', label: 'Approve', when: 'approval' },
  {
    action: 'reject',
    label: 'Reject',
    when: 'approval',
    danger: true,
    confirm: (env) => `Rejecting stops ${env}; environments that depend on it do not run.`,
  },
  { action: 'roll-forward', label: 'Roll forward', when: 'roll' },
  {
    action: 'rollback',
    label: 'Roll back',
    when: 'roll',
    danger: true,
    confirm: (env) => `${env} goes back to the version it ran before this deployment.`,
  },
  {
    action: 'cancel',
    label: 'Cancel',
    danger: true,
    confirm: (env) => `Cancelling stops ${env} where it is; environments that depend on it do not run.`,
  },
];

/** Results of people's actions, per deployment and environment, kept across re-renders. */
const actionResults = new Map();
const busy = new Set();
/** Reasons being typed, per deployment and environment: an update of the page keeps them. */
const reasons = new Map();

/**
 * The reason field and the decision buttons for one environment (only the decisions that apply
 * now), then the paragraph that shows the result of the last one.
 */
export function decisionControls(d, env, headingId, envStatus, refresh) {
  const wants = wantedDecisions(env);
  const controls = [];
  // Only the decisions that apply now: approve/reject while an approval waits, roll forward/back
  // while a roll decision waits, cancel while the environment has not ended.
  const applicable = ACTIONS.filter((a) => (a.when ? wants.has(a.when) : !FINAL.has(envStatus)));
  if (applicable.length && envStatus !== 'SKIPPED') {
    const key = `${d.id}/${env.name}`;
    const reasonId = `${headingId}-reason`;
    const reason = h('input', {
      id: reasonId,
      type: 'text',
      className: 'reason',
      maxlength: '2000',
      autocomplete: 'off',
      dataset: { key: `${key}/reason` },
      'aria-describedby': `${reasonId}-help`,
    });
    reason.value = reasons.get(key) ?? '';
    reason.addEventListener('input', () => reasons.set(key, reason.value));
    const buttons = applicable.map((a) =>
      h(
        'button',
        {
          type: 'button',
          className: a.danger ? 'danger' : 'primary',
          'aria-disabled': busy.has(key) ? 'true' : undefined,
          dataset: { key: `${key}/${a.action}`, action: a.action },
          'aria-describedby': `${headingId}-result`,
          onClick: () => decide(d.id, env.name, a, refresh),
        },
        a.label,
      ),
    );
    controls.push(
      h(
        'div',
        { className: 'decide' },
        h('label', { for: reasonId, className: 'reason-label' }, 'Reason'),
        reason,
        h(
          'p',
          { id: `${reasonId}-help`, className: 'muted small' },
          'Kept in the audit log with your name. Reject, Roll back and Cancel ask you to confirm and need one.',
        ),
        h('div', { className: 'actions', role: 'group', 'aria-label': `Decisions for ${env.name}` }, buttons),
      ),
    );
  }
  const result = actionResults.get(`${d.id}/${env.name}`);
  controls.push(
    h('p', { id: `${headingId}-result`, className: `message ${result?.kind ?? ''}` }, result?.text ?? ''),
  );
  return controls;
}

/** Who started the deployment and who decided what, when, from where and why (its audit entries). */
export function renderDecisions(d) {
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

async function decide(id, environment, a, refresh) {
  const key = `${id}/${environment}`;
  if (busy.has(key)) return;
  let reason = (reasons.get(key) ?? '').trim();
  if (a.danger) {
    const confirmed = await confirmWithReason({
      title: `${a.label} ${environment}?`,
      body: a.confirm(environment),
      confirmLabel: `${a.label} ${environment}`,
      reason,
    });
    if (confirmed === null) return;
    reason = confirmed;
  }
  if (busy.has(key)) return;
  busy.add(key);
  for (const b of main.querySelectorAll('button[data-action]')) {
    if (b.dataset.key?.startsWith(`${key}/`)) b.setAttribute('aria-disabled', 'true');
  }
  try {
    await api('POST', `/api/v1/deployments/${encodeURIComponent(id)}/${a.action}`, {
      environment,
      ...(reason ? { reason } : {}),
    });
    reasons.delete(key);
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
