// Borealis web UI: plain DOM, no framework, no build step. Every value that comes from the API is
// put on the page with textContent (or as DOM nodes built here), never as HTML: an mdMessage, an
// agent identifier or an error message can hold anything.

const TOKEN_KEY = 'borealis.apiToken';
const AGENTS_REFRESH_MS = 3000;
const DEPLOYMENTS_REFRESH_MS = 3000;
const DEPLOYMENT_REFRESH_MS = 2000;
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK']);
const ACTIONS = [
  { action: 'approve', label: 'Approve', when: 'approval' },
  { action: 'reject', label: 'Reject', when: 'approval', danger: true },
  { action: 'roll-forward', label: 'Roll forward', when: 'roll' },
  { action: 'rollback', label: 'Roll back', when: 'roll', danger: true },
  { action: 'cancel', label: 'Cancel', danger: true },
];

const main = document.getElementById('main');
const forgetButton = document.getElementById('forget-token');

// ---------------------------------------------------------------------------------------- DOM

/** h('td', {className: 'num'}, 'text', node, ...): strings become text nodes, never markup. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'className') el.className = v;
    else if (k === 'onClick') el.addEventListener('click', v);
    else if (k === 'onSubmit') el.addEventListener('submit', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'hidden') el.hidden = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A visually hidden live region: results of actions are announced to screen readers. */
const announcer = h('div', { className: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
document.body.append(announcer);
function announce(text) {
  announcer.textContent = '';
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

/**
 * Replaces what the main region shows. Polling re-renders every few seconds, so the element that
 * had the focus (found again by its data-key) gets it back: a keyboard user is not thrown out.
 */
function show(...nodes) {
  const active = document.activeElement;
  const key = active && main.contains(active) ? active.dataset.key : undefined;
  main.replaceChildren(...nodes.flat().filter(Boolean));
  if (key) {
    const again = main.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

/**
 * A tiny, safe subset of Markdown for webhook mdMessages: **bold**, `code`, [text](http(s) URL)
 * and line breaks, built as DOM nodes. Everything else is text, exactly as it came.
 */
function markdown(text) {
  const out = h('span', { className: 'md' });
  const lines = String(text).split(/\r?\n/);
  lines.forEach((line, i) => {
    if (i > 0) out.append(h('br'));
    const pattern = /\*\*([^*]+)\*\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)/g;
    let last = 0;
    for (const m of line.matchAll(pattern)) {
      out.append(document.createTextNode(line.slice(last, m.index)));
      if (m[1] !== undefined) out.append(h('strong', {}, m[1]));
      else if (m[2] !== undefined) out.append(h('code', {}, m[2]));
      else {
        const href = safeHref(m[4]);
        out.append(href ? h('a', { href, rel: 'noopener noreferrer nofollow' }, m[3]) : m[0]);
      }
      last = m.index + m[0].length;
    }
    out.append(document.createTextNode(line.slice(last)));
  });
  return out;
}

function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

function time(iso) {
  if (!iso) return h('span', { className: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const ago = Math.round((Date.now() - d.getTime()) / 1000);
  const rel =
    ago < 0 ? '' : ago < 90 ? ` (${ago} s ago)` : ago < 5400 ? ` (${Math.round(ago / 60)} min ago)` : '';
  return h(
    'time',
    { datetime: d.toISOString(), title: d.toISOString() },
    d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) + rel,
  );
}

function statusBadge(status) {
  const s = String(status ?? 'unknown');
  const u = s.toUpperCase();
  let tone = 'neutral';
  if (['SUCCEEDED', 'CONNECTED', 'PASSED'].includes(u)) tone = 'ok';
  else if (['FAILED', 'ROLLED_BACK', 'CANCELLED'].includes(u)) tone = 'bad';
  else if (['AWAITING_APPROVAL', 'PAUSED', 'WAITING', 'DRAINING'].includes(u)) tone = 'warn';
  else if (['RUNNING', 'QUEUED', 'PENDING'].includes(u)) tone = 'info';
  return h('span', { className: `status status-${tone}` }, s);
}

function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h('p', { className: 'muted' }, empty);
  // A wide table scrolls inside its own box (focusable, so the keyboard can scroll it too).
  return h(
    'div',
    { className: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    bareTable(caption, headers, rows),
  );
}

function bareTable(caption, headers, rows) {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

function updatedNote() {
  return h('p', { className: 'updated' }, `Updated ${new Date().toLocaleTimeString()}; refreshes by itself.`);
}

// ---------------------------------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new ApiError(401, 'BRL_UI_NO_TOKEN', 'Paste the API token to continue.');
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(
      0,
      'BRL_UI_UNREACHABLE',
      `Cannot reach the control plane at ${location.origin}: is borealis-server running? This page retries by itself.`,
    );
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = json?.error;
    throw new ApiError(
      res.status,
      err?.code ?? `HTTP_${res.status}`,
      err?.message ?? `The control plane answered ${res.status} ${res.statusText}`,
    );
  }
  return json;
}

/** What a failed call shows; a 401 forgets the token and asks again. Returns false when it did. */
function errorMessage(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) {
      askForToken(err.code === 'BRL_UI_NO_TOKEN' ? undefined : err.message);
      return null;
    }
    return `${err.message} (${err.code})`;
  }
  return `Unexpected error in this page: ${err?.message ?? err}`;
}

// -------------------------------------------------------------------------------- token prompt

function askForToken(reason) {
  stopPolling();
  sessionStorage.removeItem(TOKEN_KEY);
  forgetButton.hidden = true;
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help',
  });
  const form = h(
    'form',
    {
      className: 'token',
      onSubmit: (e) => {
        e.preventDefault();
        const value = input.value.trim();
        if (!value) return;
        sessionStorage.setItem(TOKEN_KEY, value);
        forgetButton.hidden = false;
        route();
      },
    },
    h('h1', {}, 'Sign in to Borealis'),
    reason ? h('p', { className: 'message error', role: 'alert' }, reason) : null,
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'div',
      { id: 'token-help', className: 'muted' },
      h(
        'p',
        {},
        'The control plane’s bearer token. Without BOREALIS_API_TOKEN, borealis-server generates one on ' +
          'first start and writes it to ',
        h('code', {}, './.borealis/api-token'),
        ' (under its data directory, BOREALIS_DATA_DIR); print it with ',
        h('code', {}, 'cat .borealis/api-token'),
        '. If the server was started with BOREALIS_API_TOKEN, use that value.',
      ),
      h(
        'p',
        {},
        'The token stays in this browser tab only (session storage) and is sent as ',
        h('code', {}, 'Authorization: Bearer'),
        ' with every call to the API.',
      ),
    ),
    h('button', { type: 'submit', className: 'primary' }, 'Continue'),
  );
  main.replaceChildren(form);
  input.focus();
}

