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

/**
 * The first lines of a deploy file whose target `prod` runs canary strategy `c`: set weight, then
 * an analysis step up to `units: seconds`, to which the caller appends the step's other fields
 * (indented twelve spaces) and the rest of the file. `configMap` puts a one-ConfigMap manifest
 * list right after the application; `stepExtra` is appended to the `- analysis:` line.
 */
export function canaryAnalysisHead(
  o: {
    application?: string;
    configMap?: string;
    weight?: number;
    interval?: number;
    stepExtra?: string;
  } = {},
): string {
  return [
    `application: ${o.application ?? 'app'}`,
    ...(o.configMap
      ? [`manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: ${o.configMap}}}"}]`]
      : []),
    'targets:',
    '  prod:',
    '    strategy: c',
    'strategies:',
    '  c:',
    '    canary:',
    '      steps:',
    '        - setWeight:',
    `            weight: ${o.weight ?? 20}`,
    `        - analysis:${o.stepExtra ?? ''}`,
    `            interval: ${o.interval ?? 10}`,
    '            units: seconds',
    '',
  ].join('\n');
}
