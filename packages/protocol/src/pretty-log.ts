import { Writable } from 'node:stream';

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'name', 'v']);

/**
 * One pino JSON line as people read it (`BOREALIS_LOG_FORMAT=pretty`): time, level, message,
 * then the fields as key=value. A line that is not JSON passes through as it is.
 */
export function prettyLogLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof o.time === 'string' ? o.time : new Date(Number(o.time ?? Date.now())).toISOString();
  const level = LEVELS[Number(o.level)] ?? String(o.level ?? '');
  const fields = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : text}`;
    });
  return `${time} ${level.padEnd(5)} ${String(o.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}`;
}

/** A stream for pino that writes each line pretty to `out` (stdout by default). */
export function createPrettyLogStream(out: NodeJS.WritableStream = process.stdout): Writable {
  let carry = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const text = carry + chunk.toString();
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      for (const l of lines) if (l) out.write(`${prettyLogLine(l)}\n`);
      done();
    },
    final(done) {
      if (carry) out.write(`${prettyLogLine(carry)}\n`);
      done();
    },
  });
}

export const LOG_FORMATS = ['json', 'pretty'] as const;
