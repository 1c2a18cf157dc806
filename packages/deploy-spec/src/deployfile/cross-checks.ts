/**
 * Checks that need the whole file: names that refer to other parts, dependency cycles, the order
 * of canary weights, and whether a remote webhook can find an agent. They run on the decoded
 * values, and use the positions the walker recorded to point at the offending text.
 */

import { checkAgents } from './agent-checks.js';
import { allSteps, type Located, webhookCallSites } from './call-sites.js';
import type { DiagnosticSink, Position } from './diagnostic.js';
import { didYouMean } from './did-you-mean.js';
import type { DeploymentSpec, TargetSpec } from './spec-types.js';
import { joinPath } from './yaml-nodes.js';

/**
 * The names of a list's items (at `<listPath>[i].name`), each repeated one reported where it
 * repeats: `two <plural> are named "x"`, `<singular> names must be unique`.
 */
function uniqueNames(
  items: ReadonlyArray<{ name?: string } | undefined>,
  listPath: string,
  [plural, singular]: [string, string],
  loc: Located,
  sink: DiagnosticSink,
): Set<string> {
  const names = new Set<string>();
  items.forEach((item, i) => {
    const path = joinPath(joinPath(listPath, i), 'name');
    if (!item?.name) return;
    if (names.has(item.name)) {
      sink.add(
        'BRL_DF_DUPLICATE_NAME',
        loc.at(path),
        path,
        `two ${plural} are named "${item.name}"`,
        `${singular} names must be unique`,
      );
    }
    names.add(item.name);
  });
  return names;
}

