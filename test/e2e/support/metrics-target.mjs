// A small metrics target for end-to-end tests, run as its own process (inside a network namespace
// when the test wants it private). Prometheus scrapes GET /metrics; the values come from a JSON
// file the test rewrites whenever it wants them to change (the file system is shared across
// namespaces, so the test needs no network path to this process):
//   [{"name": "http_error_rate", "labels": {"app": "shop"}, "value": 0.01}, ...]
// Prints one JSON line {"msg":"listening","port":N} when ready.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const host = process.argv[2] ?? '127.0.0.1';
const valuesFile = process.argv[3];
const port = Number(process.argv[4] ?? 0);

const escapeLabel = (v) => String(v).replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

function exposition() {
  let series = [];
  try {
    series = JSON.parse(readFileSync(valuesFile, 'utf8'));
  } catch {
    series = [];
  }
  const byName = new Map();
  for (const s of series) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const lines = [];
  for (const [name, list] of byName) {
    lines.push(`# TYPE ${name} gauge`);
    for (const s of list) {
      const labels = Object.entries(s.labels ?? {})
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      lines.push(`${name}${labels ? `{${labels}}` : ''} ${s.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition());
    return;
  }
  res.writeHead(404).end('not found');
});
server.listen(port, host, () => {
  console.log(JSON.stringify({ msg: 'listening', port: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
