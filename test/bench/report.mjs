// The bench's printed report and its goals (issue 17), from the results of the parts that ran.
// Every figure a goal reads is a ratio or a bound taken in the same run.
import { KiB, MiB, mb, table } from './lib.mjs';

const f0 = (x) => x.toFixed(0);
const f2 = (x) => x.toFixed(2);
const KIND = { response: 'response', requestBody: 'request body' };

function smallTable(rows) {
  return table(
    ['path', 'concurrency', 'req/s', 'p50 ms', 'p99 ms', 'tunnel req/s ÷ this', 'CPU ms/request in the hop'],
    rows.map((x) => {
      const tunnel = rows.find((t) => t.path === 'tunnel' && t.concurrency === x.concurrency);
      return [
        x.path,
        x.concurrency,
        f0(x.reqPerSec),
        f2(x.p50Ms),
        f2(x.p99Ms),
        f2(tunnel.reqPerSec / x.reqPerSec),
        x.cpuMsPerRequestInHop === null ? '' : f2(x.cpuMsPerRequestInHop),
      ];
    }),
  );
}

/** Caller, target, then the hop: the proxy, or control plane + agent (older results have none). */
function cpuPerMib(c) {
  if (!c) return '';
  const hop =
    c.proxy !== undefined
      ? f2(c.proxy)
      : c.controlPlane !== undefined
        ? `${f2(c.controlPlane)} + ${f2(c.agent)}`
        : '–';
  return `${f2(c.caller)}, ${f2(c.target)}, ${hop}`;
}

function transfersTable(t) {
  return table(
    [
      'transfer',
      'path',
      'MiB/s',
      '÷ direct',
      'CPU ms per MiB: caller, target, hop',
      'control plane peak RSS (growth)',
      'agent peak RSS (growth)',
    ],
    t.rows.map((x) => [
      `${x.bytes / MiB} MiB ${KIND[x.kind]}`,
      x.path,
      f0(x.mibPerSecond),
      f2(x.ratioToDirect),
      cpuPerMib(x.cpuMsPerMib),
      x.controlPlanePeakRss ? `${mb(x.controlPlanePeakRss)} MiB (+${mb(x.controlPlaneGrowth)})` : '',
      x.agentPeakRss ? `${mb(x.agentPeakRss)} MiB (+${mb(x.agentGrowth)})` : '',
    ]),
  );
}

function headOfLineTable(h) {
  return table(
    ['case', '8 streams MiB/s', 'ratio', "paused stream's peak bufferedBytes", 'window + 16 KiB'],
    [
      ['8 alone', f0(h.eightAloneMiBps), '1.00', '', ''],
      [
        '8 + 1 paused',
        f0(h.eightWithPausedMiBps),
        f2(h.ratio),
        `${(h.pausedMaxBuffered / KiB).toFixed(1)} KiB`,
        `${(h.bound / KiB).toFixed(0)} KiB`,
      ],
    ],
  );
}

function idleTable(i) {
  return table(
    ['agents', 'RSS', 'heap used', 'RSS per agent', 'heap per agent', 'heartbeat CPU', 'connect'],
    [
      ...i.levels.map((x) => [
        x.agents,
        `${mb(x.rss)} MiB`,
        `${mb(x.heapUsed)} MiB`,
        `${(x.rssPerAgent / KiB).toFixed(1)} KiB`,
        `${(x.heapPerAgent / KiB).toFixed(1)} KiB`,
        `${f0(x.heartbeatCpuMsPerSecond)} ms/s (${f0(x.heartbeatCorePercent)}% of a core)`,
        x.connectMs === undefined ? '' : `${(x.connectMs / 1000).toFixed(1)} s`,
      ]),
      ...(i.failed
        ? [[i.failed.agents, `not measured: ${i.failed.error.slice(0, 300)}`, '', '', '', '', '']]
        : []),
    ],
  );
}

