// One webhook run as people debug it: the request as sent (secret values masked by the API), the
// route, every attempt with its answer, timings and retry reason, the callback, the deadline.
import { api } from './api.js';
import { markdown, statusBadge, table, time, updatedNote } from './components.js';
import { append, h, show } from './dom.js';
import { loadFailed } from './feedback.js';
import { poll } from './poll.js';

const RUN_REFRESH_MS = 2000;
const SETTLED = new Set(['succeeded', 'failed', 'cancelled']);

export function webhookRunScreen(id) {
  document.title = 'Webhook run · Borealis';
  let lastGood;
  poll(RUN_REFRESH_MS, async (current) => {
    let run;
    try {
      run = await api('GET', `/api/v1/webhook-runs/${encodeURIComponent(id)}`);
    } catch (err) {
      return current() && loadFailed(err, `Webhook run ${id}`, lastGood ? [lastGood] : []);
    }
    if (!current()) return false;
    lastGood = renderRun(run);
    show(lastGood);
    document.title = `${run.webhookName} ${run.status} · Borealis`;
    // A settled run does not change any more: stop asking.
    return !SETTLED.has(run.status);
  });
}

function ms(n) {
  return n === undefined ? '—' : `${n} ms`;
}

function route(run) {
  const agent = run.attempts.findLast((a) => a.agent)?.agent;
  if (agent)
    return [
      h('span', { className: 'mono' }, `agent ${agent.agentIdentifier}`),
      ` (instance ${agent.instanceId})`,
    ];
  if (run.waitingForAgent) return `agent ${run.waitingForAgent.agentIdentifier} (not connected yet)`;
  return run.attempts.length ? 'direct' : '—';
}

function headersTable(caption, headers) {
  return table(
    caption,
    ['Header', 'Value'],
    (headers ?? []).map(([k, v]) =>
      h('tr', {}, h('th', { scope: 'row', className: 'mono' }, k), h('td', { className: 'mono' }, v)),
    ),
    'No headers.',
  );
}

