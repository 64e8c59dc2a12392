# syntax=docker/dockerfile:1
# One image for every Rebound role: `docker run IMAGE worker`, `docker run IMAGE serve`, or any other
# `rebound` command (`config show`, ...). The entrypoint is the rebound CLI, which runs the TypeScript
# sources through tsx (a runtime dependency), as a checkout does.

ARG NODE_IMAGE=node:20.19.5-bookworm-slim

# Production dependencies only, installed from the lock file. Temporal's native bridge ships
# prebuilt for glibc linux x64/arm64, so no compiler is needed; the prebuilt libraries of the other
# platforms (about 120 MB) are dropped.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && case "$(uname -m)" in \
      x86_64) keep=x86_64-unknown-linux-gnu ;; \
      aarch64) keep=aarch64-unknown-linux-gnu ;; \
      *) echo "no Temporal core-bridge build for $(uname -m)" >&2; exit 1 ;; \
    esac \
 && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} +

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    REBOUND_HOST=0.0.0.0 \
    REBOUND_PORT=9097
WORKDIR /app
# Owned by root and read-only to the process: the running user cannot change its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY runbooks ./runbooks
# The image's own non-root user (uid 1000); tsx keeps its cache in /tmp.
USER node
EXPOSE 9097
# serve: GET /healthz; worker: Temporal's frontend accepts connections (bin/healthcheck.js).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "bin/healthcheck.js"]
ENTRYPOINT ["node", "bin/rebound.js"]
CMD ["worker"]
