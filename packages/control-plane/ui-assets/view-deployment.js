// One deployment: how its page stays current (live event stream, or polling), its summary and
// graph of environments; the selected environment, decisions and deploy file come from
// deployment-environment.js, deployment-decisions.js and deployment-deploy-file.js.
import { ApiError, api, stream } from './api.js';
import { backLink, statusBadge, time } from './components.js';
import { renderDecisions } from './deployment-decisions.js';
import { renderDeployFile } from './deployment-deploy-file.js';
import { renderEnvironment } from './deployment-environment.js';
import { awaitedStep, duration, FINAL } from './deployment-model.js';
import { append, h, main, show } from './dom.js';
import { errorMessage, loadFailed } from './feedback.js';
import { deploymentGraph, tickElapsed } from './graph.js';
import { currentScreen, onLeave, stopPolling } from './poll.js';

const DEPLOYMENT_REFRESH_MS = 2000;
/** After the stream broke: try it again this long after (polling meanwhile). */
const STREAM_RETRY_MS = 5000;

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
