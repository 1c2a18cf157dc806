// Agents: every connection of every Remote Network Agent, refreshed every few seconds.
import { api } from './api.js';
import { statusBadge, table, time, updatedNote } from './components.js';
import { h, show } from './dom.js';
import { loadFailed } from './feedback.js';
import { poll } from './poll.js';

const AGENTS_REFRESH_MS = 3000;

export function agentsScreen() {
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
