// A small inline-SVG chart of one analysis query: its value per judgment run against its limits.
// Passed runs are dots, failed runs are crosses (not colour alone); the limits are dashed lines
// with the band between them shaded. The chart's accessible name carries every number it shows.
import { h, s } from './dom.js';

const W = 260;
const H = 120;
/** Margins around the plot, in px: left for the value labels, bottom for the run numbers. */
const PAD = { l: 46, r: 10, t: 10, b: 24 };

function fmt(n) {
  if (n === undefined || n === null) return '—';
  const a = Math.abs(n);
  return a !== 0 && (a < 0.001 || a >= 1e6) ? n.toExponential(2) : String(Number(n.toPrecision(4)));
}

/** points: [{run, value?, passed, lowerLimit?, upperLimit?}]; total: numberOfJudgmentRuns. */
export function queryChart(query, points, total) {
  const values = points.filter((p) => typeof p.value === 'number');
  const last = points.at(-1) ?? {};
  const lower = last.lowerLimit;
  const upper = last.upperLimit;
  const label =
    `${query}: ` +
    (points.length
      ? points.map((p) => `run ${p.run} ${fmt(p.value)} (${p.passed ? 'passed' : 'failed'})`).join(', ')
      : 'no run yet') +
    `; limits ${lower === undefined ? 'none below' : `at least ${fmt(lower)}`}, ${upper === undefined ? 'none above' : `at most ${fmt(upper)}`}`;
  const numbers = [...values.map((p) => p.value), lower, upper].filter((n) => typeof n === 'number');
  let min = numbers.length ? Math.min(...numbers) : 0;
  let max = numbers.length ? Math.max(...numbers) : 1;
  if (min === max) {
    min -= Math.abs(min) * 0.5 || 1;
    max += Math.abs(max) * 0.5 || 1;
  }
  const span = max - min;
  min -= span * 0.1;
  max += span * 0.1;
  const runs = Math.max(total || 1, points.length, 1);
  const x = (run) =>
    PAD.l + (runs === 1 ? (W - PAD.l - PAD.r) / 2 : ((run - 1) * (W - PAD.l - PAD.r)) / (runs - 1));
  const y = (v) => PAD.t + ((max - v) * (H - PAD.t - PAD.b)) / (max - min);

  const parts = [];
  const bandTop = upper === undefined ? PAD.t : y(upper);
  const bandBottom = lower === undefined ? H - PAD.b : y(lower);
  parts.push(
    s('rect', {
      className: 'chart-band',
      x: PAD.l,
      y: bandTop,
      width: W - PAD.l - PAD.r,
      height: Math.max(0, bandBottom - bandTop),
    }),
    s('line', { className: 'chart-axis', x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b }),
    s('line', { className: 'chart-axis', x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b }),
  );
  for (const [limit, name] of [
    [upper, 'upper'],
    [lower, 'lower'],
  ]) {
    if (limit === undefined) continue;
    parts.push(
      s('line', {
        className: 'chart-limit',
        x1: PAD.l,
        y1: y(limit),
        x2: W - PAD.r,
        y2: y(limit),
        dataset: { limit: name },
      }),
      s(
        'text',
        { className: 'chart-label', x: PAD.l - 4, y: y(limit) + 4, 'text-anchor': 'end' },
        fmt(limit),
      ),
    );
  }
  for (let run = 1; run <= runs; run++) {
    parts.push(
      s('text', { className: 'chart-label', x: x(run), y: H - 8, 'text-anchor': 'middle' }, String(run)),
    );
  }
  if (values.length > 1) {
    parts.push(
      s('polyline', {
        className: 'chart-line',
        points: values.map((p) => `${x(p.run)},${y(p.value)}`).join(' '),
      }),
    );
  }
  for (const p of values) {
    const cx = x(p.run);
    const cy = y(p.value);
    parts.push(
      p.passed
        ? s('circle', { className: 'chart-pass', cx, cy, r: 4, dataset: { run: p.run } })
        : s('path', {
            className: 'chart-fail',
            d: `M ${cx - 4} ${cy - 4} L ${cx + 4} ${cy + 4} M ${cx + 4} ${cy - 4} L ${cx - 4} ${cy + 4}`,
            dataset: { run: p.run },
          }),
    );
  }
  // A run that failed without a value (the provider did not answer): a cross on the axis.
  for (const p of points.filter((q) => typeof q.value !== 'number')) {
    const cx = x(p.run);
    const cy = H - PAD.b - 6;
    parts.push(
      s('path', {
        className: 'chart-fail',
        d: `M ${cx - 4} ${cy - 4} L ${cx + 4} ${cy + 4} M ${cx + 4} ${cy - 4} L ${cx - 4} ${cy + 4}`,
        dataset: { run: p.run, noValue: 'true' },
      }),
      s('text', { className: 'chart-label', x: cx + 8, y: cy + 4 }, 'no value'),
    );
  }
  return h(
    'figure',
    { className: 'chart' },
    s(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': label },
      s('title', {}, label),
      parts,
    ),
    h('figcaption', { className: 'mono small' }, query),
  );
}

/** One chart per query of an analysis step, from its runs. */
export function analysisCharts(a) {
  const byQuery = new Map((a.queries ?? []).map((q) => [q, []]));
  for (const r of a.runs ?? []) {
    for (const q of r.queries ?? []) {
      if (!byQuery.has(q.query)) byQuery.set(q.query, []);
      byQuery.get(q.query).push({ run: r.run, ...q });
    }
  }
  return h(
    'div',
    { className: 'charts' },
    [...byQuery].map(([query, points]) => queryChart(query, points, a.numberOfJudgmentRuns)),
  );
}
