# The runbook worker's image. Build from the repository root, with the pinned helm 4 from the
# tools build (`npm run tools`) as a named build context:
#
#   docker buildx build \
#     --build-context tools=$HOME/.cache/platform-runbooks/tools/bin \
#     -t registry.example.com/platform-runbooks/worker:0.1.0 .
#
# Node 24 runs the TypeScript sources directly (type stripping): there is no compile step.
# The image runs as a non-root user and needs no writable path but /tmp (the chart mounts an
# emptyDir there) and the backup store (/data/backups, a volume): readOnlyRootFilesystem works.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# --- dependencies: production only (`npm ci --omit=dev`), from the lockfile ---------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- the helm 4 binary of the tools build (named build context "tools") -------------------------
FROM scratch AS helm
COPY --from=tools helm /helm

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOME=/tmp \
    HELM_CACHE_HOME=/tmp/helm/cache \
    HELM_CONFIG_HOME=/tmp/helm/config \
    HELM_DATA_HOME=/tmp/helm/data \
    RUNBOOK_HELM_BIN=/usr/local/bin/helm \
    RUNBOOK_BACKUP_DIR=/data/backups \
    RUNBOOK_HTTP_HOST=0.0.0.0 \
    MALLOC_ARENA_MAX=1 \
    MALLOC_TRIM_THRESHOLD_=131072
WORKDIR /app
COPY --from=helm /helm /usr/local/bin/helm
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY contract ./contract
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY client ./client
COPY charts ./charts
# The node image's unprivileged user (uid 1000); numeric, so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 9464
# `node` directly (not npm): signals reach the worker, which drains in-flight tasks on SIGTERM.
ENTRYPOINT ["node", "worker/main.ts"]