function renderRun(run) {
  const root = h('div');
  const back = `#/deployments/${encodeURIComponent(run.deploymentId)}/${encodeURIComponent(run.environment)}`;
  append(root, [
    h('p', {}, h('a', { href: back }, `← Deployment ${run.deploymentId.slice(0, 8)}, ${run.environment}`)),
    h('h1', {}, `Webhook ${run.webhookName} `, statusBadge(run.status)),
    run.reason
      ? h('p', { className: 'message error' }, run.reason, run.reasonCode ? ` (${run.reasonCode})` : '')
      : null,
    h(
      'dl',
      { className: 'meta' },
      h('dt', {}, 'Step'),
      h('dd', { className: 'mono' }, `${run.environment} · ${run.location}`),
      h('dt', {}, 'Route'),
      h('dd', {}, route(run)),
      h('dt', {}, 'webhook-id'),
      h('dd', { className: 'mono' }, run.callId),
      h('dt', {}, 'Started'),
      h('dd', {}, time(new Date(run.createdAt).toISOString())),
      h('dt', {}, 'Settled'),
      h('dd', {}, run.settledAt ? time(new Date(run.settledAt).toISOString()) : 'not yet'),
      h('dt', {}, 'Deadline'),
      h(
        'dd',
        {},
        time(new Date(run.deadlineAt).toISOString()),
        h('span', { className: 'muted' }, ' (no callback by then: the webhook fails)'),
      ),
      run.nextAttemptAt
        ? [h('dt', {}, 'Next attempt'), h('dd', {}, time(new Date(run.nextAttemptAt).toISOString()))]
        : null,
      run.waitingForAgent
        ? [
            h('dt', {}, 'Waiting for'),
            h(
              'dd',
              {},
              `agent ${run.waitingForAgent.agentIdentifier} to connect, until `,
              time(new Date(run.waitingForAgent.until).toISOString()),
            ),
          ]
        : null,
    ),
  ]);

  const req = run.request;
  root.append(
    h(
      'section',
      { className: 'panel', 'aria-labelledby': 'run-request' },
      h('h2', { id: 'run-request' }, 'Request as sent'),
      req
        ? [
            h('p', { className: 'mono request-line' }, h('strong', {}, req.method), ' ', req.url),
            h('p', { className: 'muted small' }, 'Secret values and the callback token show as ****.'),
            headersTable('Request headers', req.headers),
            h('h3', {}, 'Body'),
            req.body
              ? h('pre', { className: 'body', tabindex: '0', 'aria-label': 'Request body' }, req.body)
              : h('p', { className: 'muted' }, 'No body.'),
          ]
        : h('p', { className: 'muted' }, 'Not rendered yet (the call has not been prepared).'),
    ),
  );

  const attempts = h(
    'section',
    { className: 'panel', 'aria-labelledby': 'run-attempts' },
    h('h2', { id: 'run-attempts' }, `Attempts (${run.attempts.length})`),
  );
  if (run.attempts.length === 0) attempts.append(h('p', { className: 'muted' }, 'No call made yet.'));
  for (const a of run.attempts) {
    const headingId = `attempt-${a.attempt}`;
    const outcome =
      a.status !== undefined
        ? `answered ${a.status}`
        : a.errorCode
          ? `not answered: ${a.errorCode}`
          : 'in flight or cut off';
    attempts.append(
      h(
        'article',
        { className: 'attempt', 'aria-labelledby': headingId },
        h('h3', { id: headingId }, `Attempt ${a.attempt}: ${outcome}`),
        h(
          'dl',
          { className: 'meta' },
          h('dt', {}, 'Started'),
          h('dd', {}, time(new Date(a.startedAt).toISOString())),
          h('dt', {}, 'Took'),
          h('dd', {}, ms(a.durationMs)),
          h('dt', {}, 'Route'),
          h(
            'dd',
            {},
            a.agent
              ? h(
                  'span',
                  { className: 'mono' },
                  `agent ${a.agent.agentIdentifier}, instance ${a.agent.instanceId}`,
                )
              : 'direct',
          ),
          a.message ? [h('dt', {}, 'Error'), h('dd', {}, a.message)] : null,
          a.retry
            ? [
                h('dt', {}, 'Retried'),
                h('dd', {}, 'at ', time(new Date(a.retry.at).toISOString()), ', because ', a.retry.reason),
              ]
            : null,
        ),
        a.response
          ? [
              headersTable(`Answer headers of attempt ${a.attempt}`, a.response.headers),
              h('h4', {}, 'Answer body (first KiB)'),
              a.response.bodyStart
                ? h(
                    'pre',
                    { className: 'body', tabindex: '0', 'aria-label': `Answer body of attempt ${a.attempt}` },
                    a.response.bodyStart,
                  )
                : h('p', { className: 'muted' }, 'Empty.'),
            ]
          : null,
      ),
    );
  }
  root.append(attempts);

  const cb = run.callback;
  root.append(
    h(
      'section',
      { className: 'panel', 'aria-labelledby': 'run-callback' },
      h('h2', { id: 'run-callback' }, 'Callback'),
      cb
        ? [
            h(
              'dl',
              { className: 'meta' },
              h('dt', {}, 'Outcome'),
              h('dd', {}, statusBadge(cb.success ? 'succeeded' : 'failed')),
              h('dt', {}, 'Received'),
              h('dd', {}, time(new Date(cb.receivedAt).toISOString())),
              h('dt', {}, 'From'),
              h('dd', { className: 'mono' }, cb.from ?? 'not recorded'),
            ),
            h('h3', {}, 'Message'),
            cb.mdMessage
              ? h('div', { className: 'md-block' }, markdown(cb.mdMessage))
              : h('p', { className: 'muted' }, 'No mdMessage.'),
          ]
        : h('p', { className: 'muted' }, SETTLED.has(run.status) ? 'None came.' : 'Not yet.'),
    ),
  );
  root.append(updatedNote());
  return root;
}
