// The router: the address after # names the screen (#/agents, #/deployments, #/deployments/ID).
import { getToken } from './api.js';
import { main } from './dom.js';
import { agentsScreen } from './view-agents.js';
import { deploymentScreen } from './view-deployment.js';
import { deploymentsScreen } from './view-deployments.js';
import { historyScreen } from './view-history.js';
import { askForToken, onSignedIn, showForgetButton } from './view-token.js';
import { webhookRunScreen } from './view-webhook-run.js';

export function route() {
  if (!getToken()) return askForToken();
  showForgetButton(true);
  const [hash, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [screen = 'agents', id, sub] = hash.split('/').map(decodeURIComponent);
  const params = new URLSearchParams(query);
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === (['webhook-runs', 'applications'].includes(screen) ? 'deployments' : screen))
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (screen === 'deployments' && id) return deploymentScreen(id, sub);
  if (screen === 'deployments') return deploymentsScreen(params);
  if (screen === 'applications' && id) return historyScreen(id);
  if (screen === 'webhook-runs' && id) return webhookRunScreen(id);
  if (screen !== 'agents') {
    history.replaceState(null, '', '#/agents');
  }
  return agentsScreen();
}

/** The screen without its sub-part: opening another environment of one deployment is not a new page. */
const screenOf = (url) => new URL(url).hash.split('?')[0].split('/').slice(0, 3).join('/');

window.addEventListener('hashchange', (e) => {
  route();
  // A new screen starts at the top for keyboard and screen reader alike; a node of the graph keeps
  // the focus while its environment's detail opens below it.
  if (screenOf(e.oldURL) !== screenOf(e.newURL)) main.focus();
});

onSignedIn(route);
