/** Deploy-file pieces tests write again and again, as YAML text. */

/** A JSON body that hands the receiver the callback URI (what the test receivers call back on). */
export const CALLBACK_BODY = '{"callbackUri": "{{armory.callbackUri}}/callback"}';

export interface WebhookYamlOptions {
  name: string;
  /** The `uriTemplate`. */
  uri: string;
  /** Omitted: the deploy file's default. */
  networkMode?: 'direct' | 'remoteNetworkAgent';
  agentIdentifier?: string;
  /** The inline JSON body template, on one line (default CALLBACK_BODY). */
  body?: string;
}

/**
 * One entry of a deploy file's `webhooks:` list (a POST with a JSON body, indented for the list,
 * ending in a newline): `webhooks:\n${webhookYaml({ name: 'gate', uri: `${hooks.url}/hold/gate` })}`.
 */
export function webhookYaml(w: WebhookYamlOptions): string {
  return [
    `  - name: ${w.name}`,
    '    method: POST',
    `    uriTemplate: ${w.uri}`,
    ...(w.networkMode ? [`    networkMode: ${w.networkMode}`] : []),
    ...(w.agentIdentifier ? [`    agentIdentifier: ${w.agentIdentifier}`] : []),
    '    headers:',
    '      - key: Content-Type',
    '        value: application/json',
    '    bodyTemplate:',
    '      inline: >-',
    `        ${w.body ?? CALLBACK_BODY}`,
    '',
  ].join('\n');
}

/**
 * The first lines of a deploy file whose one target (`prod` unless told) has a
 * `beforeDeployment` list, to which the caller appends its steps (indented eight spaces):
 * `${deployFileHead('my-app')}        - pause:\n            untilApproved: true\n`.
 */
export function deployFileHead(application: string, o: { target?: string; configMap?: string } = {}): string {
  const configMap = o.configMap ?? 'app-config';
  return [
    `application: ${application}`,
    `manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: ${configMap}}}"}]`,
    'targets:',
    `  ${o.target ?? 'prod'}:`,
    '    constraints:',
    '      beforeDeployment:',
    '',
  ].join('\n');
}
