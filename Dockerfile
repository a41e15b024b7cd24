# syntax=docker/dockerfile:1
#
# One Sluice image with three entrypoints on PATH:
#   sluice-broker    the broker (the default command)          broker/dist/main.js
#   sluice           the CLI                                   cli/dist/main.js
#   sluice-operator  the Kubernetes operator                   operator/dist/main.js
# A new workspace joins the image in four places, like operator/ below: its package.json in the
# "workspace manifests" COPY of build and prod-deps, its sources in build, and its package.json
# and dist/ in runtime (test/image/dockerfile.test.ts fails until all four are there).
# The operator runs broker Pods from this same image (its --default-broker-image), so the Pods'
# `sluice-broker` command and uid 10001 below are what operator/src/cluster/ builds them with.
#
# Stages:
#   toolchain  node:24-slim + python3, make, g++: zstd-napi compiles its native addon from source
#              during `npm ci` (its install script tries a prebuilt binary first, then node-gyp,
#              which finds Node's headers in the image). Only build stages have a compiler.
#   build      all dependencies, then `npm run build` (proto types + tsc for every workspace).
#   prod-deps  production dependencies only (`npm ci --omit=dev --workspaces`), compiled here.
#   runtime    node:24-slim, no compiler: prod node_modules + each workspace's package.json and
#              dist/ (+ protocol/proto, which the broker and clients load at run time), run as
#              the non-root user sluice (uid/gid 10001).
#
# scripts/image-smoke.sh runs this file's COPY and npm steps outside Docker (no container engine
# on our machines) and starts the broker from the result; keep the two in step.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp compiles against the headers the official image ships in /usr/local/include/node
# (no header download needed).
ENV npm_config_nodedir=/usr/local npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

FROM toolchain AS build
# Workspace manifests first: the npm ci layer is reused until a manifest or the lockfile changes.
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY broker/package.json broker/
COPY client/package.json client/
COPY cli/package.json cli/
COPY operator/package.json operator/
RUN npm ci
COPY tsconfig.base.json ./
COPY protocol/ protocol/
COPY broker/ broker/
COPY client/ client/
COPY cli/ cli/
COPY operator/ operator/
RUN npm run build

FROM toolchain AS prod-deps
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY broker/package.json broker/
COPY client/package.json client/
COPY cli/package.json cli/
COPY operator/package.json operator/
RUN npm ci --omit=dev --workspaces

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --system --gid 10001 sluice \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice \
 && mkdir -p /var/lib/sluice \
 && chown 10001:10001 /var/lib/sluice
COPY --from=prod-deps /app/package.json /app/package-lock.json ./
# node_modules/@sluice/* are symlinks to the workspace folders below (COPY keeps symlinks).
COPY --from=prod-deps /app/node_modules node_modules/
COPY --from=build /app/protocol/package.json protocol/
COPY --from=build /app/protocol/dist protocol/dist/
COPY --from=build /app/protocol/proto protocol/proto/
COPY --from=build /app/broker/package.json broker/
COPY --from=build /app/broker/dist broker/dist/
COPY --from=build /app/client/package.json client/
COPY --from=build /app/client/dist client/dist/
COPY --from=build /app/cli/package.json cli/
COPY --from=build /app/cli/dist cli/dist/
COPY --from=build /app/operator/package.json operator/
COPY --from=build /app/operator/dist operator/dist/
RUN chmod 0755 broker/dist/main.js cli/dist/main.js operator/dist/main.js \
 && ln -s /app/broker/dist/main.js /usr/local/bin/sluice-broker \
 && ln -s /app/cli/dist/main.js /usr/local/bin/sluice \
 && ln -s /app/operator/dist/main.js /usr/local/bin/sluice-operator
USER 10001:10001
# gRPC (Kafka's port), the data listener, broker /metrics, operator /metrics + /healthz.
EXPOSE 9092 9093 9644 8080
CMD ["sluice-broker", "--host", "0.0.0.0", "--data-dir", "/var/lib/sluice"]
