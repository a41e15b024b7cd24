#!/usr/bin/env bash
# Builds the real Kubernetes control plane that test/k8s/ runs (no container engine needed):
# kube-apiserver, kube-controller-manager and kube-scheduler from the k8s.io/kubernetes Go
# module, etcd from go.etcd.io/etcd/server/v3, and helm, kubeconform and kwok with
# `go install`. Everything lands in $HOME/.cache/sluice/k8s-<K8S_VERSION>/bin/, plus kwok's
# default Stage config in kwok/stages.yaml (kwok's controller needs it).
#
# Invariants:
#   - Idempotent and cached: each binary has a stamp (bin/.<name>.version) holding the
#     version it was built from; a binary whose stamp matches is never rebuilt, so a warm
#     run only checks files and exits in well under a second. A failed run resumes where it
#     stopped. A lock keeps two concurrent runs from building the same thing twice.
#   - Only the Go module proxy is used (GOTOOLCHAIN=local: nothing downloads a toolchain).
#   - Go builds run under `nice -n 19` with Go's default parallelism so other work on the
#     machine (benchmarks) keeps its share of the CPU.
#   - KUBEBUILDER_ASSETS (setup-envtest's folder) is honoured: when it holds kube-apiserver
#     and etcd, those two (and kube-controller-manager / kube-scheduler if it has them too)
#     are used from there and not built. test/k8s/control-plane.ts resolves binaries by the
#     same rule.
#   - No Kubernetes or etcd code is kept in the repository: the wrapper modules (a go.mod
#     each) are generated here, under the cache folder.
#
# Why wrapper modules: k8s.io/kubernetes requires its k8s.io/* staging modules at v0.0.0 and
# replaces them with ./staging/... paths; replace directives only apply in the main module,
# so `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.Y.Z` cannot resolve them. A
# module of our own that requires k8s.io/kubernetes and replaces each staging module with its
# published v0.Y.Z tag can. The replace list is read from that version's go.mod, never kept by
# hand. etcd's server module has the same shape (../api, ../client/... replaces).
#
# Environment: SLUICE_K8S_CACHE_DIR overrides the cache folder; KUBEBUILDER_ASSETS as above.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$script_dir/versions.env"

cache_dir=${SLUICE_K8S_CACHE_DIR:-$HOME/.cache/sluice/k8s-$K8S_VERSION}
bin_dir=$cache_dir/bin
src_dir=$cache_dir/src
mkdir -p "$bin_dir" "$src_dir"

export GOTOOLCHAIN=local
export GOWORK=off
export CGO_ENABLED=0
# The machine's GOFLAGS may carry -mod settings that `go install pkg@version` rejects; we pass
# what each command needs explicitly.
export GOFLAGS=-buildvcs=false

log() { printf '[build-control-plane] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed (Go >= 1.26 is needed)"
command -v node >/dev/null || die "node is not installed (used to read go.mod JSON)"

if command -v flock >/dev/null; then
  exec 9>"$cache_dir/.lock"
  flock 9
fi

script_start=$(date +%s)
times_file=$cache_dir/build-times.txt

# Runs "$@" and logs (and records) how long it took under the label $1.
timed() {
  local label=$1
  shift
  local t0 t1
  t0=$(date +%s)
  "$@"
  t1=$(date +%s)
  log "$label: $((t1 - t0)) s"
  printf '%s %s %d\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$label" "$((t1 - t0))" >>"$times_file"
}

# True when KUBEBUILDER_ASSETS holds kube-apiserver and etcd (setup-envtest's layout).
assets_usable() {
  [[ -n ${KUBEBUILDER_ASSETS:-} && -x $KUBEBUILDER_ASSETS/kube-apiserver && -x $KUBEBUILDER_ASSETS/etcd ]]
}

# True when KUBEBUILDER_ASSETS (usable) provides control-plane binary $1.
from_assets() {
  case $1 in
    kube-apiserver | etcd | kube-controller-manager | kube-scheduler)
      assets_usable && [[ -x $KUBEBUILDER_ASSETS/$1 ]]
      ;;
    *) return 1 ;;
  esac
}

# True when binary $1 needs no work: provided by KUBEBUILDER_ASSETS, or built from version $2.
have() {
  local name=$1 version=$2
  from_assets "$name" && return 0
  [[ -x $bin_dir/$name && -f $bin_dir/.$name.version && $(<"$bin_dir/.$name.version") == "$version" ]]
}

# Logs why binary $1 (version $2) is not built.
log_have() {
  if from_assets "$1"; then
    log "$1: from KUBEBUILDER_ASSETS ($KUBEBUILDER_ASSETS/$1)"
  else
    log "$1 $2: cached"
  fi
}

stamp() { printf '%s\n' "$2" >"$bin_dir/.$1.version"; }