forgetButton.addEventListener('click', () => askForToken());

// ------------------------------------------------------------------------------------- routing

let pollTimer;
let generation = 0;

function stopPolling() {
  generation++;
  clearTimeout(pollTimer);
}

/** Runs load() now and every `ms` while the route stays the same. */
function poll(ms, load) {
  stopPolling();
  const mine = generation;
  const tick = async () => {
    const keepGoing = await load(() => mine === generation);
    if (mine === generation && keepGoing !== false) pollTimer = setTimeout(tick, ms);
  };
  tick();
}

function route() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return askForToken();
  forgetButton.hidden = false;
  const hash = location.hash.replace(/^#\/?/, '');
  const [screen = 'agents', id] = hash.split('/').map(decodeURIComponent);
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === screen) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (screen === 'deployments' && id) return deploymentScreen(id);
  if (screen === 'deployments') return deploymentsScreen();
  if (screen !== 'agents') {
    history.replaceState(null, '', '#/agents');
  }
  return agentsScreen();
}

window.addEventListener('hashchange', () => {
  route();
  main.focus();
});

/** Shows a load failure above the last good content (or alone). Returns false after a 401. */
function loadFailed(err, title, last) {
  const text = errorMessage(err);
  if (text === null) return false;
  show(h('h1', {}, title), h('p', { className: 'message error', role: 'alert' }, text), last ?? []);
  return true;
}

// -------------------------------------------------------------------------------------- Agents

