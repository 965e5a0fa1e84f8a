#!/usr/bin/env bash
# Builds the local control plane (etcd + kube-apiserver + kubectl in one binary, kscp), its other
# components (kube-controller-manager, kube-scheduler, kubelet, kube-proxy in one binary,
# kscluster: cluster/) and helm from the Go module proxy, once per machine: the result is cached
# under ~/.cache/kubescribe/, keyed by version, and reused when present. Prints the path of the
# cache folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
K8S_VERSION=$(sed -n "s/^[[:space:]]*k8s.io\/kubernetes v//p" "$here/go.mod")
HELM_VERSION=$(sed -n "s/^[[:space:]]*\(require \)\{0,1\}helm.sh\/helm\/v3 v//p" "$here/helm/go.mod")
cache=${KUBESCRIBE_CACHE:-$HOME/.cache/kubescribe}
out="$cache/kscp-$K8S_VERSION"
mkdir -p "$cache"
if ! command -v go >/dev/null; then
  echo "build.sh: Go is needed to build the local control plane (go 1.25+)" >&2; exit 1
fi
log() { echo "[controlplane] $*" >&2; }
build() { # dir, output, ldflags, package
  local start=$SECONDS tmp="$2.tmp.$$"
  ( cd "$1" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags "$3" -o "$tmp" "$4" )
  mv "$tmp" "$2"
  log "built $2 in $((SECONDS - start))s"
}
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
v=k8s.io/component-base/version
k8s_ldflags="-s -w -X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
mkdir -p "$out"
if [ ! -x "$out/kscp" ]; then
  build "$here" "$out/kscp" "$k8s_ldflags" .
fi
ln -sf kscp "$out/kubectl"
if ! grep -Eq "^[[:space:]]*(require )?k8s.io/kubernetes v$K8S_VERSION\$" "$here/cluster/go.mod"; then
  echo "build.sh: cluster/go.mod must require k8s.io/kubernetes v$K8S_VERSION, as go.mod does" >&2; exit 1
fi
if [ ! -x "$out/kscluster" ]; then
  build "$here/cluster" "$out/kscluster" "$k8s_ldflags" .
fi
for c in kube-controller-manager kube-scheduler kubelet kube-proxy; do ln -sf kscluster "$out/$c"; done
hout="$cache/helm-$HELM_VERSION"
if [ ! -x "$hout/helm" ]; then
  mkdir -p "$hout"
  build "$here/helm" "$hout/helm" "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" helm.sh/helm/v3/cmd/helm
fi
echo "$out"
