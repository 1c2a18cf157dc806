/**
 * Where a webhook call goes: the one routing rule, written once. Validation (cross-checks), the
 * engine's event text and the control plane's webhook calls all ask this function.
 */
import { isAgentIdentifier } from '@borealis/protocol';
import type { WebhookSpec } from './spec-types.js';

/**
 * The agent a webhook call goes through: a `remoteNetworkAgent` webhook goes to its
 * `agentIdentifier`, else to the calling target's `account`. `undefined` for a direct webhook,
 * and for a remote one that has neither (a deploy file that validates always has one).
 */
export function agentFor(
  webhook: Pick<WebhookSpec, 'networkMode' | 'agentIdentifier'>,
  account: string | undefined,
): string | undefined {
  if (webhook.networkMode !== 'remoteNetworkAgent') return undefined;
  const agent = webhook.agentIdentifier ?? account;
  return agent === '' ? undefined : agent;
}

/** `prod eu` → `prod-eu`: the text with every character an identifier cannot hold made a `-`. */
export function suggestIdentifier(text: string): string {
  const id = text
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 128);
  return isAgentIdentifier(id) ? id : 'prod-eu';
}
