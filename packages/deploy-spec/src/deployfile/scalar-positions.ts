/**
 * Maps an offset inside a scalar's VALUE back to a line and column of the file. Needed to point
 * at the right line of a multi-line `bodyTemplate` (folded `>-` or literal `|`), where YAML has
 * removed indentation and joined lines. Each source line's text is found, in order, in the value.
 */
import { isScalar, type LineCounter, type Scalar } from 'yaml';
import type { Position } from './diagnostic.js';

interface Segment {
  valueStart: number;
  length: number;
  sourceStart: number;
}

function segmentsOf(node: Scalar, source: string): Segment[] {
  const [start, end] = node.range ?? [0, 0];
  const value = String(node.value);
  const segments: Segment[] = [];
  const block = node.type === 'BLOCK_FOLDED' || node.type === 'BLOCK_LITERAL';
  const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
  let lineStart = start;
  let cursor = 0;
  let first = true;
  while (lineStart <= end) {
    let lineEnd = source.indexOf('\n', lineStart);
    if (lineEnd === -1 || lineEnd > end) lineEnd = end;
    if (!(block && first)) {
      let from = lineStart;
      let to = lineEnd;
      while (from < to && /[ \t]/.test(source[from]!)) from++;
      if (quoted && first && (source[from] === '"' || source[from] === "'")) from++;
      while (to > from && /[ \t\r]/.test(source[to - 1]!)) to--;
      if (quoted && lineEnd === end && to > from && (source[to - 1] === '"' || source[to - 1] === "'")) to--;
      const text = source.slice(from, to);
      if (text.length > 0) {
        const at = value.indexOf(text, cursor);
        if (at !== -1) {
          segments.push({ valueStart: at, length: text.length, sourceStart: from });
          cursor = at + text.length;
        }
      }
    }
    first = false;
    lineStart = lineEnd + 1;
  }
  return segments;
}

export function scalarValuePosition(
  node: Scalar,
  source: string,
  lc: LineCounter,
  valueOffset: number,
): Position {
  const fallback = lc.linePos(node.range?.[0] ?? 0);
  if (!isScalar(node)) return { line: fallback.line, column: fallback.col };
  let best: Segment | undefined;
  for (const seg of segmentsOf(node, source)) {
    if (seg.valueStart <= valueOffset) best = seg;
    else break;
  }
  if (!best) return { line: fallback.line, column: fallback.col };
  const within = Math.min(valueOffset - best.valueStart, best.length);
  const { line, col } = lc.linePos(best.sourceStart + within);
  return { line, column: col };
}
