# Shared helpers for the airgap scripts: sourced, never run.
set -euo pipefail
AIRGAP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$AIRGAP_DIR/versions.env"
BUILD_DIR="${BREAKFIX_BUILD_DIR:-$AIRGAP_DIR/.build}"
BIN_DIR="$BUILD_DIR/bin"
mkdir -p "$BIN_DIR"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

log() { printf '[airgap %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'airgap: error: %s\n' "$*" >&2; exit 1; }

# step NAME CMD...: run a step, print its duration.
step() {
  local name=$1; shift
  local t0=$SECONDS
  log "step $name: start"
  "$@"
  log "step $name: done in $((SECONDS - t0))s"
}

need_cmd() { command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH ($2)"; }
