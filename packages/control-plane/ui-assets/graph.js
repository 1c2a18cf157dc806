// The deployment graph: environments as nodes in dependsOn order (left to right), drawn as inline
// SVG from the status JSON. Each node is a link to that environment's detail, so it is reachable
// with Tab and opened with Enter; its accessible name says everything the node shows.
import {
  elapsed,
  environmentStatus,
  newVersionWeight,
  progress,
  tone,
  waitsFor,
} from './deployment-model.js';
import { h, s } from './dom.js';

const NODE_W = 320;
const NODE_H = 156;
const GAP_X = 72;
const GAP_Y = 24;
const PAD = 12;
/** Characters that fit on a line of the node at the font size app.css gives it. */
const LINE_CHARS = 38;

/** Column of each environment: 0 without dependsOn, else one more than its furthest dependency. */
export function columns(environments) {
  const byName = new Map(environments.map((e) => [e.name, e]));
  const depth = new Map();
  const visit = (name, seen) => {
    if (depth.has(name)) return depth.get(name);
    const env = byName.get(name);
    if (!env || seen.has(name)) return 0;
    seen.add(name);
    const deps = (env.dependsOn ?? []).filter((n) => byName.has(n));
    const d = deps.length ? 1 + Math.max(...deps.map((n) => visit(n, seen))) : 0;
    depth.set(name, d);
    return d;
  };
  for (const e of environments) visit(e.name, new Set());
  return depth;
}

function clip(text, max = LINE_CHARS) {
  const t = String(text ?? '');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * The graph for deployment `d`; `selected` names the environment whose detail is open, `hrefOf`
 * gives each node's link.
 */
export function deploymentGraph(d, selected, hrefOf) {
  const envs = d.environments ?? [];
  const depth = columns(envs);
  const rows = new Map();
  const pos = new Map();
  for (const e of envs) {
    const col = depth.get(e.name) ?? 0;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    pos.set(e.name, { x: PAD + col * (NODE_W + GAP_X), y: PAD + row * (NODE_H + GAP_Y) });
  }
  const cols = Math.max(1, ...[...rows.keys()].map((c) => c + 1));
  const maxRows = Math.max(1, ...rows.values());
  const width = PAD * 2 + cols * NODE_W + (cols - 1) * GAP_X;
  const height = PAD * 2 + maxRows * NODE_H + (maxRows - 1) * GAP_Y;

  const edges = [];
  for (const e of envs) {
    for (const dep of e.dependsOn ?? []) {
      const from = pos.get(dep);
      const to = pos.get(e.name);
      if (!from || !to) continue;
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2;
      const x2 = to.x - 6;
      const y2 = to.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      edges.push(
        s('path', {
          className: 'graph-edge',
          d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`,
          'marker-end': 'url(#graph-arrow)',
          dataset: { from: dep, to: e.name },
        }),
      );
    }
  }

  const nodes = envs.map((e) => node(d, e, pos.get(e.name), e.name === selected, hrefOf(e.name)));
  const svg = s(
    'svg',
    {
      className: 'graph',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'group',
      'aria-label': 'Environments in dependsOn order; each opens its detail',
    },
    s(
      'defs',
      {},
      s(
        'marker',
        {
          id: 'graph-arrow',
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 8,
          markerHeight: 8,
          orient: 'auto-start-reverse',
        },
        s('path', { d: 'M 0 0 L 10 5 L 0 10 z', className: 'graph-arrow' }),
      ),
    ),
    edges,
    nodes,
  );
  return h(
    'figure',
    { className: 'graph-figure' },
    h('figcaption', { className: 'visually-hidden' }, 'Deployment graph'),
    h('div', { className: 'graph-scroll' }, svg),
  );
}

function node(d, env, at, isSelected, href) {
  const status = environmentStatus(d, env);
  const t = tone(status);
  const p = progress(env);
  const waits = waitsFor(d, env);
  const weight = newVersionWeight(d, env);
  const took = elapsed(env);
  const stepLine =
    p.total === 0
      ? 'no steps'
      : p.step && p.index > 0 && p.step !== 'all steps done'
        ? `step ${p.index} of ${p.total}: ${p.step}`
        : p.step === 'all steps done'
          ? `${p.total} of ${p.total} steps done`
          : `step 0 of ${p.total}`;
  const label = [
    `${env.name}: ${status}`,
    stepLine,
    weight !== undefined ? `new version traffic ${weight}%` : null,
    took ? `${env.finishedAt ? 'took' : 'elapsed'} ${took}` : null,
    waits ? `waiting for ${waits.text}` : null,
    env.dependsOn?.length ? `after ${env.dependsOn.join(', ')}` : null,
  ]
    .filter(Boolean)
    .join('; ');

  const x = at.x;
  const y = at.y;
  const pillText = status.replace(/_/g, ' ');
  const pillW = 16 + pillText.length * 8.2;
  const barW = NODE_W - 28;
  const parts = [
    s('rect', {
      className: `graph-node graph-${t}${isSelected ? ' graph-selected' : ''}`,
      x,
      y,
      width: NODE_W,
      height: NODE_H,
      rx: 8,
    }),
    s('text', { className: 'graph-title', x: x + 14, y: y + 26 }, clip(env.name, 18)),
    s('rect', {
      className: `graph-pill graph-pill-${t}`,
      x: x + NODE_W - 14 - pillW,
      y: y + 11,
      width: pillW,
      height: 21,
      rx: 10.5,
    }),
    s(
      'text',
      { className: `graph-pill-text graph-text-${t}`, x: x + NODE_W - 14 - pillW / 2, y: y + 26 },
      pillText,
    ),
    s('text', { className: 'graph-line', x: x + 14, y: y + 54 }, clip(stepLine)),
  ];
  if (weight !== undefined) {
    parts.push(
      s('text', { className: 'graph-small', x: x + 14, y: y + 78 }, `new version traffic ${weight}%`),
      s('rect', { className: 'graph-bar-track', x: x + 14, y: y + 84, width: barW, height: 8, rx: 4 }),
      s('rect', {
        className: 'graph-bar',
        x: x + 14,
        y: y + 84,
        width: Math.round((barW * Math.max(0, Math.min(100, weight))) / 100),
        height: 8,
        rx: 4,
      }),
    );
  }
  if (took) {
    parts.push(
      s(
        'text',
        {
          className: 'graph-small',
          x: x + 14,
          y: y + 114,
          dataset: env.finishedAt ? {} : { elapsedSince: env.startedAt, elapsedPrefix: 'elapsed ' },
        },
        `${env.finishedAt ? 'took' : 'elapsed'} ${took}`,
      ),
    );
  }
  if (waits) {
    parts.push(
      s(
        'text',
        {
          className: `graph-waits graph-text-${waits.kind === 'dependsOn' ? 'neutral' : 'warn'}`,
          x: x + 14,
          y: y + 140,
        },
        clip(`waits for ${waits.text}`, 39),
      ),
    );
  }
  return s(
    'a',
    {
      href,
      className: 'graph-link',
      'aria-label': label,
      'aria-current': isSelected ? 'true' : undefined,
      dataset: { key: `graph-${env.name}`, env: env.name },
    },
    s('title', {}, label),
    s('g', { 'aria-hidden': 'true' }, parts),
  );
}

/** Keeps "elapsed …" texts current between updates (no API call: the clock only). */
export function tickElapsed(root, format) {
  for (const el of root.querySelectorAll('[data-elapsed-since]')) {
    el.textContent = `${el.dataset.elapsedPrefix ?? ''}${format(Date.now() - Date.parse(el.dataset.elapsedSince))}`;
  }
}