export function report(r, settings) {
  const m = r.machine;
  const out = [
    `Borealis bench — ${r.date.slice(0, 10)}, ${m.cpus} cores (${m.cpuModel}), Node ${m.node}, Linux ${m.kernel}, load average ${f2(m.loadAverageAtStart[0])} at start, ${f2(m.loadAverageAtEnd[0])} at end; parts: ${r.parts.join(', ')}`,
  ];
  if (r.agentIdleRss) {
    out.push(
      '',
      `Agent idle RSS: ${mb(r.agentIdleRss.connected)} MiB connected, ${mb(r.agentIdleRss.afterCalls)} MiB after one call of each kind` +
        (r.agentIdleRss.bareNode
          ? ` (${mb(r.agentIdleRss.afterCallsAnon)} anonymous, ${mb(r.agentIdleRss.afterCallsFile)} file-backed); a bare node loading nothing: ${mb(r.agentIdleRss.bareNode.rss)} MiB (${mb(r.agentIdleRss.bareNode.anon)} anonymous, ${mb(r.agentIdleRss.bareNode.file)} file-backed), ${f2(r.agentIdleRss.afterCalls / r.agentIdleRss.bareNode.rss)}x`
          : ''),
    );
  }
  if (r.smallRequests) {
    out.push(
      '',
      `Small requests (POST ${settings.smallBodyBytes} B, echoed), closed loop`,
      smallTable(r.smallRequests),
    );
  }
  if (r.transfers) {
    const idle = r.transfers.idleRss;
    out.push(
      '',
      `Transfers through one stream (idle RSS before: control plane ${mb(idle.controlPlane)} MiB, agent ${mb(idle.agent)} MiB)`,
      transfersTable(r.transfers),
    );
  }
  if (r.headOfLine) {
    out.push(
      '',
      `Head-of-line: 8 tunnel downloads of ${settings.holBytesPerStream / MiB} MiB, alone and beside a 9th whose reader is paused (median of ${settings.holRounds})`,
      headOfLineTable(r.headOfLine),
    );
  }
  if (r.idleAgents) {
    const b = r.idleAgents.base;
    out.push(
      '',
      `Idle agents on one control plane (heartbeat every ${r.idleAgents.heartbeatMs} ms both ways; base: RSS ${mb(b.rss)} MiB, heap ${mb(b.heapUsed)} MiB, ${f0(b.cpuMsInWindow)} ms CPU per ${settings.idleWindowMs / 1000} s; open-file limit ${r.idleAgents.openFileLimit})`,
      idleTable(r.idleAgents),
    );
  }
  for (const e of [r.engine, r.enginePostgres, r.engineSqlite]) {
    if (!e) continue;
    out.push(
      '',
      `Engine (engine-bench.mjs, ${e.database})`,
      table(
        ['measure', 'result'],
        Object.entries(e).map(([k, v]) => [k, v !== null && typeof v === 'object' ? JSON.stringify(v) : v]),
      ),
    );
  }
  out.push('', 'Goals:');
  for (const g of r.goals) out.push(`  ${g.met ? 'met   ' : 'MISSED'} ${g.goal}: ${g.figure}`);
  out.push(
    '',
    `Part times: ${Object.entries(r.timings)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(', ')}`,
  );
  return out.join('\n');
}

