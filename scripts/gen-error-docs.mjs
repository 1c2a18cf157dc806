// Writes docs/errors.md from the error catalogues (run after `tsc -b`):
//   node scripts/gen-error-docs.mjs
// test/docs.test.ts fails when a code is missing from the page, so a new code cannot ship
// undocumented; rerun this script and add a "what to do" line where the generic one is thin.
import { readFileSync, writeFileSync } from 'node:fs';
import { AgentErrorCatalogue } from '../packages/agent/dist/index.js';
import { ErrorCatalogue } from '../packages/control-plane/dist/index.js';
import { ProtocolErrorCatalogue } from '../packages/protocol/dist/index.js';

const path = new URL('../docs/errors.md', import.meta.url);
// Hand-written advice survives regeneration: it is read back from the current page.
const advice = new Map();
try {
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\| `([A-Z_]+)` \|.*\| ([^|]*) \|$/.exec(line);
    if (m?.[2].trim() && m[2].trim() !== '—') advice.set(m[1], m[2].trim());
  }
} catch {}

const esc = (s) => String(s).replaceAll('|', '\\|');
const rows = (entries, cols) =>
  entries.map(
    ([code, e]) => `| \`${code}\` | ${cols(e).map(esc).join(' | ')} | ${advice.get(code) ?? '—'} |`,
  );

const out = `# Error codes

Every error Borealis raises on purpose has a stable code; match on the code, never on the
message. API errors are answered as \`{"error": {"code", "message", ...details}}\` with the status
below. This page is generated from the catalogues by \`node scripts/gen-error-docs.mjs\`; a test
fails when a code is missing here. Deploy-file diagnostics (\`BRL_DF_*\`) are on
[deploy-file-diagnostics.md](deploy-file-diagnostics.md).

## Control plane (\`BRL_ERR_*\`)

| code | HTTP status | meaning | what to do |
| --- | --- | --- | --- |
${rows(Object.entries(ErrorCatalogue), (e) => [e.status, e.message]).join('\n')}

## Tunnel (\`BRL_PROTO_*\`, \`BRL_STREAM_*\`)

\`BRL_PROTO_*\` are protocol violations: the side that sees one closes the connection with the
WebSocket close code given. \`BRL_STREAM_*\` end one stream (a RESET frame) and leave the
connection up; the control plane reports them to callers under the \`BRL_ERR_*\` code in brackets.

| code | close code | retryable | meaning | what to do |
| --- | --- | --- | --- | --- |
${rows(Object.entries(ProtocolErrorCatalogue), (e) => [e.close ?? '—', e.retryable ? 'yes' : 'no', e.message]).join('\n')}

## Agent (\`BRL_ERR_AGENT_*\` raised by the agent program)

| code | meaning | what to do |
| --- | --- | --- |
${rows(Object.entries(AgentErrorCatalogue), (e) => [e.message ?? e.description ?? '']).join('\n')}
`;
writeFileSync(path, out);
console.log(`wrote ${path.pathname}`);