# Prints the `replace` lines a wrapper module needs: every local-path replace in the go.mod
# at $1 becomes `<module> => <module> $2` (its published tag); versioned replaces are copied;
# etcd's FORBIDDEN_DEPENDENCY guards are dropped (they only fence etcd's own repository).
wrapper_replaces() {
  go mod edit -json "$1" | node -e '
    const tag = process.argv[1];
    let text = "";
    process.stdin.on("data", (chunk) => { text += chunk; });
    process.stdin.on("end", () => {
      const mod = JSON.parse(text);
      for (const r of mod.Replace ?? []) {
        const old = r.Old.Version ? `${r.Old.Path} ${r.Old.Version}` : r.Old.Path;
        if (r.New.Version) {
          console.log(`\t${old} => ${r.New.Path} ${r.New.Version}`);
        } else if (r.New.Path.endsWith("FORBIDDEN_DEPENDENCY")) {
          continue;
        } else {
          console.log(`\t${r.Old.Path} => ${r.Old.Path} ${tag}`);
        }
      }
    });
  ' "$2"
}

# Prints the go.mod path of module@version after downloading it ($1 = module@version).
module_gomod() {
  (cd "$src_dir" && go mod download -json "$1") | node -e '
    let text = "";
    process.stdin.on("data", (chunk) => { text += chunk; });
    process.stdin.on("end", () => {
      const info = JSON.parse(text);
      if (info.Error) { console.error(info.Error); process.exit(1); }
      console.log(info.GoMod);
    });
  '
}

