#!/usr/bin/env bash
# Installs the system programs Sluice's tests run for real (beyond Node and the Kubernetes
# control plane, which scripts/k8s/build-control-plane.sh builds):
#   - prometheus (Debian's package): test/e2e/prometheus-lag.e2e.test.ts scrapes a broker with
#     it and checks consumer lag through PromQL.
# Idempotent: does nothing when every program is already on PATH. Installing needs apt-get and
# root (CI machines are Debian and run as root); otherwise it says what to install and fails.
set -euo pipefail

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "== installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends: only the server binary is needed, not its exporters.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "tests need: ${missing[*]} (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