export function crossCheck(spec: DeploymentSpec, loc: Located, sink: DiagnosticSink): void {
  const targetNames = Object.keys(spec.targets);
  const unknownTarget = (name: string, path: string) =>
    sink.add(
      'BRL_DF_UNKNOWN_TARGET',
      loc.at(path),
      path,
      `"${name}" is not a target of this file`,
      hintFor(name, targetNames, 'targets'),
    );

  // Webhook names: unique, and every call names one.
  const webhookNames = uniqueNames(spec.webhooks, 'webhooks', ['webhooks', 'webhook'], loc, sink);
  const sites = webhookCallSites(spec);
  const called = new Set<string>();
  for (const site of sites) {
    if (typeof site.step.name !== 'string') continue;
    called.add(site.step.name);
    if (!webhookNames.has(site.step.name)) {
      const path = joinPath(joinPath(site.path, 'runWebhook'), 'name');
      sink.add(
        'BRL_DF_UNKNOWN_WEBHOOK',
        loc.at(path),
        path,
        `runWebhook names "${site.step.name}", but no webhook has that name`,
        hintFor(site.step.name, webhookNames, 'webhooks'),
      );
    }
  }
  spec.webhooks.forEach((w, i) => {
    const path = joinPath(joinPath('webhooks', i), 'name');
    if (w?.name && !called.has(w.name)) {
      sink.add(
        'BRL_DF_UNUSED_WEBHOOK',
        loc.at(path),
        path,
        `webhook "${w.name}" is never called`,
        'call it with a runWebhook step, or remove it',
      );
    }
  });

  // Targets: strategies exist, dependsOn names targets and has no cycle.
  // Keys, not t.name: a target with errors inside is left unrefined and has no name field.
  for (const [targetName, t] of Object.entries(spec.targets)) {
    if (!t) continue;
    const base = joinPath('targets', targetName);
    if (t.strategy !== undefined && !Object.hasOwn(spec.strategies, t.strategy)) {
      const path = joinPath(base, 'strategy');
      sink.add(
        'BRL_DF_UNKNOWN_STRATEGY',
        loc.at(path),
        path,
        `target "${targetName}" uses strategy "${t.strategy}", which is not defined in strategies`,
        hintFor(t.strategy, Object.keys(spec.strategies), 'strategies'),
      );
    }
    t.constraints?.dependsOn?.forEach((dep, i) => {
      if (typeof dep === 'string' && !Object.hasOwn(spec.targets, dep))
        unknownTarget(dep, joinPath(joinPath(joinPath(base, 'constraints'), 'dependsOn'), i));
    });
  }
  reportCycles(spec.targets, loc, sink);
  checkKind(spec, loc, sink, unknownTarget);
  checkBlueGreenServices(spec, loc, sink);

  spec.manifests.forEach((m, i) => {
    m?.targets?.forEach((name, j) => {
      if (typeof name === 'string' && !Object.hasOwn(spec.targets, name))
        unknownTarget(name, joinPath(joinPath(joinPath('manifests', i), 'targets'), j));
    });
  });
  spec.trafficManagement.forEach((tm, i) => {
    tm?.targets?.forEach((name, j) => {
      if (typeof name === 'string' && !Object.hasOwn(spec.targets, name))
        unknownTarget(name, joinPath(joinPath(joinPath('trafficManagement', i), 'targets'), j));
    });
  });

  // Analysis: query names unique; steps name defined queries.
  const queryNames = uniqueNames(
    spec.analysis?.queries ?? [],
    joinPath('analysis', 'queries'),
    ['analysis queries', 'query'],
    loc,
    sink,
  );
  // Each unknown name once, where it is first used (the message says where else); a file with
  // no analysis.queries at all gets one error that says so, not one per use.
  const unknownUses = new Map<string, Array<{ path: string; at: Position }>>();
  for (const { step, path } of allSteps(spec)) {
    if (step.type !== 'analysis') continue;
    ((step.queries as string[] | undefined) ?? []).forEach((q, i) => {
      if (typeof q !== 'string' || queryNames.has(q)) return;
      const qPath = joinPath(joinPath(joinPath(path, 'analysis'), 'queries'), i);
      const uses = unknownUses.get(q) ?? [];
      uses.push({ path: qPath, at: loc.at(qPath) });
      unknownUses.set(q, uses);
    });
  }
  const byPlace = (a: { at: Position }, b: { at: Position }) =>
    a.at.line - b.at.line || a.at.column - b.at.column;
  const noQueries = queryNames.size === 0 && !loc.has(joinPath('analysis', 'queries'));
  if (noQueries && unknownUses.size > 0) {
    const first = [...unknownUses.values()].flat().sort(byPlace)[0]!;
    const names = [...unknownUses.keys()];
    sink.add(
      'BRL_DF_UNKNOWN_QUERY',
      first.at,
      first.path,
      `analysis steps use the queries ${names.map((n) => `"${n}"`).join(', ')}, but the file has no analysis.queries to define them`,
      'add a top-level analysis: {defaultMetricProviderName: <provider>, queries: [{name: ..., queryTemplate: ..., upperLimit: ...}]}',
    );
  } else {
    for (const [q, uses] of unknownUses) {
      const [first, ...others] = uses.sort(byPlace);
      if (!first) continue;
      sink.add(
        'BRL_DF_UNKNOWN_QUERY',
        first.at,
        first.path,
        `analysis uses query "${q}", which is not defined in analysis.queries${others.length ? ` (also used on line ${others.map((o) => o.at.line).join(', ')})` : ''}`,
        hintFor(q, queryNames, 'analysis.queries'),
      );
    }
  }

  // Every analysis step needs a metric provider to judge it: its own, the file's default, or
  // one on each of its queries (Armory refuses the file otherwise; a gate never passes unjudged).
  // (No analysis: block at all is one mistake, reported above as the missing queries.)
  if (spec.analysis?.defaultMetricProviderName === undefined && loc.has('analysis')) {
    const queryProvider = new Map(
      (spec.analysis?.queries ?? []).filter((q) => q?.name).map((q) => [q.name, q.metricProviderName]),
    );
    const unjudged = allSteps(spec)
      .filter(({ step }) => step.type === 'analysis' && step.metricProviderName === undefined)
      .filter(({ step }) => {
        const qs = (step.queries as string[] | undefined) ?? [];
        return qs.length === 0 || qs.some((q) => queryProvider.get(q) === undefined);
      })
      .map(({ path }) => ({ path: joinPath(path, 'analysis'), at: loc.keyAt(joinPath(path, 'analysis')) }))
      .sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column);
    const first = unjudged[0];
    if (first) {
      sink.add(
        'BRL_DF_NO_METRIC_PROVIDER',
        first.at,
        first.path,
        `${unjudged.length === 1 ? 'this analysis step names' : `${unjudged.length} analysis steps (lines ${unjudged.map((u) => u.at.line).join(', ')}) name`} no metricProviderName, and analysis has no defaultMetricProviderName: nothing would judge ${unjudged.length === 1 ? 'it' : 'them'}`,
        'add defaultMetricProviderName: <provider> under the top-level analysis:, or metricProviderName: <provider> to the step',
      );
    }
  }

  // Canary weights should rise.
  for (const [name, s] of Object.entries(spec.strategies)) {
    if (s?.type !== 'canary') continue;
    let last = -1;
    (s.steps ?? []).forEach((step, i) => {
      if (step?.type !== 'setWeight' || typeof step.weight !== 'number') return;
      if (step.weight <= last) {
        const path = joinPath(
          joinPath(
            joinPath(joinPath(joinPath(joinPath('strategies', name), 'canary'), 'steps'), i),
            'setWeight',
          ),
          'weight',
        );
        sink.add(
          'BRL_DF_WEIGHT_ORDER',
          loc.at(path),
          path,
          `weight ${step.weight} does not rise above the previous weight ${last}`,
          'canary weights should rise step by step; after the last step traffic goes to 100%',
        );
      }
      last = Math.max(last, step.weight);
    });
  }

  checkAgents(spec, sites, loc, sink);
}

