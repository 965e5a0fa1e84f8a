#!/usr/bin/env bash
# Builds the real `sops` CLI from the Go module proxy, once per machine: cached under
# ~/.cache/kubescribe/sops-<version>/ and reused when present. The secrets e2e decrypts the files
# kubescribe writes with it, so the format is checked by the tool users restore Secrets with.
# Prints the path of the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SOPS_VERSION=$(sed -n "s/^[[:space:]]*\(require \)\{0,1\}github.com\/getsops\/sops\/v3 v//p" "$here/go.mod")
cache=${KUBESCRIBE_CACHE:-$HOME/.cache/kubescribe}
out="$cache/sops-$SOPS_VERSION"
if [ ! -x "$out/sops" ]; then
  if ! command -v go >/dev/null; then
    echo "build.sh: Go is needed to build sops (go 1.25+)" >&2; exit 1
  fi
  mkdir -p "$out"
  start=$SECONDS tmp="$out/sops.tmp.$$"
  ( cd "$here" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$tmp" github.com/getsops/sops/v3/cmd/sops )
  mv "$tmp" "$out/sops"
  echo "[sops] built $out/sops in $((SECONDS - start))s" >&2
fi
echo "$out/sops"
