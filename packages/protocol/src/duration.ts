/**
 * Durations as people write them in both programs' `BOREALIS_*` variables: a number and a unit,
 * `500ms`, `30s`, `1.5m`, `24h`, `1d`. One grammar, so the same habit parses the same everywhere.
 *
 * A bare number is where the programs used to differ. `0` is zero in any unit, so it is always
 * accepted. Any other bare number means milliseconds only where a variable has always taken it so
 * (the agent's durations; values computed by programs need no suffix there) and is refused
 * elsewhere as ambiguous (`30`: 30s or 30ms?), with `isBareNumber` telling the message why.
 */
export const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export type BareNumbers = 'milliseconds' | 'refuse';

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;

/** Milliseconds, or undefined when the text is not a duration (numbers from code are milliseconds). */
export function parseDuration(text: string | number, bare: BareNumbers = 'milliseconds'): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.round(text) : undefined;
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  if (match[2] === undefined && value !== 0 && bare === 'refuse') return undefined;
  const ms = Math.round(value * DURATION_UNITS[(match[2] ?? 'ms') as keyof typeof DURATION_UNITS]);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A number without a unit (`30`): what a message names when such a value is refused. */
export function isBareNumber(text: string | number): boolean {
  return typeof text === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(text);
}

/** The short form used in logs and error messages: the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
