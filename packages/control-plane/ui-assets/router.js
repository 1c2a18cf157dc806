// The router: the address after # names the screen (#/agents, #/deployments, #/deployments/ID).
import { getToken } from './api.js';
import { main } from './dom.js';
import { agentsScreen } from './view-agents.js';
import { deploymentScreen } from './view-deployment.js';
import { deploymentsScreen } from './view-deployments.js';
import { askForToken, onSignedIn, showForgetButton } from './view-token.js';

export function route() {
  if (!getToken()) return askForToken();
  showForgetButton(true);
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

onSignedIn(route);