/** What each kind needs and refuses: manifests for kubernetes, artifacts and AWS keys for lambda. */
function checkKind(
  spec: DeploymentSpec,
  loc: Located,
  sink: DiagnosticSink,
  unknownTarget: (name: string, path: string) => void,
): void {
  const lambda = spec.kind === 'lambda';
  const wrongKind = (path: string, key: string, belongs: string, fix: string) =>
    sink.add(
      'BRL_DF_WRONG_KIND',
      loc.keyAt(path),
      path,
      `${key} belongs to kind: ${belongs}, but this file is kind: ${spec.kind}`,
      fix,
    );
  if (!lambda) {
    if (spec.artifacts !== undefined)
      wrongKind(
        'artifacts',
        'artifacts',
        'lambda',
        'write kind: lambda, or list Kubernetes manifests under manifests:',
      );
    if (spec.providerOptions !== undefined)
      wrongKind(
        'providerOptions',
        'providerOptions',
        'lambda',
        'write kind: lambda, or remove providerOptions',
      );
    for (const [name, t] of Object.entries(spec.targets)) {
      for (const key of ['deployAsIamRole', 'region'] as const) {
        if (t?.[key] !== undefined)
          wrongKind(
            joinPath(joinPath('targets', name), key),
            key,
            'lambda',
            `write kind: lambda at the top of the file, or remove ${key} from this Kubernetes target`,
          );
      }
    }
    spec.trafficManagement.forEach((tm, i) => {
      if (tm?.alias !== undefined)
        wrongKind(
          joinPath(joinPath('trafficManagement', i), 'alias'),
          'alias',
          'lambda',
          'Kubernetes traffic goes through kubernetes:, smi: or istio: entries',
        );
    });
    if (spec.manifests.length === 0) {
      const at = loc.has('manifests') ? loc.keyAt('manifests') : { line: 1, column: 1 };
      sink.add(
        'BRL_DF_NO_MANIFESTS',
        at,
        'manifests',
        'the file deploys nothing: a kind: kubernetes deploy file needs at least one entry in manifests',
        'add manifests: with - path: <file or directory next to the deploy file> or - inline: | and the manifest (Argo Rollouts objects go there too)',
      );
    }
    return;
  }
  if (spec.manifests.length > 0 || loc.has('manifests'))
    wrongKind(
      'manifests',
      'manifests',
      'kubernetes',
      'a Lambda deployment lists its functions under artifacts:',
    );
  spec.trafficManagement.forEach((tm, i) => {
    for (const key of ['kubernetes', 'smi', 'istio'] as const)
      if (tm?.[key] !== undefined)
        wrongKind(
          joinPath(joinPath('trafficManagement', i), key),
          key,
          'kubernetes',
          'Lambda traffic shifts through alias: entries',
        );
  });
  const artifacts = spec.artifacts ?? [];
  if (artifacts.length === 0) {
    const at = loc.has('artifacts') ? loc.keyAt('artifacts') : { line: 1, column: 1 };
    sink.add(
      'BRL_DF_NO_MANIFESTS',
      at,
      'artifacts',
      'the file deploys nothing: a kind: lambda deploy file needs at least one entry in artifacts',
      'add artifacts: with - functionName: <name>, path: s3://<bucket>/<function>.zip, type: zipFile',
    );
  }
  for (const [name, t] of Object.entries(spec.targets)) {
    if (!t) continue;
    const base = joinPath('targets', name);
    if (t.namespace !== undefined)
      wrongKind(
        joinPath(base, 'namespace'),
        'namespace',
        'kubernetes',
        'a Lambda target has account, deployAsIamRole and region',
      );
    for (const key of ['account', 'deployAsIamRole', 'region'] as const) {
      if (t[key] === undefined && !loc.has(joinPath(base, key)))
        sink.add(
          'BRL_DF_REQUIRED',
          loc.keyAt(base),
          joinPath(base, key),
          `Lambda target "${name}" is missing ${key}`,
          key === 'deployAsIamRole'
            ? 'add deployAsIamRole: <ARN of the role that deploys the function>'
            : key === 'region'
              ? 'add region: <AWS region, e.g. us-east-1>'
              : 'add account: <a name for the AWS account>',
        );
    }
  }
  const functions = new Set(artifacts.map((a) => a?.functionName).filter(Boolean));
  (spec.providerOptions?.lambda ?? []).forEach((o, i) => {
    if (!o) return;
    const base = joinPath(joinPath('providerOptions', 'lambda'), i);
    const at = (key: string) => joinPath(base, key);
    if (typeof o.target === 'string' && !Object.hasOwn(spec.targets, o.target))
      unknownTarget(o.target, at('target'));
    if (typeof o.name === 'string' && !functions.has(o.name))
      sink.add(
        'BRL_DF_UNKNOWN_FUNCTION',
        loc.at(at('name')),
        at('name'),
        `providerOptions.lambda names function "${o.name}", which no artifact has as functionName`,
        hintFor(o.name, functions as Set<string>, 'artifacts'),
      );
  });
}

