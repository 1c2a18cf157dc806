import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServerDouble, startApiServerDouble } from '../k8s-double/api-server-double.js';
import { webhookYaml } from '../kit/deploy-file.js';
import { waitForDeployment } from '../kit/deployments.js';
import { createPrivateNetwork, type PrivateNetwork } from '../kit/netns.mjs';
import { until } from '../kit/until.js';
import { type HookServer, startHookServer } from './engine/support.js';
import { freePort, type ServerProc, startServer, TEST_TOKEN } from './support/control-plane.js';
import { agentEnv, bins, type Proc, repoRoot, runCli, startProcess, stopAll } from './support/processes.js';

/**
 * The Kubernetes target end to end: the real control plane (child process) drives the real agent
 * (child process, in its own network namespace, BOREALIS_KUBERNETES=kubeconfig:...) which carries
 * the calls to an API-server double only it can address — engine → relay → tunnel → agent → API
 * is real; only the cluster is a double (no Kubernetes API server can run here).
 */
const K8S_TOKEN = 'sa-token-for-the-agent-only';
const AGENT = 'prod-cluster';
let net: PrivateNetwork;
let k8s: ApiServerDouble;
let server: ServerProc;
let hooks: HookServer;
let agent: Proc;
let dir: string;

beforeAll(async () => {
  net = createPrivateNetwork();
  dir = mkdtempSync(join(tmpdir(), 'brl-k8s-'));
  k8s = await startApiServerDouble({
    token: K8S_TOKEN,
    host: net.hostAddress,
    namespaces: [
      'plan',
      'canary',
      'bluegreen',
      'failing',
      'payments',
      'invalid',
      'conflict',
      'smi',
      'revoked',
      'cancel',
      'restart',
      'istio',
    ],
    forbiddenNamespaces: ['payments'],
    neverReady: (image) => image.endsWith(':broken'),
    tickMs: 20,
  });
  hooks = await startHookServer();
  server = await startServer({
    BOREALIS_HOST: net.hostAddress,
    // A fixed port, so that the restart test brings the control plane back where the agent dials.
    BOREALIS_PORT: String(await freePort(net.hostAddress)),
    BOREALIS_DIRECT_ALLOW: '127.0.0.1/32',
    BOREALIS_TARGET_DRIVER: 'auto',
  });
  const { json: cred } = await server.api('POST', '/api/v1/agent-credentials', {
    name: 'cluster-agent',
    allowedIdentifiers: [AGENT],
  });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
current-context: double
contexts:
  - name: double
    context: { cluster: double, user: agent, namespace: plan }
clusters:
  - name: double
    cluster: { server: "${k8s.url}" }
users:
  - name: agent
    user: { token: ${K8S_TOKEN} }
`,
  );
  agent = startProcess(bins.agent, {
    netns: net.name,
    env: {
      ...agentEnv({ url: server.url, identifier: AGENT, cred, allow: null }),
      BOREALIS_KUBERNETES: `kubeconfig:${kubeconfig}`,
      BOREALIS_KUBERNETES_NAMESPACES: 'canary,payments',
      BOREALIS_RECONNECT_BASE: '100ms',
      BOREALIS_RECONNECT_MAX: '1s',
    },
  });
  await agent.waitForLog('connected');
}, 60_000);

afterAll(async () => {
  await stopAll();
  await hooks?.close();
  await k8s?.close();
  net?.destroy();
  server?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], cwd = repoRoot) {
  return runCli(args, { url: server.url, token: TEST_TOKEN, cwd });
}

interface View {
  id: string;
  status: string;
  environments: Array<{
    name: string;
    status: string;
    message: string | null;
    steps: Array<{ location: string; status: string; message?: string }>;
    target: {
      driver: string;
      location?: string;
      versions: Array<{
        version: string;
        weight: number;
        role: string;
        replicas?: number;
        workloads?: string[];
      }>;
    } | null;
  }>;
}

async function start(deployFile: string): Promise<string> {
  const { status, json } = await server.api('POST', '/api/v1/deployments', { deployFile });
  expect(status, JSON.stringify(json)).toBe(202);
  return json.deploymentId as string;
}

async function view(id: string): Promise<View> {
  return (await server.api<View>('GET', `/api/v1/deployments/${id}`)).json;
}

/** Deploys `app`'s first version (`shop:1`, `replicas` of it, and `extra` manifests) and waits for it. */
async function deployFirstVersion(
  app: string,
  namespace: string,
  replicas = 2,
  extra: string[] = [],
): Promise<string> {
  const first = await start(
    deployFile({ app, namespace, manifests: [webManifest('shop:1', replicas), ...extra] }),
  );
  await waitFor(first, (v) => v.status === 'SUCCEEDED', 'the first version');
  return first;
}

/** Waits until the deploy step says the rollout was updated (the driver now watches it). */
function waitForRolloutWatched(id: string): Promise<View> {
  return waitFor(
    id,
    (v) =>
      (v.environments[0]?.steps.find((s) => s.location === 'rollout.deploy')?.message ?? '').includes(
        'updated',
      ),
    'the rollout to be watched',
  );
}

function waitFor(id: string, pred: (v: View) => boolean, what: string, timeoutMs = 30_000): Promise<View> {
  return waitForDeployment(server.api, id, pred, { what, timeoutMs });
}

const versionOf = (id: string) => `v-${id.slice(0, 8)}`;

/** Strategy `c`: a canary at half weight that waits for a person. */
const HALF_THEN_APPROVAL = `strategies:
  c:
    canary:
      steps:
        - setWeight: { weight: 50 }
        - pause: { untilApproved: true }
`;
const replicasOf = (ns: string, name: string) =>
  k8s.get('deployments', ns, name)?.spec?.replicas as number | undefined;

function webManifest(image: string, replicas: number, extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: ${image}${extra}
`;
}

const service = (name: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: { app: web }
  ports:
    - port: 80
`;

function deployFile(opts: {
  app: string;
  namespace: string;
  manifests: string[];
  strategy?: string;
  extra?: string;
}): string {
  return `version: v1
kind: kubernetes
application: ${opts.app}
targets:
  prod:
    account: ${AGENT}
    namespace: ${opts.namespace}
${opts.strategy ? `    strategy: ${opts.strategy}\n` : ''}manifests:
${opts.manifests.map((m) => `  - inline: |\n${m.replace(/^/gm, '      ')}`).join('\n')}
${opts.extra ?? ''}`;
}

describe('Kubernetes target through the agent in the cluster', () => {
  it('the agent says at start where it can act and where RBAC stops it', async () => {
    const line = await agent.waitForLog('kubernetes access');
    expect(line.hint).toContain('deploy/kubernetes/rbac.yaml');
    expect(line.canActIn).toEqual(['canary']);
    expect(line.cannotActIn).toMatchObject({ payments: expect.stringContaining('patch deployments.apps') });
    // The agent's token never reaches the control plane: the double saw it only from the agent.
    expect(server.proc.output()).not.toContain(K8S_TOKEN);
  });

  it('only the driver reaches the API: a webhook or a probe to the Kubernetes virtual host is refused', async () => {
    const before = k8s.requests.length;
    const probe = await cli([
      'agents',
      'probe',
      AGENT,
      'https://kubernetes.borealis.invalid/api/v1/namespaces/canary/secrets',
    ]);
    expect(probe.code).not.toBe(0);
    expect(probe.stderr).toContain('reserved for the Kubernetes driver');
    const id = await start(
      `${deployFile({ app: 'sneaky', namespace: 'canary', manifests: [service('sneaky')] }).replace(
        '    namespace: canary\n',
        '    namespace: canary\n    constraints:\n      beforeDeployment:\n        - runWebhook: { name: steal }\n',
      )}webhooks:
  - name: steal
    method: GET
    uriTemplate: https://kubernetes.borealis.invalid/api/v1/namespaces/canary/secrets
    networkMode: remoteNetworkAgent
    disableCallback: true
`,
    );
    const done = await waitFor(id, (v) => v.status === 'FAILED', 'the refused webhook');
    expect(JSON.stringify(done)).toContain('reserved for the Kubernetes driver');
    expect(k8s.requests.slice(before).filter((r) => r.path.includes('secrets'))).toEqual([]);
  });

  it('deploy plan prints exactly the objects and calls the driver then sends', async () => {
    const work = join(dir, 'plan');
    mkdirSync(join(work, 'k8s'), { recursive: true });
    writeFileSync(join(work, 'k8s', 'web.yaml'), `${webManifest('shop:1', 2)}---\n${service('web')}`);
    writeFileSync(
      join(work, 'deploy.yml'),
      `version: v1
application: planned-shop
targets:
  prod:
    account: ${AGENT}
    namespace: plan
manifests:
  - path: k8s/web.yaml
  - inline: |
      apiVersion: v1
      kind: ConfigMap
      metadata: { name: web-config }
      data: { greeting: hello }
`,
    );
    const planned = await cli(['deploy', 'plan', '-f', join(work, 'deploy.yml'), '-o', 'json']);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as {
      environments: Array<{
        calls: Array<{ method: string; path: string; query?: Record<string, string>; body?: unknown }>;
      }>;
    };
    const text = await cli(['deploy', 'plan', '-f', join(work, 'deploy.yml')]);
    expect(text.stdout).toContain('kubectl apply --dry-run=server');
    expect(text.stdout).toContain('kind: ConfigMap');
    expect(k8s.requests.filter((r) => r.path.includes('/namespaces/plan/'))).toEqual([]);

    const started = await cli(['deploy', 'start', '-f', join(work, 'deploy.yml'), '--watch']);
    expect(started.code, `${started.stdout}\n${started.stderr}`).toBe(0);
    const id = /Deployment ([0-9a-f-]{36})/.exec(started.stdout)?.[1] as string;
    const fill = (v: unknown) =>
      JSON.parse(JSON.stringify(v).replaceAll('PLANNED', id).replaceAll('v-planned', versionOf(id)));
    const plannedApplies = (plan.environments[0]?.calls ?? [])
      .filter((c) => c.method === 'PATCH')
      .map((c) => fill({ path: c.path, query: c.query, body: c.body }));
    const received = k8s.requests
      .filter((r) => r.method === 'PATCH' && r.path.includes('/namespaces/plan/'))
      .map((r) => ({ path: r.path, query: r.query, body: r.body }));
    expect(plannedApplies.length).toBe(3);
    expect(received).toEqual(plannedApplies);
    expect(k8s.get('deployments', 'plan', 'web')?.metadata.annotations['borealis.io/deployment-id']).toBe(id);
    expect(k8s.get('deployments', 'plan', 'web')?.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'borealis',
      'borealis.io/application': 'planned-shop',
      'borealis.io/environment': 'prod',
      'borealis.io/version': versionOf(id),
    });
    // Every call carried the agent's own credentials; the control plane never had them.
    expect(k8s.requests.every((r) => r.authorization === `Bearer ${K8S_TOKEN}`)).toBe(true);
    const done = await view(id);
    expect(done.environments[0]?.target?.driver).toBe('kubernetes');
  });

  it('a canary with two setWeight steps and a webhook gate splits the replicas at each step', async () => {
    const first = await deployFirstVersion('shop', 'canary', 4, [service('web')]);
    expect(replicasOf('canary', 'web')).toBe(4);

    const gate = `webhooks:
${webhookYaml({ name: 'canary-gate', uri: `${hooks.url}/hold/canary-gate`, networkMode: 'direct' })}strategies:
  rolling-canary:
    canary:
      steps:
        - setWeight: { weight: 25 }
        - runWebhook: { name: canary-gate }
        - setWeight: { weight: 75 }
        - runWebhook: { name: canary-gate }
`;
    const id = await start(
      deployFile({
        app: 'shop',
        namespace: 'canary',
        manifests: [webManifest('shop:2', 4), service('web')],
        strategy: 'rolling-canary',
        extra: gate,
      }),
    );
    const canary = `web-${versionOf(id)}`;
    const atGate = async (n: number) => {
      await until(() => (hooks.held.get('canary-gate')?.length ?? 0) >= 1, `canary gate ${n}`, 30_000);
      return view(id);
    };
    const v1 = await atGate(1);
    expect(replicasOf('canary', canary)).toBe(1);
    expect(replicasOf('canary', 'web')).toBe(3);
    const split1 = v1.environments[0]?.target?.versions ?? [];
    expect(split1.find((v) => v.version === versionOf(id))).toMatchObject({
      weight: 25,
      replicas: 1,
      role: 'canary',
    });
    expect(split1.find((v) => v.version === versionOf(first))).toMatchObject({ weight: 75, replicas: 3 });
    expect(await hooks.callBack('canary-gate', true)).toBe(200);

    const v2 = await waitFor(
      id,
      (v) =>
        v.environments[0]?.steps.some((s) => s.location === 'strategy.steps[3]' && s.status === 'running') ===
        true,
      'the second gate',
    );
    await atGate(2);
    expect(replicasOf('canary', canary)).toBe(3);
    expect(replicasOf('canary', 'web')).toBe(1);
    expect(v2.environments[0]?.steps.find((s) => s.location === 'strategy.steps[2]')?.message).toContain(
      `weight 75: replicas ${canary} 3, web 1`,
    );
    expect(await hooks.callBack('canary-gate', true)).toBe(200);

    const done = await waitFor(id, (v) => v.status === 'SUCCEEDED', 'the canary to finish');
    expect(replicasOf('canary', canary)).toBe(4);
    expect(k8s.get('deployments', 'canary', 'web')).toBeUndefined();
    expect(done.environments[0]?.target?.versions).toEqual([
      expect.objectContaining({ version: versionOf(id), weight: 100, role: 'active', replicas: 4 }),
    ]);
    // The replica split the cluster went through, in order.
    const history = k8s.scaleHistory
      .filter((h) => h.namespace === 'canary')
      .map((h) => `${h.name}=${h.replicas}`);
    expect(history).toEqual([
      'web=4',
      `${canary}=0`,
      `${canary}=1`,
      'web=3',
      `${canary}=3`,
      'web=1',
      `${canary}=4`,
      'web=0',
    ]);
  });

  it('a blue/green switches the active Service after an approval, then removes the old version', async () => {
    const strategy = `strategies:
  bg:
    blueGreen:
      activeService: web
      previewService: web-preview
      redirectTrafficAfter:
        - pause: { untilApproved: true }
`;
    const file = (image: string) =>
      deployFile({
        app: 'blue-green-shop',
        namespace: 'bluegreen',
        manifests: [webManifest(image, 2), service('web'), service('web-preview')],
        strategy: 'bg',
        extra: strategy,
      });
    const first = await start(file('shop:1'));
    await waitFor(first, (v) => v.status === 'AWAITING_APPROVAL', 'the first approval');
    expect((await cli(['deploy', 'approve', first, '--env', 'prod'])).code).toBe(0);
    await waitFor(first, (v) => v.status === 'SUCCEEDED', 'the first version');
    const blue = `web-${versionOf(first)}`;
    expect(k8s.get('services', 'bluegreen', 'web')?.spec.selector).toEqual({
      app: 'web',
      'borealis.io/version': versionOf(first),
    });

    const id = await start(file('shop:2'));
    const green = `web-${versionOf(id)}`;
    await waitFor(id, (v) => v.status === 'AWAITING_APPROVAL', 'the approval');
    expect(replicasOf('bluegreen', green)).toBe(2);
    expect(replicasOf('bluegreen', blue)).toBe(2);
    expect(k8s.get('services', 'bluegreen', 'web')?.spec.selector['borealis.io/version']).toBe(
      versionOf(first),
    );
    expect(k8s.get('services', 'bluegreen', 'web-preview')?.spec.selector['borealis.io/version']).toBe(
      versionOf(id),
    );

    const approved = await cli(['deploy', 'approve', id, '--env', 'prod']);
    expect(approved.code, approved.stderr).toBe(0);
    await waitFor(id, (v) => v.status === 'SUCCEEDED', 'the switch');
    expect(k8s.get('services', 'bluegreen', 'web')?.spec.selector['borealis.io/version']).toBe(versionOf(id));
    expect(k8s.get('deployments', 'bluegreen', blue)).toBeUndefined();
    expect(replicasOf('bluegreen', green)).toBe(2);
  });

  it('a rollout that never becomes available fails with the API reason and is rolled back', async () => {
    const first = await deployFirstVersion('failing-shop', 'failing');
    const id = await start(
      deployFile({
        app: 'failing-shop',
        namespace: 'failing',
        manifests: [
          webManifest('shop:broken', 2).replace(
            '  replicas: 2',
            '  replicas: 2\n  progressDeadlineSeconds: 1',
          ),
        ],
      }),
    );
    const done = await waitFor(id, (v) => ['ROLLED_BACK', 'FAILED'].includes(v.status), 'the rollback');
    expect(done.status).toBe('ROLLED_BACK');
    const message = done.environments[0]?.message ?? '';
    expect(message).toContain('Deployment web: ProgressDeadlineExceeded: ReplicaSet "web-');
    expect(message).toContain('has timed out progressing.');
    expect(message).toContain('rolled back');
    // The previous revision's object is back: the old image, without the deadline it never had.
    const web = k8s.get('deployments', 'failing', 'web');
    expect(web?.spec.template.spec.containers[0].image).toBe('shop:1');
    expect(web?.spec.progressDeadlineSeconds).toBeUndefined();
    expect(web?.metadata.annotations['borealis.io/deployment-id']).toBe(first);
  });

  it('a namespace RBAC forbids gives the API server words and the fix', async () => {
    const id = await start(
      deployFile({ app: 'payments', namespace: 'payments', manifests: [webManifest('pay:1', 1)] }),
    );
    const done = await waitFor(id, (v) => ['ROLLED_BACK', 'FAILED'].includes(v.status), 'the refusal');
    const message = done.environments[0]?.message ?? '';
    expect(message).toContain(
      'deployments.apps is forbidden: User "system:serviceaccount:borealis:borealis-agent" cannot list resource "deployments" in API group "apps" in the namespace "payments"',
    );
    expect(message).toContain('deploy/kubernetes/rbac.yaml');
    expect(k8s.list('deployments', 'payments')).toEqual([]);
  });

  it('an invalid manifest and a field-manager conflict reach the status in the API words, with what to do', async () => {
    const bad = webManifest('shop:1', 1).replace('labels: { app: web }', 'labels: { app: other }');
    const invalid = await start(deployFile({ app: 'invalid-shop', namespace: 'invalid', manifests: [bad] }));
    const i = await waitFor(invalid, (v) => v.status === 'ROLLED_BACK', 'the invalid manifest');
    expect(i.environments[0]?.message).toContain(
      '422 Invalid: Deployment.apps "web" is invalid: spec.template.metadata.labels',
    );
    expect(i.environments[0]?.message).toContain('kubectl apply --dry-run=server');

    await deployFirstVersion('conflict-shop', 'conflict');
    // Someone scaled it by hand with server-side apply: they own spec.replicas now.
    k8s.applyAs('kubectl', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'conflict' },
      spec: { replicas: 5 },
    });
    const id = await start(
      deployFile({ app: 'conflict-shop', namespace: 'conflict', manifests: [webManifest('shop:2', 2)] }),
    );
    const c = await waitFor(id, (v) => ['ROLLED_BACK', 'FAILED'].includes(v.status), 'the conflict');
    expect(c.environments[0]?.message).toContain(
      '409 Conflict: Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas',
    );
    expect(c.environments[0]?.message).toContain('another field manager');
    expect(k8s.get('deployments', 'conflict', 'web')?.spec.template.spec.containers[0].image).toBe('shop:1');
  });

  it('a canary with trafficManagement smi splits traffic with a TrafficSplit between per-version Services', async () => {
    const file = (image: string, withStrategy: boolean) =>
      deployFile({
        app: 'smi-shop',
        namespace: 'smi',
        manifests: [webManifest(image, 2), service('web')],
        ...(withStrategy ? { strategy: 'c' } : {}),
        extra: `${HALF_THEN_APPROVAL}trafficManagement:
  - targets: [prod]
    smi:
      - rootServiceName: web
`,
      });
    const first = await start(file('shop:1', false));
    await waitFor(first, (v) => v.status === 'SUCCEEDED', 'the first version');
    const id = await start(file('shop:2', true));
    await waitFor(id, (v) => v.status === 'AWAITING_APPROVAL', 'the canary pause');
    expect(k8s.get('trafficsplits', 'smi', 'web')?.spec).toEqual({
      service: 'web',
      backends: [
        { service: 'web-stable', weight: 50 },
        { service: 'web-canary', weight: 50 },
      ],
    });
    expect(k8s.get('services', 'smi', 'web-canary')?.spec.selector['borealis.io/version']).toBe(
      versionOf(id),
    );
    expect(k8s.get('services', 'smi', 'web-stable')?.spec.selector['borealis.io/version']).toBe(
      versionOf(first),
    );
    expect((await cli(['deploy', 'approve', id, '--env', 'prod'])).code).toBe(0);
    await waitFor(id, (v) => v.status === 'SUCCEEDED', 'the canary');
    expect(k8s.get('trafficsplits', 'smi', 'web')?.spec.backends).toEqual([
      { service: 'web-stable', weight: 0 },
      { service: 'web-canary', weight: 100 },
    ]);
  });

  it('a canary with trafficManagement istio weights the VirtualService route between DestinationRule subsets', async () => {
    const istio = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: web
spec:
  hosts: [web]
  http:
    - name: primary
      route:
        - destination: { host: web.istio.svc.cluster.local }
`;
    const file = (image: string, withStrategy: boolean) =>
      deployFile({
        app: 'istio-shop',
        namespace: 'istio',
        manifests: [webManifest(image, 2), service('web'), istio],
        ...(withStrategy ? { strategy: 'c' } : {}),
        extra: `${HALF_THEN_APPROVAL}trafficManagement:
  - targets: [prod]
    istio:
      - virtualService: { name: web, httpRouteName: primary }
        destinationRule: { name: web, activeSubsetName: stable, canarySubsetName: canary }
`,
      });
    const first = await start(file('shop:1', false));
    await waitFor(first, (v) => v.status === 'SUCCEEDED', 'the first version');
    const id = await start(file('shop:2', true));
    await waitFor(id, (v) => v.status === 'AWAITING_APPROVAL', 'the canary pause');
    const host = 'web.istio.svc.cluster.local';
    expect(k8s.get('virtualservices', 'istio', 'web')?.spec.http[0].route).toEqual([
      { destination: { host, subset: 'stable' }, weight: 50 },
      { destination: { host, subset: 'canary' }, weight: 50 },
    ]);
    expect(k8s.get('destinationrules', 'istio', 'web')?.spec).toEqual({
      host,
      subsets: [
        { name: 'stable', labels: { 'borealis.io/version': versionOf(first) } },
        { name: 'canary', labels: { 'borealis.io/version': versionOf(id) } },
      ],
    });
    expect((await cli(['deploy', 'approve', id, '--env', 'prod'])).code).toBe(0);
    await waitFor(id, (v) => v.status === 'SUCCEEDED', 'the canary');
    expect(
      k8s.get('virtualservices', 'istio', 'web')?.spec.http[0].route.map((r: { weight: number }) => r.weight),
    ).toEqual([0, 100]);
    const routing = () => ({
      vs: k8s.get('virtualservices', 'istio', 'web')?.spec,
      dr: k8s.get('destinationrules', 'istio', 'web')?.spec,
    });
    const before = routing();

    // A third version rejected at its pause: the rollback restores the routing as it was.
    const third = await start(file('shop:3', true));
    await waitFor(third, (v) => v.status === 'AWAITING_APPROVAL', 'the third canary pause');
    expect(routing()).not.toEqual(before);
    expect((await cli(['deploy', 'reject', third, '--env', 'prod', '--reason', 'latency'])).code).toBe(0);
    await waitFor(third, (v) => ['ROLLED_BACK', 'FAILED'].includes(v.status), 'the rollback');
    expect(routing()).toEqual(before);
    expect(k8s.get('deployments', 'istio', `web-${versionOf(third)}`)).toBeUndefined();
    expect(replicasOf('istio', `web-${versionOf(id)}`)).toBe(2);
  });

  it('access revoked during a failing rollout: the rollback fails too, and the environment says both', async () => {
    await deployFirstVersion('revoked-shop', 'revoked');
    const watches = () =>
      k8s.requests.filter((r) => r.query.watch === '1' && r.path.includes('/namespaces/revoked/')).length;
    const before = watches();
    const broken = webManifest('shop:broken', 2).replace(
      '  replicas: 2',
      '  replicas: 2\n  progressDeadlineSeconds: 2',
    );
    const id = await start(deployFile({ app: 'revoked-shop', namespace: 'revoked', manifests: [broken] }));
    await waitForRolloutWatched(id);
    // Revoked once the watch is open (RBAC is checked when a request starts, as the real server does).
    await until(() => watches() > before, 'the watch of the new rollout');
    k8s.forbid('revoked');
    const done = await waitFor(id, (v) => v.status === 'FAILED', 'the failure');
    const message = done.environments[0]?.message ?? '';
    // The rollout failed on its own (the API's reason), and the rollback met the revoked access.
    expect(message, message).toContain('ProgressDeadlineExceeded');
    expect(message).toContain('the rollback failed too');
    expect(message).toContain(
      'cannot get resource "deployments" in API group "apps" in the namespace "revoked"',
    );
    expect(message).toContain('may run a mix of versions');
  });

  it('a cancel while the rollout waits stops the wait and restores the previous version', async () => {
    await deployFirstVersion('cancel-shop', 'cancel');
    const id = await start(
      deployFile({ app: 'cancel-shop', namespace: 'cancel', manifests: [webManifest('shop:broken', 2)] }),
    );
    await waitForRolloutWatched(id);
    const cancelled = await cli(['deploy', 'cancel', id, '--reason', 'wrong image']);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    const done = await waitFor(id, (v) => v.status === 'CANCELLED', 'the cancel');
    expect(done.environments[0]?.message).toContain('rolled back');
    expect(k8s.get('deployments', 'cancel', 'web')?.spec.template.spec.containers[0].image).toBe('shop:1');
  });

  it('a control plane killed during a canary comes back, and the rollout goes on with the objects it recorded', async () => {
    await deployFirstVersion('restart-shop', 'restart');
    const id = await start(
      deployFile({
        app: 'restart-shop',
        namespace: 'restart',
        manifests: [webManifest('shop:2', 2)],
        strategy: 'c',
        extra: `webhooks:
${webhookYaml({ name: 'restart-gate', uri: `${hooks.url}/hold/restart-gate`, networkMode: 'direct' })}strategies:
  c:
    canary:
      steps:
        - setWeight: { weight: 50 }
        - runWebhook: { name: restart-gate }
`,
      }),
    );
    const canary = `web-${versionOf(id)}`;
    await until(() => (hooks.held.get('restart-gate')?.length ?? 0) >= 1, 'the gate', 30_000);
    expect([replicasOf('restart', canary), replicasOf('restart', 'web')]).toEqual([1, 1]);

    server.proc.kill('SIGKILL');
    await server.proc.exited;
    server = await startServer(server.env, server.dataDir);
    await until(
      async () => {
        const { json } = await server.api<{ agents: Array<{ agentIdentifier: string }> }>(
          'GET',
          '/api/v1/agents',
        );
        return json.agents?.some((a) => a.agentIdentifier === AGENT);
      },
      'the agent to reconnect',
      30_000,
    );

    expect(await hooks.callBack('restart-gate', true)).toBe(200);
    const done = await waitFor(id, (v) => v.status === 'SUCCEEDED', 'the canary after the restart');
    expect(replicasOf('restart', canary)).toBe(2);
    expect(k8s.get('deployments', 'restart', 'web')).toBeUndefined();
    expect(done.environments[0]?.target?.versions).toEqual([
      expect.objectContaining({ version: versionOf(id), weight: 100, replicas: 2 }),
    ]);
  }, 90_000);
});
