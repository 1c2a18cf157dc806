import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { repoRoot, startProcess, stopAll } from './support/processes.js';

const run = promisify(execFile);

/**
 * No Docker engine runs here, so this makes the production installs docker/control-plane.Dockerfile
 * makes (`pnpm deploy --prod` of the server and of the CLI, outside the workspace) and runs the
 * image's command and its CLI from them; then it reads the Dockerfiles and the compose file for
 * what the issue asks of them.
 */
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'brl-images-'));
  for (const [pkg, dir] of [
    ['@borealis/control-plane', 'server'],
    ['@borealis/cli', 'cli'],
  ] as const) {
    await run('pnpm', ['--filter', pkg, 'deploy', '--prod', '--legacy', join(work, dir)], {
      cwd: repoRoot,
      env: { ...process.env, CI: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    });
  }
}, 180_000);
afterAll(async () => {
  await stopAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the control-plane image, from its production installs', () => {
  it('starts the server, answers its HEALTHCHECK, and the CLI beside it talks to it', async () => {
    const data = join(work, 'data');
    // As the image sets it (the port 0 here: any free one), from /app.
    const server = startProcess(join(work, 'server/bin/borealis-server.js'), {
      cwd: join(work, 'server'),
      env: {
        NODE_ENV: 'production',
        BOREALIS_HOST: '127.0.0.1',
        BOREALIS_PORT: '0',
        BOREALIS_DATA_DIR: data,
      },
    });
    const url = (await server.waitForLog('listening')).url as string;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    // `docker exec <container> borealis …`: the same environment, the CLI's own install.
    const cli = await run(
      process.execPath,
      [join(work, 'cli/bin/borealis.js'), 'secrets', 'list', '-o', 'json'],
      {
        cwd: '/',
        env: {
          PATH: process.env.PATH ?? '',
          HOME: work,
          BOREALIS_PORT: new URL(url).port,
          BOREALIS_DATA_DIR: data,
        },
      },
    );
    expect(JSON.parse(cli.stdout)).toEqual({ secrets: [] });
    const version = await run(process.execPath, [join(work, 'cli/bin/borealis.js'), '--version']);
    expect(version.stdout.trim()).toMatch(/^borealis \d+\.\d+\.\d+$/);
    await server.stop(20_000);
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe('Dockerfiles', () => {
  for (const file of ['docker/control-plane.Dockerfile', 'docker/agent.Dockerfile']) {
    const text = readFileSync(join(repoRoot, file), 'utf8');
    it(`${file}: a maintained Node LTS, dependencies in their own cached layer`, () => {
      const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1] as string);
      expect(froms.length).toBeGreaterThanOrEqual(2);
      for (const from of froms) expect(from, file).toMatch(/^node:(22|24)-/);
      const lockfile = text.indexOf('COPY pnpm-lock.yaml');
      const fetch = text.indexOf('pnpm fetch');
      const sources = text.indexOf('COPY . .');
      expect(lockfile, 'the lockfile is copied on its own').toBeGreaterThan(0);
      expect(fetch).toBeGreaterThan(lockfile);
      expect(sources, 'the sources come after the dependency layer').toBeGreaterThan(fetch);
      expect(text).toContain('pnpm install --offline --frozen-lockfile');
      expect(text).toContain('HEALTHCHECK');
    });
  }

  it('the control-plane image carries the CLI on PATH', () => {
    const text = readFileSync(join(repoRoot, 'docker/control-plane.Dockerfile'), 'utf8');
    expect(text).toContain('pnpm --filter @borealis/cli deploy --prod --legacy /out/cli');
    expect(text).toContain('ln -s /opt/borealis-cli/bin/borealis.js /usr/local/bin/borealis');
  });

  it("the agent image's health port is the agent's default and not a control-plane port", () => {
    const text = readFileSync(join(repoRoot, 'docker/agent.Dockerfile'), 'utf8');
    expect(text).toContain('BOREALIS_AGENT_HEALTH_PORT=9181');
    expect(text).toContain("fetch('http://127.0.0.1:9181/healthz')");
  });
});

describe('docker/compose.yaml', () => {
  const compose = YAML.parse(readFileSync(join(repoRoot, 'docker/compose.yaml'), 'utf8')) as {
    services: Record<string, Record<string, unknown> & { environment?: Record<string, string> }>;
  };
  const built = (s: Record<string, unknown>) => s.build !== undefined;

  it('every service restarts by itself and has a health check (its own or its image’s)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.restart, name).toBe('unless-stopped');
      if (!built(service)) expect(service.healthcheck, name).toBeDefined();
    }
  });

  it('replicas wait for healthy PostgreSQL and NATS, and build callback URIs other containers can reach', () => {
    for (const name of ['control-plane-1', 'control-plane-2', 'control-plane-3']) {
      const s = compose.services[name] as Record<string, unknown> & { environment: Record<string, string> };
      expect(s.depends_on, name).toEqual({
        postgres: { condition: 'service_healthy' },
        nats: { condition: 'service_healthy' },
      });
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own ${VAR:-default} syntax
      expect(s.environment.BOREALIS_PUBLIC_URL).toBe('${BOREALIS_PUBLIC_URL:-http://load-balancer:8080}');
      expect(s.environment.BOREALIS_PUBLIC_URL).not.toContain('localhost');
    }
  });
});
