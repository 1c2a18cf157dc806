// One deployment: its environments, steps, analyses, webhook runs, decisions and the buttons to
// make them.
import { ApiError, api, stream } from './api.js';
import { analysisCharts } from './chart.js';
import { backLink, markdown, statusBadge, table, time } from './components.js';
import { confirmWithReason } from './confirm-dialog.js';
import {
  approvers,
  awaitedStep,
  duration,
  environmentStatus,
  FINAL,
  stepStatus,
  wantedDecisions,
} from './deployment-model.js';
import { announce, append, h, main, show } from './dom.js';
import { errorMessage, loadFailed } from './feedback.js';
import { deploymentGraph, tickElapsed } from './graph.js';
import { currentScreen, onLeave, stopPolling } from './poll.js';

const DEPLOYMENT_REFRESH_MS = 2000;
/** After the stream broke: try it again this long after (polling meanwhile). */
const STREAM_RETRY_MS = 5000;
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

/** How the page learns of changes: 'live' (the event stream is open) or 'polling' (it is not). */
let mode = { kind: 'polling', why: 'connecting to the live event stream' };

/**
 * Live while the server-sent event stream is open: every event re-reads the deployment (a burst of
 * events is one read), and nothing polls. Without the stream (refused, broken, a proxy that
 * buffers) it polls every 2 s and tries the stream again, from the last event it saw.
 */
export function deploymentScreen(id, selectedEnv) {
  stopPolling();
  const current = currentScreen();
  document.title = 'Deployment · Borealis';
  const path = `/api/v1/deployments/${encodeURIComponent(id)}`;
  let lastGood;
  let lastView;
  let lastEventId;
  let pollTimer;
  let retryTimer;
  let reading;
  let again = false;
  onLeave(() => {
    clearTimeout(pollTimer);
    clearTimeout(retryTimer);
  });

  const load = async () => {
    const view = await api('GET', path);
    if (!current()) return view;
    lastView = view;
    lastGood = renderDeployment(view, selectedEnv, refresh);
    show(lastGood);
    document.title = `${view.application} ${view.status} · Borealis`;
    return view;
  };
  /** One read at a time; events that arrive during a read cause one more read after it. */
  async function refresh() {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      do {
        again = false;
        try {
          await load();
        } catch (err) {
          if (current()) loadFailed(err, `Deployment ${id}`, lastGood ? [lastGood] : [backLink()]);
        }
      } while (again && current());
    })();
    try {
      await reading;
    } finally {
      reading = undefined;
    }
  }

  const startPolling = () => {
    clearTimeout(pollTimer);
    const tick = async () => {
      if (!current() || mode.kind === 'live') return;
      await refresh();
      if (lastView && FINAL.has(lastView.status)) return;
      if (current() && mode.kind !== 'live') pollTimer = setTimeout(tick, DEPLOYMENT_REFRESH_MS);
    };
    pollTimer = setTimeout(tick, DEPLOYMENT_REFRESH_MS);
  };

  const connect = async () => {
    if (!current()) return;
    const controller = new AbortController();
    onLeave(() => controller.abort());
    try {
      await stream(`${path}/events`, {
        signal: controller.signal,
        lastEventId,
        onOpen: () => {
          mode = { kind: 'live' };
          clearTimeout(pollTimer);
          // Whatever happened while the stream was down is read once now.
          refresh();
        },
        onEvent: (e) => {
          if (e.id) lastEventId = e.id;
          refresh();
        },
      });
      // The server ended the stream: the deployment finished, or the server is stopping.
      if (!current()) return;
      mode = { kind: 'polling', why: 'the event stream ended' };
      await refresh();
      if (lastView && !FINAL.has(lastView.status)) {
        startPolling();
        retryTimer = setTimeout(connect, STREAM_RETRY_MS);
      }
    } catch (err) {
      if (!current() || controller.signal.aborted) return;
      if (err instanceof ApiError && err.status === 401) return void errorMessage(err);
      mode = { kind: 'polling', why: `no live event stream (${err.message ?? err})` };
      await refresh();
      if (lastView && FINAL.has(lastView.status)) return;
      startPolling();
      retryTimer = setTimeout(connect, STREAM_RETRY_MS);
    }
  };

  (async () => {
    mode = { kind: 'polling', why: 'connecting to the live event stream' };
    await refresh();
    if (!current()) return;
    // A finished deployment does not change: no stream, no polling.
    if (lastView && FINAL.has(lastView.status)) return;
    connect();
  })();
}

