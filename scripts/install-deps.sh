#!/usr/bin/env bash
# Installs what kubescribe's tests, demo and benchmarks need on a Debian machine, and only what is
# missing: Debian packages (git with git-http-backend, openssl, prometheus + promtool for the
# metrics e2e, openssh-server for the SSH Git server, gnupg to verify OpenPGP-signed commits; as root
# also containerd, runc, CNI plugins, iptables, conntrack, a C compiler and buildah, which builds the
# kubescribe image from the Dockerfile, for the local node) and a `git` system user, the npm packages
# (npm ci when package-lock.json changed), and the local control plane + helm + sops (built once per
# machine from the Go module proxy, cached in ~/.cache/kubescribe).
# Safe to run again: it skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
node_minor=$(node -p 'process.versions.node.split(".")[1]')
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  echo "install-deps: Node.js >= 20.19 is required (found $(node --version))" >&2; exit 1
fi

missing=()
[ -x /usr/lib/git-core/git-http-backend ] || missing+=(git)
command -v openssl >/dev/null || missing+=(openssl)
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
{ [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; } || missing+=(prometheus)
{ [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null && command -v ssh >/dev/null; } || missing+=(openssh-server openssh-client)
command -v gpg >/dev/null || missing+=(gnupg)
# The local node (e2e/stack/node.ts) runs only as root: its packages are installed only then.
if [ "$(id -u)" -eq 0 ]; then
  [ -x /usr/bin/containerd ] || missing+=(containerd)
  [ -x /usr/sbin/runc ] || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  [ -x /usr/sbin/iptables ] || missing+=(iptables)
  [ -x /usr/sbin/conntrack ] || missing+=(conntrack)
  { [ -x /usr/bin/cc ] && [ -e /usr/lib/x86_64-linux-gnu/libc.a ]; } || missing+=(gcc libc6-dev)  # the static pause program
  [ -x /usr/bin/buildah ] || missing+=(buildah)  # builds the kubescribe image from the Dockerfile
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: please install the Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1
  fi
  echo "install-deps: apt-get install ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The local stack's SSH Git server logs in as `git` (git-shell does the restricting, called from
# the stack's ForceCommand script): a system user without password or home.
if ! id git >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: please create a system user git (useradd --system --shell /bin/sh --home-dir /nonexistent --no-create-home -p '*' git)" >&2; exit 1
  fi
  useradd --system --shell /bin/sh --home-dir /nonexistent --no-create-home git
fi
# sshd refuses a locked account ("!" password) even for key logins; "*" means no password, unlocked.
if [ "$(id -u)" -eq 0 ] && getent shadow git | cut -d: -f2 | grep -q '^!'; then usermod -p '*' git; fi

stamp=node_modules/.kubescribe-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-deps: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

if ! command -v go >/dev/null; then
  echo "install-deps: Go (>= 1.25) is needed once per machine to build the local control plane" >&2; exit 1
fi
bash e2e/controlplane/build.sh >/dev/null
bash e2e/sops/build.sh >/dev/null
