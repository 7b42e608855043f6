# syntax=docker/dockerfile:1
# The sv0 worker image (docker-compose.temporal.yml builds it). Three stages: build (compile the
# TypeScript and prebuild the workflow bundle), deps (production node_modules only) and the
# runtime, which runs as the unprivileged `node` user (uid 1000).
#
# Not built or run in this project's CI: no container registry (and so no base image) can be
# reached there. Build it on the VM: `docker compose -f docker-compose.temporal.yml build worker`.

# Debian (glibc): the Temporal core bridge ships prebuilt binaries for linux-x64-gnu/arm64-gnu.
ARG NODE_IMAGE=node:20.19-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib lib
COPY activities activities
COPY workflows workflows
COPY workers workers
COPY clients clients
COPY scripts/build-bundle.ts scripts/build-bundle.ts
# dist/ holds the compiled worker and CLI, and dist/workflow-bundle.js, which the worker loads
# instead of bundling at start.
RUN npx tsc -p tsconfig.build.json && npx tsx scripts/build-bundle.ts dist/workflow-bundle.js

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    SV0_CONFIG_DIR=/app/config \
    SV0_METRICS_ADDRESS=0.0.0.0:9464
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY bin bin
# The default config; the compose file mounts the operator's own over it.
COPY config config
# `sv0` inside the container: docker compose exec worker sv0 doctor
RUN ln -s /app/bin/sv0.js /usr/local/bin/sv0 && chmod 0755 /app/bin/sv0.js
USER node
# Prometheus metrics from the Temporal runtime (SV0_METRICS_ADDRESS).
EXPOSE 9464
# The worker stops on SIGTERM: it stops polling, lets running activities finish within
# SV0_SHUTDOWN_GRACE (default 2 minutes; give compose a longer stop_grace_period) and exits.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/workers/main.js"]