/**
 * A blueGreen strategy needs an active service: its own `activeService`, or (Armory's current
 * guide) `trafficManagement[].kubernetes[].activeService` for every target that uses it.
 */
function checkBlueGreenServices(spec: DeploymentSpec, loc: Located, sink: DiagnosticSink): void {
  const namedFor = (target: string | undefined) =>
    spec.trafficManagement.some(
      (tm) =>
        (target === undefined || tm?.targets === undefined || tm.targets.includes(target)) &&
        Array.isArray(tm?.kubernetes) &&
        (tm.kubernetes as Array<{ activeService?: unknown } | undefined>).some(
          (k) => typeof k?.activeService === 'string',
        ),
    );
  for (const [name, s] of Object.entries(spec.strategies)) {
    if (s?.type !== 'blueGreen' || s.activeService !== undefined) continue;
    const path = joinPath(joinPath('strategies', name), 'blueGreen');
    if (loc.has(joinPath(path, 'activeService'))) continue; // written, but broken: reported already
    const users = Object.entries(spec.targets)
      .filter(([, t]) => t?.strategy === name)
      .map(([targetName]) => targetName);
    const missing =
      users.length === 0 ? (namedFor(undefined) ? [] : ['']) : users.filter((t) => !namedFor(t));
    if (missing.length === 0) continue;
    sink.add(
      'BRL_DF_NO_ACTIVE_SERVICE',
      loc.keyAt(path),
      path,
      users.length === 0
        ? `blueGreen strategy "${name}" names no activeService, and no trafficManagement entry names one`
        : `blueGreen strategy "${name}" names no activeService, and trafficManagement names none for target ${missing.map((t) => `"${t}"`).join(', ')}`,
      'add activeService: <the Service that takes production traffic> under blueGreen:, or trafficManagement: - targets: [...] kubernetes: - activeService: <service>',
    );
  }
}

function hintFor(name: string, known: Iterable<string>, where: string): string {
  const list = [...known];
  const suggestion = didYouMean(name, list);
  if (suggestion) return `did you mean "${suggestion}"?`;
  return list.length === 0 ? `${where} defines nothing yet` : `defined in ${where}: ${list.join(', ')}`;
}

/** Finds dependency cycles (iterative DFS, so thousands of targets cannot overflow the stack). */
function reportCycles(targets: Record<string, TargetSpec>, loc: Located, sink: DiagnosticSink): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  for (const start of Object.keys(targets)) {
    if (state.has(start)) continue;
    const stack: Array<{ name: string; next: number }> = [{ name: start, next: 0 }];
    state.set(start, 'visiting');
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const deps = targets[frame.name]?.constraints?.dependsOn ?? [];
      if (frame.next >= deps.length) {
        state.set(frame.name, 'done');
        stack.pop();
        continue;
      }
      const dep = deps[frame.next++]!;
      if (typeof dep !== 'string' || !Object.hasOwn(targets, dep)) continue;
      const s = state.get(dep);
      if (s === 'visiting') {
        const names = stack.map((f) => f.name);
        const cycle = [...names.slice(names.indexOf(dep)), dep];
        const key = [...cycle.slice(0, -1)].sort().join('\0');
        if (reported.has(key)) continue;
        reported.add(key);
        const path = joinPath(
          joinPath(joinPath(joinPath('targets', frame.name), 'constraints'), 'dependsOn'),
          frame.next - 1,
        );
        sink.add(
          'BRL_DF_DEPENDS_CYCLE',
          loc.at(path),
          path,
          `dependsOn forms a cycle: ${cycle.join(' -> ')}`,
          'remove one of these dependencies so that some environment can start first',
        );
      } else if (s === undefined) {
        state.set(dep, 'visiting');
        stack.push({ name: dep, next: 0 });
      }
    }
  }
}
