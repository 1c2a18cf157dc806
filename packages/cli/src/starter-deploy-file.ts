/**
 * What `borealis init` writes: a deploy file that validates as written (a test checks it), with
 * two environments, a webhook that calls back and a manual approval, every line explained.
 */
export function starterDeployFile(application: string, bin: string): string {
  return `# A Borealis deploy file, written by \`${bin} init\`. Edit the lines marked PLACEHOLDER.
# Check it (offline):   ${bin} deploy validate -f deploy.yml
# Start and follow it:  ${bin} deploy start -f deploy.yml --watch --context version=1.0.1
# Every key: docs/deploy-file-reference.md in the Borealis repository.
version: v1
kind: kubernetes
application: ${application}            # deployments of this file are listed and rolled back under this name

# Values for {{context.NAME}} in templates; --context NAME=value at start overrides them.
# \`version\` also names the revision in \`${bin} history\`.
context:
  version: "1.0.0"

# Environments. prod starts only after staging succeeded (dependsOn).
targets:
  staging:
    account: staging                  # PLACEHOLDER: the cluster account / agent identifier
    namespace: ${application}
    strategy: rolling
    constraints:
      afterDeployment:
        # Calls your test runner, then waits (up to 24 h) for it to POST
        # {"success": true} (or false: staging fails, prod is cancelled) to the callback URI.
        - runWebhook:
            name: integration-tests
  prod:
    account: prod                     # PLACEHOLDER
    namespace: ${application}
    strategy: rolling
    constraints:
      dependsOn: [staging]
      beforeDeployment:
        # A person decides: ${bin} deploy approve <id> --env prod (or reject)
        - pause:
            untilApproved: true

# What is deployed. The image tag is the version \`${bin} history\` shows.
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: ${application}
      spec:
        template:
          spec:
            containers:
              - name: ${application}
                image: registry.example.com/${application}:1.0.0   # PLACEHOLDER: your image

strategies:
  rolling:
    canary:
      steps:
        - setWeight:
            weight: 100

webhooks:
  - name: integration-tests
    method: POST
    # PLACEHOLDER: your CI's URL. Not reachable from the control plane? Use
    # networkMode: remoteNetworkAgent and agentIdentifier: <agent> (see \`${bin} agents list\`).
    uriTemplate: https://ci.example.com/jobs/integration-tests/run
    networkMode: direct
    headers:
      # Secrets come from \`printf %s "$TOKEN" | ${bin} secrets set ci_token\`; quote templated values.
      - key: Authorization
        value: "Bearer {{secrets.ci_token}}"
      - key: Content-Type
        value: application/json
    bodyTemplate:
      inline: >-
        {"callbackUri": "{{armory.callbackUri}}/callback",
        "environment": "{{armory.environmentName}}", "version": "{{context.version}}"}
    retryCount: 2
`;
}