function agentsScreen() {
  document.title = 'Agents · Borealis';
  poll(AGENTS_REFRESH_MS, async (current) => {
    let data;
    try {
      data = await api('GET', '/api/v1/agents');
    } catch (err) {
      return current() && loadFailed(err, 'Agents');
    }
    if (!current()) return false;
    const agents = data?.agents ?? [];
    const rows = [];
    let withReplica = false;
    for (const a of agents) for (const c of a.connections) if (c.replicaId) withReplica = true;
    for (const a of agents) {
      for (const c of a.connections) {
        rows.push(
          h(
            'tr',
            {},
            h('th', { scope: 'row', className: 'mono' }, a.agentIdentifier),
            h('td', { className: 'mono', title: c.instanceId }, c.instanceId),
            h('td', {}, c.version ?? '—'),
            h('td', {}, statusBadge(c.draining ? 'draining' : 'connected')),
            h('td', {}, time(c.connectedAt)),
            h('td', {}, time(c.lastHeartbeatAt)),
            h('td', { className: 'num' }, String(c.streamsInFlight ?? 0)),
            h('td', { className: 'mono' }, c.remoteAddress ?? '—'),
            h('td', { className: 'mono' }, c.clientId ?? '—'),
            h(
              'td',
              {},
              c.wildcard
                ? h(
                    'span',
                    {
                      className: 'status status-warn',
                      title: 'The credential allows identifiers by a "*" pattern, not one by one',
                    },
                    'wildcard',
                  )
                : h('span', { className: 'muted' }, c.credentialName ?? '—'),
            ),
            withReplica ? h('td', { className: 'mono' }, c.replicaId ?? '—') : null,
          ),
        );
      }
    }
    const headers = [
      'Agent Identifier',
      'Instance',
      'Version',
      'State',
      'Connected at',
      'Last heartbeat',
      'Streams in flight',
      'Remote address',
      'Client id',
      'Credential',
    ];
    if (withReplica) headers.push('Replica');
    show(
      h('h1', {}, 'Agents'),
      h(
        'p',
        {},
        'Remote Network Agents connected to this control plane, one row per connection. A webhook with ',
        h('code', {}, 'networkMode: remoteNetworkAgent'),
        ' names one of them by its ',
        h('code', {}, 'agentIdentifier'),
        ', the Agent Identifier column below.',
      ),
      table(
        `${agents.length} agent${agents.length === 1 ? '' : 's'}, ${rows.length} connection${rows.length === 1 ? '' : 's'}`,
        headers,
        rows,
        'No agent is connected. Start one inside the private network with BOREALIS_CONTROL_PLANE_URL, ' +
          'BOREALIS_AGENT_IDENTIFIER, BOREALIS_CLIENT_ID and BOREALIS_CLIENT_SECRET (see the README).',
      ),
      updatedNote(),
    );
  });
}

// --------------------------------------------------------------------------------- Deployments

function deploymentsScreen() {
  document.title = 'Deployments · Borealis';
  poll(DEPLOYMENTS_REFRESH_MS, async (current) => {
    let data;
    try {
      data = await api('GET', '/api/v1/deployments');
    } catch (err) {
      return current() && loadFailed(err, 'Deployments');
    }
    if (!current()) return false;
    const list = data?.deployments ?? [];
    const rows = list.map((d) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, d.application),
        h('td', {}, statusBadge(d.status)),
        h('td', {}, time(d.createdAt)),
        h('td', {}, time(d.finishedAt)),
        h(
          'td',
          {},
          h(
            'a',
            {
              href: `#/deployments/${encodeURIComponent(d.id)}`,
              className: 'mono',
              dataset: { key: `dep-${d.id}` },
              'aria-label': `Deployment ${d.id} of ${d.application}`,
            },
            d.id,
          ),
        ),
      ),
    );
    show(
      h('h1', {}, 'Deployments'),
      table(
        'Most recent first',
        ['Application', 'Status', 'Started', 'Finished', 'ID'],
        rows,
        'No deployment yet. Start one with: pnpm exec borealis deploy start -f deploy.yml',
      ),
      updatedNote(),
    );
  });
}

/** Results of people's actions, per deployment and environment, kept across re-renders. */
const actionResults = new Map();
const busy = new Set();

function deploymentScreen(id) {
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

function backLink() {
  return h('p', {}, h('a', { href: '#/deployments' }, '← All deployments'));
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

route();