/** Says how this page stays current (and so whether it polls). */
function liveNote(d) {
  const at = new Date().toLocaleTimeString();
  if (FINAL.has(d.status))
    return h('p', { className: 'updated' }, `Updated ${at}. The deployment has ended.`);
  if (mode.kind === 'live')
    return h(
      'p',
      { className: 'updated live live-on', dataset: { live: 'on' } },
      `Live: updated ${at} as events arrive (server-sent events).`,
    );
  return h(
    'p',
    { className: 'updated live', dataset: { live: 'off' } },
    `Updated ${at}; refreshing every ${DEPLOYMENT_REFRESH_MS / 1000} s (${mode.why}).`,
  );
}

// "elapsed …" in the graph moves with the clock between updates (no API call).
setInterval(() => tickElapsed(main, duration), 1000);

/** Which environment's detail opens when the address names none: the one a person is needed for. */
function defaultEnvironment(d) {
  const envs = d.environments ?? [];
  return (
    envs.find((e) => awaitedStep(e)) ??
    envs.find((e) => e.status === 'RUNNING') ??
    envs.find((e) => e.status === 'FAILED' || e.status === 'ROLLED_BACK') ??
    envs[0]
  );
}

export function deploymentHref(id, env) {
  return `#/deployments/${encodeURIComponent(id)}${env ? `/${encodeURIComponent(env)}` : ''}`;
}

function renderDeployment(d, selectedEnv, refresh) {
  const root = h('div');
  const selected = (d.environments ?? []).find((e) => e.name === selectedEnv) ?? defaultEnvironment(d);
  append(root, [
    backLink(),
    h('h1', {}, `Deployment of ${d.application} `, statusBadge(d.status)),
    d.message ? h('p', {}, d.message) : null,
    h(
      'dl',
      { className: 'meta' },
      h('dt', {}, 'Application'),
      h(
        'dd',
        {},
        h(
          'a',
          {
            href: `#/applications/${encodeURIComponent(d.application)}/history`,
            'aria-label': `${d.application}: revision history`,
          },
          d.application,
        ),
      ),
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
    h('h2', { id: 'graph-heading' }, 'Environments'),
    h(
      'p',
      { className: 'muted' },
      'Left to right in dependsOn order. Select an environment to open its steps, webhook runs and decisions.',
    ),
    deploymentGraph(d, selected?.name, (name) => deploymentHref(d.id, name)),
  ]);
  if (selected) root.append(renderEnvironment(d, selected, refresh));
  root.append(renderDecisions(d));
  root.append(renderDeployFile(d));
  root.append(liveNote(d));
  tickElapsed(root, duration);
  return root;
}

/** Deploy files fetched, per deployment (they never change), and which disclosures are open. */
const deployFiles = new Map();
const openDeployFiles = new Set();

/** The deploy file (as validated and stored) and the context the deployment ran with. */
function renderDeployFile(d) {
  const body = h('div', { className: 'deploy-file' });
  const fill = () => {
    const f = deployFiles.get(d.id);
    if (!f) return body.replaceChildren(h('p', { className: 'muted' }, 'Loading…'));
    if (f.error) return body.replaceChildren(h('p', { className: 'message error', role: 'alert' }, f.error));
    const ctx = Object.entries(f.context ?? {});
    body.replaceChildren(
      h('h3', {}, 'Context'),
      table(
        'Context variables ({{context.*}})',
        ['Name', 'Value'],
        ctx.map(([k, v]) =>
          h('tr', {}, h('th', { scope: 'row', className: 'mono' }, k), h('td', { className: 'mono' }, v)),
        ),
        'No context variables.',
      ),
      h('h3', {}, 'Deploy file (as validated, JSON)'),
      h(
        'pre',
        { className: 'body', tabindex: '0', 'aria-label': 'Deploy file' },
        JSON.stringify(f.spec, null, 2),
      ),
    );
  };
  const details = h(
    'details',
    { className: 'panel', open: openDeployFiles.has(d.id) ? true : undefined },
    h('summary', {}, 'Deploy file and context this deployment ran with'),
    body,
  );
  details.addEventListener('toggle', async () => {
    if (!details.open) return void openDeployFiles.delete(d.id);
    openDeployFiles.add(d.id);
    fill();
    if (deployFiles.has(d.id)) return;
    try {
      deployFiles.set(d.id, await api('GET', `/api/v1/deployments/${encodeURIComponent(d.id)}/deploy-file`));
    } catch (err) {
      const text = errorMessage(err);
      if (text === null) return;
      deployFiles.set(d.id, { error: text });
    }
    fill();
  });
  if (openDeployFiles.has(d.id)) fill();
  return details;
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
  const section = h('section', { className: 'panel env-detail', 'aria-labelledby': headingId });
  const awaiting = (env.steps ?? []).filter((s) => s.status === 'waiting' && s.awaiting);
  const wants = wantedDecisions(env);
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
    section.append(
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
  section.append(
    h('p', { id: `${headingId}-result`, className: `message ${result?.kind ?? ''}` }, result?.text ?? ''),
  );

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
