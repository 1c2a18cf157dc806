# syntax=docker/dockerfile:1.7
# The control plane, with the `borealis` CLI beside it. Build from the repository root:
#   docker build -f docker/control-plane.Dockerfile -t borealis-control-plane .
# Runtime: Node.js 24, the active LTS line (20 is past its end of life).
# The production installs are `pnpm deploy --prod` of the control-plane and CLI packages: the
# commands test/e2e/images.test.ts runs outside the workspace (this machine has no Docker
# engine), starting the server and the CLI from them.
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@10.34.8
WORKDIR /src
# Dependencies first, from the lockfile alone: this layer is rebuilt only when it changes, not
# at every source edit; the store is a build cache shared by both images.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN --mount=type=cache,id=borealis-pnpm,target=/pnpm/store \
    pnpm config set store-dir /pnpm/store && pnpm fetch
COPY . .
RUN --mount=type=cache,id=borealis-pnpm,target=/pnpm/store \
    pnpm config set store-dir /pnpm/store \
 && pnpm install --offline --frozen-lockfile \
 && pnpm --filter @borealis/control-plane deploy --prod --legacy /out/server \
 && pnpm --filter @borealis/cli deploy --prod --legacy /out/cli

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=build --chown=root:root /out/server /app
COPY --from=build --chown=root:root /out/cli /opt/borealis-cli
# `docker exec <container> borealis deploy list` works: the CLI finds this server on
# BOREALIS_PORT and its token in BOREALIS_DATA_DIR (or BOREALIS_API_TOKEN).
RUN ln -s /opt/borealis-cli/bin/borealis.js /usr/local/bin/borealis \
 && ln -s /app/bin/borealis-server.js /usr/local/bin/borealis-server
ENV NODE_ENV=production \
    BOREALIS_HOST=0.0.0.0 \
    BOREALIS_PORT=8080 \
    BOREALIS_DATA_DIR=/data \
    BOREALIS_SHUTDOWN_GRACE=25s
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini forwards SIGTERM so the server drains (BOREALIS_SHUTDOWN_GRACE) before it exits; keep
# `docker stop -t` (default 10 s) or Kubernetes' terminationGracePeriodSeconds above it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/borealis-server.js"]
