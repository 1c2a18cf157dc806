// `pnpm demo`: the main job on the embedded default, start to end, in one command.
//   1. the control plane on SQLite (./.borealis/),
//   2. agent credentials, a secret, and a Remote Network Agent (identifier demo-rna),
//   3. a "private" test runner the agent may reach,
//   4. the sample deployment examples/demo/deploy.yml, whose webhook goes through the agent,
//      watched live with `borealis deploy start --watch`.
// Exits with the deployment's outcome (0 on success) and stops everything it started.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(process.env.BOREALIS_DATA_DIR ?? join(root, '.borealis'));
const children = [];
const say = (s) => process.stdout.write(`\x1b[1mdemo:\x1b[0m ${s}\n`);

function start(name, script, { env = {}, args = [], quiet = true } = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines = [];
  const waiters = [];
  let rest = '';
  const onData = (b) => {
    const parts = (rest + b.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (!quiet) process.stdout.write(`${name}: ${line}\n`);
      for (const w of [...waiters]) w(line);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const waitFor = (msg, timeoutMs = 30_000) =>
    new Promise((res, rej) => {
      const found = lines.map(parse).find((j) => j?.msg === msg);
      if (found) return res(found);
      const timer = setTimeout(
        () => rej(new Error(`${name} did not log "${msg}" in time:\n${lines.slice(-20).join('\n')}`)),
        timeoutMs,
      );
      const w = (line) => {
        const j = parse(line);
        if (j?.msg === msg) {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(w), 1);
          res(j);
        }
      };
      waiters.push(w);
      child.once('exit', (code) =>
        rej(new Error(`${name} exited (${code}) before "${msg}":\n${lines.slice(-20).join('\n')}`)),
      );
    });
  return { child, waitFor, lines };
}

function parse(line) {
  try {
    return line.startsWith('{') ? JSON.parse(line) : undefined;
  } catch {
    return undefined;
  }
}

function portFree(port) {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

async function main() {
  let port = Number(process.env.BOREALIS_PORT ?? 8080);
  if (!(await portFree(port))) {
    say(`port ${port} is taken; using a free one (set BOREALIS_PORT to choose)`);
    port = 0;
  }
  say(`starting the control plane (SQLite in ${dataDir})`);
  const server = start('control-plane', join(root, 'packages/control-plane/bin/borealis-server.js'), {
    env: { BOREALIS_PORT: String(port), BOREALIS_DATA_DIR: dataDir, BOREALIS_LOG_LEVEL: 'warn' },
  });
  // "listening" is logged at info; with warn the stderr line below carries the URL.
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`the control plane did not start:\n${server.lines.join('\n')}`)),
      30_000,
    );
    const check = () => {
      const line = server.lines.find((l) => l.includes('borealis-server: listening on'));
      if (line) {
        clearTimeout(timer);
        res(/listening on ([^\s;]+)/.exec(line)[1]);
      } else setTimeout(check, 50);
    };
    server.child.once('exit', (code) =>
      rej(new Error(`the control plane exited (${code}):\n${server.lines.join('\n')}`)),
    );
    check();
  });
  const token = process.env.BOREALIS_API_TOKEN ?? readFileSync(join(dataDir, 'api-token'), 'utf8').trim();
  const api = async (method, path, body, type = 'application/json') => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': type },
      body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  say(`control plane at ${url}`);

  const testToken = `demo-${Math.random().toString(36).slice(2)}`;
  await api('PUT', '/api/v1/secrets/test_token', { value: testToken });
  say('secret test_token stored (encrypted; the API never returns it)');

  const runner = start('test-runner', join(root, 'examples/demo/test-runner.mjs'), {
    env: { DEMO_TEST_TOKEN: testToken },
  });
  const { port: runnerPort } = await runner.waitFor('listening');
  say(`private test runner on 127.0.0.1:${runnerPort}`);

  const cred = await api('POST', '/api/v1/agent-credentials', {
    name: 'demo',
    allowedIdentifiers: ['demo-rna'],
  });
  const agent = start('agent', join(root, 'packages/agent/bin/borealis-agent.js'), {
    env: {
      BOREALIS_CONTROL_PLANE_URL: url,
      BOREALIS_AGENT_IDENTIFIER: 'demo-rna',
      BOREALIS_CLIENT_ID: cred.clientId,
      BOREALIS_CLIENT_SECRET: cred.clientSecret,
      BOREALIS_ALLOW: `127.0.0.1:${runnerPort}`,
      BOREALIS_AGENT_HEALTH_PORT: '0',
    },
  });
  const connected = await agent.waitFor('connected');
  say(
    `agent demo-rna connected (instance ${connected.instanceId}); it may reach only 127.0.0.1:${runnerPort}`,
  );

  say('starting the deployment: borealis deploy start -f examples/demo/deploy.yml --watch');
  const cli = spawn(
    process.execPath,
    [
      join(root, 'packages/cli/bin/borealis.js'),
      'deploy',
      'start',
      '-f',
      join(root, 'examples/demo/deploy.yml'),
      '--watch',
      '--context',
      `testRunnerPort=${runnerPort}`,
    ],
    { cwd: root, env: { ...process.env, BOREALIS_URL: url, BOREALIS_API_TOKEN: token }, stdio: 'inherit' },
  );
  children.push(cli);
  const code = await new Promise((res) => cli.once('exit', (c) => res(c ?? 1)));
  say(code === 0 ? 'the deployment succeeded' : `the deployment did not succeed (exit ${code})`);
  return code;
}

function stopAll() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});
main().then(
  (code) => {
    stopAll();
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`demo failed: ${err.message}\n`);
    stopAll();
    process.exitCode = 1;
  },
);
