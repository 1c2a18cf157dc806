/**
 * Whether each remote webhook can find an agent, checked on the whole file: `agentFor` names the
 * agent of every call, and that name must be one an agent can have (the protocol's grammar), so a
 * typo like `prod eu` is refused here instead of failing at dispatch as "no agent connected".
 */
import { AGENT_IDENTIFIER_RULE, isAgentIdentifier } from '@borealis/protocol';
import type { Located, WebhookCallSite } from './call-sites.js';
import type { DiagnosticSink } from './diagnostic.js';
import { agentFor, suggestIdentifier } from './routing.js';
import type { DeploymentSpec } from './spec-types.js';
import { joinPath } from './yaml-nodes.js';

export function checkAgents(
  spec: DeploymentSpec,
  sites: readonly WebhookCallSite[],
  loc: Located,
  sink: DiagnosticSink,
): void {
  const badAccounts = new Set<string>();
  spec.webhooks.forEach((w, i) => {
    const base = joinPath('webhooks', i);
    if (!w?.name) return;
    if (w.networkMode === 'direct') {
      if (w.agentIdentifier !== undefined) {
        const path = joinPath(base, 'agentIdentifier');
        sink.add(
          'BRL_DF_AGENT_IDENTIFIER_IGNORED',
          loc.keyAt(path),
          path,
          `webhook "${w.name}" sets agentIdentifier but its networkMode is direct`,
          'set networkMode: remoteNetworkAgent, or remove agentIdentifier',
        );
      }
      return;
    }
    // The schema checks an agentIdentifier written on the webhook; here the account stands in.
    if (w.networkMode !== 'remoteNetworkAgent' || w.agentIdentifier !== undefined) return;
    const withoutAccount = new Set<string>();
    for (const site of sites) {
      if (site.step.name !== w.name) continue;
      for (const t of site.targets) {
        const agent = agentFor(w, spec.targets[t]?.account);
        if (agent === undefined) withoutAccount.add(t);
        else if (!isAgentIdentifier(agent) && !badAccounts.has(t)) {
          badAccounts.add(t);
          const path = joinPath(joinPath('targets', t), 'account');
          sink.add(
            'BRL_DF_AGENT_IDENTIFIER',
            loc.at(path),
            path,
            `target "${t}" has account ${JSON.stringify(agent)}, which webhook "${w.name}" (no agentIdentifier) uses as its agent identifier, but no agent can be called that: ${AGENT_IDENTIFIER_RULE}`,
            `add agentIdentifier: <the agent's BOREALIS_AGENT_IDENTIFIER> to webhook "${w.name}", or name the account as the agent is named (e.g. ${suggestIdentifier(agent)})`,
          );
        }
      }
    }
    if (withoutAccount.size > 0) {
      const path = joinPath(base, 'networkMode');
      sink.add(
        'BRL_DF_NO_AGENT',
        loc.at(path),
        path,
        `webhook "${w.name}" goes through a Remote Network Agent but has no agentIdentifier, and target ${[...withoutAccount].map((t) => `"${t}"`).join(', ')} has no account to fall back on`,
        'add agentIdentifier: <agent identifier> to the webhook, or an account to the target',
      );
    }
  });
}
