# syntax=docker/dockerfile:1
# The kubescribe image: built in one stage, production dependencies in another, and a final stage
# with only dist/, the production node_modules and package.json, running as a non-root user.
# The root filesystem can be read-only: kubescribe writes only to its dataDir (an emptyDir in the
# Helm chart) and /tmp.
#   docker build -t kubescribe:dev .
#   docker run --rm -v $PWD/settings.yaml:/etc/kubescribe/settings.yaml:ro kubescribe:dev
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle.mjs ./scripts/
RUN npm run build

FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && npm cache clean --force

FROM node:${NODE_VERSION}-slim
# glibc's malloc at its starting thresholds, fixed: by default the first large block freed raises
# the mmap threshold (up to 32 MiB), after which the large blocks of a snapshot or a burst (zlib,
# HTTP bodies, lists) come from arenas that are seldom given back. Fixed, they are unmapped when
# freed: 232 vs 298 MiB after a 100,000-object snapshot, ~20 MiB less idle, the same CPU
# (docs/benchmarks.md, "glibc's malloc thresholds"). The local stack reads these lines too
# (e2e/stack/image-env.ts), so that tests and benchmarks run kubescribe as the image does.
ENV NODE_ENV=production MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072
# A fixed numeric uid/gid, so that runAsNonRoot can be verified and fsGroup matches (the chart
# uses 10001).
RUN groupadd --system --gid 10001 kubescribe \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/kubescribe --no-create-home --shell /usr/sbin/nologin kubescribe \
 && mkdir -p /var/lib/kubescribe /etc/kubescribe \
 && chown 10001:10001 /var/lib/kubescribe
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --chown=root:root package.json ./
USER 10001:10001
# 9443: the admission webhook (HTTPS); 8080: /metrics, /healthz, /readyz.
EXPOSE 9443 8080
# No --enable-source-maps: the first stack trace formatted under it parses the bundle's map into
# ~70 MiB of V8 heap, kept for the life of the process (docs/benchmarks.md, "Burst memory").
# Traces name dist/kubescribe.mjs (not minified); NODE_OPTIONS=--enable-source-maps maps them to src/.
# node's flags here (before the program) are what local instances run with too (e2e/stack/image-env.ts).
ENTRYPOINT ["node", "dist/kubescribe.mjs"]
CMD ["run", "--settings", "/etc/kubescribe/settings.yaml"]