# Writes a wrapper module in $1 requiring $2@$3, with the replaces generated from that
# module's go.mod (local replaces pinned to tag $4).
write_wrapper() {
  local dir=$1 module=$2 version=$3 tag=$4
  local gomod go_directive replaces
  gomod=$(module_gomod "$module@$version")
  go_directive=$(go mod edit -json "$gomod" | node -e '
    let t = ""; process.stdin.on("data", (c) => { t += c; });
    process.stdin.on("end", () => console.log(JSON.parse(t).Go ?? "1.26"));')
  replaces=$(wrapper_replaces "$gomod" "$tag")
  mkdir -p "$dir"
  # Start from a fresh go.mod/go.sum every time the wrapper is (re)generated so a version
  # change never inherits stale requirements.
  rm -f "$dir/go.mod" "$dir/go.sum"
  {
    printf '// Generated by scripts/k8s/build-control-plane.sh; not part of the repository.\n'
    printf 'module sluice.local/wrapper/%s\n\ngo %s\n\nrequire %s %s\n\nreplace (\n%s\n)\n' \
      "$(basename "$dir")" "$go_directive" "$module" "$version" "$replaces"
  } >"$dir/go.mod"
  log "wrote $dir/go.mod ($(grep -c '=>' "$dir/go.mod") replace lines from $module@$version)"
}

# Builds package $3 from wrapper module $1 into bin/$2 (atomically), with extra go flags "${@:4}".
go_build() {
  local dir=$1 name=$2 pkg=$3
  shift 3
  (cd "$dir" && nice -n 19 go build -mod=mod -trimpath "$@" -o "$bin_dir/.$name.tmp" "$pkg")
  mv -f "$bin_dir/.$name.tmp" "$bin_dir/$name"
}

# Installs module package $2@$3 as bin/$1 with extra flags "${@:4}".
go_install() {
  local name=$1 pkg=$2 version=$3
  shift 3
  local gobin=$cache_dir/.gobin
  rm -rf "$gobin"
  mkdir -p "$gobin"
  (cd "$src_dir" && GOBIN=$gobin nice -n 19 go install -trimpath "$@" "$pkg@$version")
  mv -f "$gobin/$name" "$bin_dir/$name"
  rm -rf "$gobin"
}

log "go: $(go version); cache: $cache_dir"
if assets_usable; then
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS holds kube-apiserver and etcd: not building those"
fi

# --- Kubernetes: kube-apiserver, kube-controller-manager, kube-scheduler -----------------
k8s_minor=${K8S_VERSION#v1.}
k8s_minor=${k8s_minor%%.*}
staging_tag=v0.${K8S_VERSION#v1.}
kube_wrapper=$src_dir/kubernetes
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done
# Kubernetes' own release builds use these tags (hack/lib/golang.sh): no test-only code, no
# golang.org/x/net/trace in gRPC.
kube_tags=notest,grpcnotrace

kube_wrapper_ready=false
for name in kube-apiserver kube-controller-manager kube-scheduler; do
  if have "$name" "$K8S_VERSION"; then
    log_have "$name" "$K8S_VERSION"
    continue
  fi
  if [[ $kube_wrapper_ready == false ]]; then
    timed "kubernetes wrapper module (download k8s.io/kubernetes@$K8S_VERSION)" \
      write_wrapper "$kube_wrapper" k8s.io/kubernetes "$K8S_VERSION" "$staging_tag"
    kube_wrapper_ready=true
  fi
  log "building $name $K8S_VERSION (nice -n 19; the first one compiles most shared packages)"
  timed "$name" go_build "$kube_wrapper" "$name" "k8s.io/kubernetes/cmd/$name" \
    -tags "$kube_tags" -ldflags "-s -w$kube_ldflags"
  stamp "$name" "$K8S_VERSION"
done

# --- etcd ----------------------------------------------------------------------------
if have etcd "$ETCD_VERSION"; then
  log_have etcd "$ETCD_VERSION"
else
  timed "etcd wrapper module (download go.etcd.io/etcd/server/v3@$ETCD_VERSION)" \
    write_wrapper "$src_dir/etcd" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION"
  log "building etcd $ETCD_VERSION"
  timed etcd go_build "$src_dir/etcd" etcd go.etcd.io/etcd/server/v3 -ldflags "-s -w"
  stamp etcd "$ETCD_VERSION"
fi

# --- kwok, helm, kubeconform (plain go install: no local replaces in their go.mod) ---------
if have kwok "$KWOK_VERSION"; then
  log_have kwok "$KWOK_VERSION"
else
  log "installing kwok $KWOK_VERSION"
  timed kwok go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}"
  stamp kwok "$KWOK_VERSION"
fi

# kwok's controller does nothing without Stage objects (it refuses to start). kwokctl feeds it
# the defaults from kwok's own module (kustomize/stage/...): Nodes become Ready and heartbeat via
# Leases; Pods become Ready/Running, complete, and go away when deleted. We assemble the same set
# from the module at KWOK_VERSION into one config file (not copied into the repository).
kwok_stages=$cache_dir/kwok/stages.yaml
if [[ -f $kwok_stages && -f $cache_dir/kwok/.version && $(<"$cache_dir/kwok/.version") == "$KWOK_VERSION" ]]; then
  log "kwok stages $KWOK_VERSION: cached"
else
  write_kwok_stages() {
    local dir
    dir=$(cd "$src_dir" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | node -e '
      let t = ""; process.stdin.on("data", (c) => { t += c; });
      process.stdin.on("end", () => { const i = JSON.parse(t); if (i.Error) { console.error(i.Error); process.exit(1); } console.log(i.Dir); });')
    mkdir -p "$cache_dir/kwok"
    local files=(
      kustomize/stage/node/fast/node-initialize.yaml
      kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
      kustomize/stage/pod/fast/pod-ready.yaml
      kustomize/stage/pod/fast/pod-complete.yaml
      kustomize/stage/pod/fast/pod-delete.yaml
    )
    {
      printf '# Assembled by scripts/k8s/build-control-plane.sh from sigs.k8s.io/kwok@%s\n' "$KWOK_VERSION"
      for f in "${files[@]}"; do
        [[ -f $dir/$f ]] || die "kwok $KWOK_VERSION has no $f"
        printf -- '---\n# %s\n' "$f"
        cat "$dir/$f"
      done
    } >"$kwok_stages.tmp"
    mv -f "$kwok_stages.tmp" "$kwok_stages"
    printf '%s\n' "$KWOK_VERSION" >"$cache_dir/kwok/.version"
  }
  timed "kwok stages" write_kwok_stages
fi

if have helm "$HELM_VERSION"; then
  log_have helm "$HELM_VERSION"
else
  log "installing helm $HELM_VERSION"
  # Helm assumes Kubernetes 1.20 for `template`/`lint` unless told; its release builds set the
  # default from their client-go version. We set it to the control plane we build.
  helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
  done
  timed helm go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" -ldflags "$helm_ldflags"
  stamp helm "$HELM_VERSION"
fi

if have kubeconform "$KUBECONFORM_VERSION"; then
  log_have kubeconform "$KUBECONFORM_VERSION"
else
  log "installing kubeconform $KUBECONFORM_VERSION"
  timed kubeconform go_install kubeconform github.com/yannh/kubeconform/cmd/kubeconform \
    "$KUBECONFORM_VERSION" -ldflags "-s -w -X main.version=$KUBECONFORM_VERSION"
  stamp kubeconform "$KUBECONFORM_VERSION"
fi

# --- summary -----------------------------------------------------------------------------
resolve() {
  local name=$1
  if from_assets "$name"; then
    printf '%s\n' "$KUBEBUILDER_ASSETS/$name"
  else
    printf '%s\n' "$bin_dir/$name"
  fi
}
for name in kube-apiserver kube-controller-manager kube-scheduler etcd kwok helm kubeconform; do
  [[ -x $(resolve "$name") ]] || die "$name missing at $(resolve "$name")"
done
[[ -f $kwok_stages ]] || die "kwok stages missing at $kwok_stages"
log "kube-apiserver: $("$(resolve kube-apiserver)" --version 2>&1 | head -n 1)"
log "etcd: $("$(resolve etcd)" --version 2>&1 | head -n 1)"
log "kwok: $("$(resolve kwok)" --version 2>&1 | head -n 1)"
log "helm: $("$(resolve helm)" version --short 2>&1 | head -n 1)"
log "kubeconform: $("$(resolve kubeconform)" -v 2>&1 | head -n 1)"
log "ready in $(($(date +%s) - script_start)) s: $bin_dir"
