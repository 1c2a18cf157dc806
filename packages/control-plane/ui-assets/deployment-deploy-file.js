// The deploy file a deployment ran with (as validated and stored) and its context, fetched when
// its disclosure opens.
import { api } from './api.js';
import { table } from './components.js';
import { h } from './dom.js';
import { errorMessage } from './feedback.js';

/** Deploy files fetched, per deployment (they never change), and which disclosures are open. */
const deployFiles = new Map();
const openDeployFiles = new Set();

/** The deploy file (as validated and stored) and the context the deployment ran with. */
export function renderDeployFile(d) {
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
