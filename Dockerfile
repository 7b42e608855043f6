# syntax=docker/dockerfile:1
# The sv0 worker image (docker-compose.temporal.yml builds it). Stages: modules (npm ci), build
# (compile the TypeScript and prebuild the workflow bundle), deps (production node_modules only,
# pruned from modules) and the runtime, which runs as the unprivileged `node` user (uid 1000).
#
# On the VM: `docker compose -f docker-compose.temporal.yml build worker`. The base is a build
# argument: this project's CI, which reaches no registry, builds the image on a Node base it makes
# itself (`bash scripts/stack.sh worker-image`, see scripts/stack-deploy.sh) and runs it.

# Node 24 LTS on Debian (glibc): the Temporal core bridge ships prebuilt binaries for
# linux-x64-gnu/arm64-gnu.
ARG NODE_IMAGE=node:24.19.0-bookworm-slim

# Every dependency, installed once: the build compiles with them, and the production set is
# pruned from them (a layer that only changes with package-lock.json).
FROM ${NODE_IMAGE} AS modules
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM modules AS build
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

FROM modules AS deps
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# jemalloc rather than glibc's malloc: the worker's Rust core and its V8 threads allocate from
# many threads, and glibc keeps an arena per thread whose freed memory it rarely returns. With
# jemalloc the worker's resident memory stays close to what it uses (README, the worker's memory).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjemalloc2 \
 && rm -rf /var/lib/apt/lists/*
# V8 keeps the pages of its heaps resident once grown, so the worker's memory is the high-water
# mark of each isolate's heap (the main thread's and each workflow thread's): a young generation
# of at most 2 x 4 MiB per isolate instead of 2 x 16 MiB lowers it at the cost of more, shorter
# scavenges.
ENV LD_PRELOAD=libjemalloc.so.2 \
    NODE_OPTIONS=--max-semi-space-size=4 \
    NODE_ENV=production \
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