/** The goals the parts that ran can judge. */
export function goals(r) {
  const out = [];
  const goal = (text, met, figure) => out.push({ goal: text, met, figure });
  for (const e of [r.engine, r.enginePostgres, r.engineSqlite]) {
    if (!e?.restartWallPer10kMs) continue;
    goal(
      `memory per waiting deployment <= 16 KiB (${e.database}, ${e.deployments})`,
      e.memoryPerWaitingDeploymentKb <= 16,
      `${e.memoryPerWaitingDeploymentKb} KiB (after a restart ${e.memoryPerResumedDeploymentKb} KiB)`,
    );
    goal(
      `waiting deployments resumed after a restart: 100,000 measured, < 5 s per 10,000 (${e.database})`,
      e.deployments >= 100_000 && e.restartWallPer10kMs < 5000,
      `${e.deployments} in ${f2(e.restartWallMs / 1000)} s from spawn (${f2(e.restartResumeMs / 1000)} s engine): ${f2(e.restartWallPer10kMs / 1000)} s per 10,000`,
    );
  }
  if (r.smallRequests) {
    const at = (p, c) => r.smallRequests.find((x) => x.path === p && x.concurrency === c);
    const ratio = at('tunnel', 64).reqPerSec / at('proxy', 64).reqPerSec;
    goal('tunnel req/s at concurrency 64 >= 1.0x the plain proxy hop', ratio >= 1, `${f2(ratio)}x the proxy`);
    const added = at('tunnel', 1).p50Ms - at('direct', 1).p50Ms;
    const proxyAdded = at('proxy', 1).p50Ms - at('direct', 1).p50Ms;
    goal(
      'added p50 latency at concurrency 1, tunnel - direct <= +0.3 ms',
      added <= 0.3,
      `+${f2(added)} ms (proxy hop +${f2(proxyAdded)} ms)`,
    );
  }
  if (r.transfers) {
    const tunnel = r.transfers.rows.filter((x) => x.path === 'tunnel');
    const response = tunnel.find((x) => x.kind === 'response');
    goal(
      '256 MiB response, tunnel >= 0.6x direct',
      response.ratioToDirect >= 0.6,
      `${f2(response.ratioToDirect)}x`,
    );
    const growth = Math.max(...tunnel.flatMap((x) => [x.controlPlaneGrowth, x.agentGrowth]));
    goal(
      'RSS growth during a 256 MiB transfer <= 64 MiB (control plane and agent)',
      growth <= 64 * MiB,
      `largest +${mb(growth)} MiB`,
    );
  }
  if (r.agentIdleRss) {
    const rss = r.agentIdleRss.afterCalls;
    const bare = r.agentIdleRss.bareNode?.rss;
    goal(
      'agent idle RSS <= 40 MiB (after one call of each kind)',
      rss <= 40 * MiB,
      `${mb(rss)} MiB${bare ? ` (a bare node: ${mb(bare)} MiB)` : ''}`,
    );
  }
  if (r.headOfLine) {
    const h = r.headOfLine;
    goal(
      'head-of-line: 8 streams within 10% of their unpaused throughput',
      h.ratio >= 0.9,
      `${f2(h.ratio)}x`,
    );
    goal(
      "head-of-line: paused stream's bufferedBytes <= window + 16 KiB",
      h.pausedMaxBuffered <= h.bound,
      `${(h.pausedMaxBuffered / KiB).toFixed(1)} KiB`,
    );
  }
  if (r.idleAgents) {
    const top = r.idleAgents.levels.at(-1) ?? {
      agents: 0,
      heartbeatCorePercent: Number.NaN,
      heartbeatCpuMsPerSecond: Number.NaN,
      rssPerAgent: Number.NaN,
      heapPerAgent: Number.NaN,
    };
    // One process cannot hold more sockets than its open-file limit; the bench measures up to it.
    const ceiling = Math.min(20_000, r.idleAgents.openFileLimit - 100);
    goal(
      `20,000 idle agents on one control plane measured${ceiling < 20_000 ? ` (${ceiling} here: open-file limit ${r.idleAgents.openFileLimit})` : ''}`,
      top.agents >= ceiling,
      `${top.agents} measured${r.idleAgents.failed ? `; ${r.idleAgents.failed.agents} did not hold: ${r.idleAgents.failed.error.slice(0, 200)}` : ''}`,
    );
    goal(
      `heartbeats at ${top.agents} agents <= 15% of a core`,
      top.heartbeatCorePercent <= 15,
      `${f0(top.heartbeatCorePercent)}% (${f0(top.heartbeatCpuMsPerSecond)} ms/s)`,
    );
    const each = Math.max(top.rssPerAgent, top.heapPerAgent);
    goal(
      `control-plane memory per idle agent at ${top.agents} <= 16 KiB (max of RSS and heap)`,
      each <= 16 * KiB,
      `${(each / KiB).toFixed(1)} KiB`,
    );
  }
  return out;
}
