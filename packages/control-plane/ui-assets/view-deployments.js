// Deployments: the list, most recent first.
import { api } from './api.js';
import { statusBadge, table, time, updatedNote } from './components.js';
import { h, show } from './dom.js';
import { loadFailed } from './feedback.js';
import { poll } from './poll.js';

const DEPLOYMENTS_REFRESH_MS = 3000;

export function deploymentsScreen() {
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
