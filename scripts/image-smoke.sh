#!/usr/bin/env bash
# Replays the Dockerfile without a container engine and starts the broker from the result:
# see test/image/smoke.ts for what is replayed and checked (two npm ci, one compiling
# zstd-napi, and a full build: ~70 s). test/image/image.test.ts runs the same checks in `npm test`;
# this script is for running them alone with a step-by-step log.
#   bash scripts/image-smoke.sh [--keep]    --keep leaves the replayed stages in the temp folder
set -euo pipefail
cd "$(dirname "$0")/.."
# zstd-napi compiles with node-gyp, which needs Node's headers (as in .ci/run).
if [ -f /usr/include/node/node_api.h ]; then
  export npm_config_nodedir=/usr
fi
exec node --conditions=source --import tsx test/image/smoke-main.ts "$@"
