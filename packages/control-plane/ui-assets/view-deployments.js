// Deployments: the list, most recent first, filtered by application, status and time, with each
// environment's status as a pill. The filters live in the address (#/deployments?status=FAILED),
// so a filtered list can be bookmarked and shared.
import { api } from './api.js';
import { statusBadge, table, time, updatedNote } from './components.js';
import { environmentStatus } from './deployment-model.js';
import { h, show, showIn } from './dom.js';
import { errorMessage } from './feedback.js';
import { poll } from './poll.js';

const DEPLOYMENTS_REFRESH_MS = 3000;
const STATUSES = [
  'QUEUED',
  'RUNNING',
  'PAUSED',
  'AWAITING_APPROVAL',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'ROLLED_BACK',
];
const SINCE = [
  ['', 'any time'],
  ['1h', 'last hour'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
  ['30d', 'last 30 days'],
];

function select(id, label, options, value) {
  const el = h(
    'select',
    { id, name: id },
    options.map(([v, text]) => h('option', { value: v, selected: v === value ? true : undefined }, text)),
  );
  return [h('label', { for: id }, label), el];
}

export function deploymentsScreen(params = new URLSearchParams()) {
  document.title = 'Deployments · Borealis';
  const filter = {
    application: params.get('application') ?? '',
    status: params.get('status') ?? '',
    since: params.get('since') ?? '',
  };
  const app = h('input', {
    id: 'filter-application',
    name: 'application',
    type: 'search',
    autocomplete: 'off',
    spellcheck: 'false',
    value: filter.application,
  });
  const [statusLabel, status] = select(
    'filter-status',
    'Status',
    [['', 'any status'], ...STATUSES.map((s) => [s, s])],
    filter.status,
  );
  const [sinceLabel, since] = select('filter-since', 'Started', SINCE, filter.since);
  const results = h('div', { id: 'deployment-results', 'aria-live': 'off' });
  const apply = (e) => {
    e?.preventDefault();
    const q = new URLSearchParams();
    if (app.value.trim()) q.set('application', app.value.trim());
    if (status.value) q.set('status', status.value);
    if (since.value) q.set('since', since.value);
    const text = q.toString();
    history.replaceState(null, '', `#/deployments${text ? `?${text}` : ''}`);
    filter.application = app.value.trim();
    filter.status = status.value;
    filter.since = since.value;
    load();
  };
  status.addEventListener('change', apply);
  since.addEventListener('change', apply);
  const form = h(
    'form',
    { className: 'filters', role: 'search', 'aria-label': 'Filter deployments', onSubmit: apply },
    h('div', {}, h('label', { for: 'filter-application' }, 'Application'), app),
    h('div', {}, statusLabel, status),
    h('div', {}, sinceLabel, since),
    h('button', { type: 'submit' }, 'Filter'),
  );
  show(h('h1', {}, 'Deployments'), form, results);

  const load = () =>
    poll(DEPLOYMENTS_REFRESH_MS, async (current) => {
      const q = new URLSearchParams();
      if (filter.application) q.set('application', filter.application);
      if (filter.status) q.set('status', filter.status);
      if (filter.since) q.set('since', filter.since);
      let data;
      try {
        data = await api('GET', `/api/v1/deployments${q.toString() ? `?${q}` : ''}`);
      } catch (err) {
        if (!current()) return false;
        const text = errorMessage(err);
        if (text === null) return false;
        showIn(results, h('p', { className: 'message error', role: 'alert' }, text));
        return true;
      }
      if (!current()) return false;
      showIn(results, renderList(data?.deployments ?? [], q.toString() !== ''), updatedNote());
      return true;
    });
  load();
}

function renderList(list, filtered) {
  const rows = list.map((d) =>
    h(
      'tr',
      {},
      h(
        'th',
        { scope: 'row' },
        h(
          'a',
          {
            href: `#/applications/${encodeURIComponent(d.application)}/history`,
            dataset: { key: `app-${d.id}` },
            'aria-label': `${d.application}: revision history`,
          },
          d.application,
        ),
      ),
      h('td', {}, statusBadge(d.status)),
      h(
        'td',
        {},
        h(
          'ul',
          { className: 'pills', 'aria-label': 'Environments' },
          (d.environments ?? []).map((e) =>
            h(
              'li',
              {},
              h('span', { className: 'pill-name' }, e.name),
              ' ',
              statusBadge(environmentStatus(d, e)),
            ),
          ),
        ),
      ),
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
  return table(
    filtered ? `${list.length} matching, most recent first` : 'Most recent first',
    ['Application', 'Status', 'Environments', 'Started', 'Finished', 'ID'],
    rows,
    filtered
      ? 'No deployment matches these filters.'
      : 'No deployment yet. Start one with: pnpm exec borealis deploy start -f deploy.yml',
  );
}
