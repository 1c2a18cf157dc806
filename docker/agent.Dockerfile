# syntax=docker/dockerfile:1.7
# The Remote Network Agent. Build from the repository root:
#   docker build -f docker/agent.Dockerfile -t borealis-agent .
# Runtime: Node.js 24, the active LTS line (20 is past its end of life).
# The production install is `pnpm deploy --prod` of the agent package: the same command that
# test/e2e/agent-image.test.ts runs outside the workspace and starts the agent from, since this
# machine has no Docker engine to build the image itself.
FROM node:24-bookworm-slim AS build
RUN npm install -g pnpm@10.34.8
WORKDIR /src
# Dependencies first, from the lockfile alone: rebuilt only when it changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN --mount=type=cache,id=borealis-pnpm,target=/pnpm/store \
    pnpm config set store-dir /pnpm/store && pnpm fetch
COPY . .
RUN --mount=type=cache,id=borealis-pnpm,target=/pnpm/store \
    pnpm config set store-dir /pnpm/store \
 && pnpm install --offline --frozen-lockfile \
 && pnpm --filter @borealis/agent deploy --prod --legacy /out

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build --chown=root:root /out /app
# MALLOC_ARENA_MAX: glibc reads it before node starts, so the program cannot set it on itself
# (its V8 flag it does set, in src/v8-flags.ts). Two malloc arenas instead of one per thread:
# measured 1.5 to 3 MiB less idle RSS (test/bench/agent-rss.mjs; 1 saved 3 MiB), no difference
# in transfer speed that the noise of the measuring machine let show.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    BOREALIS_AGENT_HEALTH_HOST=0.0.0.0 \
    BOREALIS_AGENT_HEALTH_PORT=9181
# The image's user: no root inside the private network it serves.
USER node
EXPOSE 9181
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9181/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini forwards SIGTERM so the agent drains (finishes in-flight calls) before it exits.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/borealis-agent.js"]
