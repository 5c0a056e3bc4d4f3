# Shared functions of the airgap scripts: sourced, never run.
# shellcheck shell=bash
set -euo pipefail
AIRGAP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$AIRGAP_DIR/versions.env"
BUILD_DIR="${BREAKFIX_BUILD_DIR:-$AIRGAP_DIR/.build}"
BIN_DIR="$BUILD_DIR/bin"
# BREAKFIX_K8S_VERSION picks one of K8S_VERSIONS. The first keeps bin/ and node-image.ref; another
# builds its binaries (Kubernetes, and etcd/CoreDNS where kubeadm of that minor names other ones)
# in k8s-<version>/bin, and every version's image reference is in node-image-<version>.ref.
# shellcheck disable=SC2034  # read by the scripts that source this file
K8S_DEFAULT_VERSION=$K8S_VERSION
# shellcheck disable=SC2034
ETCD_DEFAULT_VERSION=$ETCD_VERSION
if [[ -n ${BREAKFIX_K8S_VERSION:-} && $BREAKFIX_K8S_VERSION != "$K8S_VERSION" ]]; then
  if [[ " $K8S_VERSIONS " != *" $BREAKFIX_K8S_VERSION "* ]]; then
    printf 'airgap: error: BREAKFIX_K8S_VERSION=%s is not in K8S_VERSIONS (%s) of versions.env\n' \
      "$BREAKFIX_K8S_VERSION" "$K8S_VERSIONS" >&2
    exit 2
  fi
  K8S_VERSION=$BREAKFIX_K8S_VERSION
  BIN_DIR="$BUILD_DIR/k8s-$K8S_VERSION/bin"
  _minor=${K8S_VERSION#v}; _minor=${_minor%.*}; _minor=${_minor//./_}
  for _v in ETCD_VERSION ETCD_IMAGE_TAG COREDNS_VERSION; do
    _o="${_v}_${_minor}"
    [[ -n ${!_o:-} ]] && printf -v "$_v" '%s' "${!_o}"
  done
  unset _minor _v _o
fi
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# BREAKFIX_PLAN=1 (`node-image.sh --plan`): say what would be installed and built, change nothing.
PLAN=${BREAKFIX_PLAN:-}
[[ -n $PLAN ]] || mkdir -p "$BIN_DIR"

log() { printf '[airgap %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# die MESSAGE: the one line a user sees when a step cannot go on (never a silent exit).
die() { printf 'airgap: error: %s\n' "$*" >&2; exit 1; }
plan() { printf 'plan: %s\n' "$*"; }

# step NAME CMD...: run a step, print its duration.
step() {
  local name=$1; shift
  local t0=$SECONDS
  log "step $name: start"
  "$@"
  log "step $name: done in $((SECONDS - t0))s"
}

# ensure CMD PACKAGE WHY: CMD is on PATH afterwards, or the script stops with one line naming CMD,
# the Debian package that provides it and why it is needed. This is the only way the scripts check
# for a tool: the check and the install are one step, so no check can run before its install.
# PACKAGE "-" means no Debian package will do (the line then says how to get it).
_apt_updated=
ensure() {
  local cmd=$1 pkg=$2 why=$3
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [[ $pkg == - ]]; then
    [[ -n $PLAN ]] && { plan "MISSING $cmd: cannot be installed by this project ($why)"; return 0; }
    die "$cmd not found on PATH: $why"
  fi
  if [[ -n $PLAN ]]; then plan "install Debian package $pkg (provides $cmd: $why)"; return 0; fi
  [[ $(id -u) -eq 0 ]] || die "$cmd not found on PATH and installing Debian package $pkg needs root ($why)"
  command -v apt-get >/dev/null 2>&1 || die "$cmd not found on PATH and there is no apt-get to install $pkg ($why)"
  log "installing Debian package $pkg ($cmd: $why)"
  local out
  if [[ -z $_apt_updated ]]; then
    out=$(apt-get update -qq 2>&1) || die "$cmd not found; apt-get update failed: $(tail -n 1 <<<"$out")"
    _apt_updated=1
  fi
  out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" 2>&1) \
    || die "$cmd not found; apt-get install $pkg failed: $(tail -n 1 <<<"$out")"
  hash -r
  command -v "$cmd" >/dev/null 2>&1 || die "installed Debian package $pkg but $cmd is still not on PATH"
}

# The tools every build step uses, checked (and installed) before the first step runs.
ensure_build_tools() {
  ensure go - "Go 1.24 or newer builds Kubernetes from source; install it from go.dev (Debian's golang is too old)"
  ensure debootstrap debootstrap "builds the node's Debian root filesystem"
  ensure jq jq "the runc wrapper edits OCI specs with it"
}
ensure_docker_tools() {
  ensure dockerd docker.io "the Docker engine runs kind's node containers"
  ensure jq jq "edits /etc/docker/daemon.json and OCI specs (runc wrapper)"
}
