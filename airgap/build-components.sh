#!/usr/bin/env bash
# Builds, from source through the Go module proxy, everything the node image needs besides the
# Kubernetes binaries: kind itself, etcd + etcdctl, CoreDNS, crictl, and this project's own small
# programs (pause, the CNI daemon, the workload) from airgap/tools.
source "$(dirname "$0")/lib.sh"
ensure_build_tools

# wrapped NAME OUT PKG REQUIRE...: build PKG from a throw-away module that requires the given
# module@version pairs. Used where a module's own go.mod has replace directives, which
# `go install pkg@version` refuses.
wrapped() {
  local name=$1 out=$2 pkg=$3; shift 3
  local mod="$BUILD_DIR/wrap-$name"
  mkdir -p "$mod"
  {
    echo "module breakfix.local/wrap-$name"; echo; echo "go 1.24"; echo
    for r in "$@"; do echo "require ${r%@*} ${r#*@}"; done
  } > "$mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$mod/tools.go"
  (cd "$mod" && go mod tidy >/dev/null 2>&1 || go mod tidy) || die "go mod tidy for $name failed"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$out" "$pkg")
}

built() { [[ -x $1 && -f $1.version && $(cat "$1.version") == "$2" ]]; }
mark() { echo "$2" > "$1.version"; }

if ! built "$BIN_DIR/kind" "$KIND_VERSION"; then
  step kind env GOBIN="$BIN_DIR" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
  mark "$BIN_DIR/kind" "$KIND_VERSION"
fi

if ! built "$BIN_DIR/etcd" "$ETCD_VERSION"; then
  etcd_mods=(go.etcd.io/etcd/api/v3 go.etcd.io/etcd/client/pkg/v3 go.etcd.io/etcd/client/v3 go.etcd.io/etcd/pkg/v3)
  reqs=(); for m in "${etcd_mods[@]}"; do reqs+=("$m@$ETCD_VERSION"); done
  step etcd wrapped etcd "$BIN_DIR/etcd" go.etcd.io/etcd/server/v3 "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "${reqs[@]}"
  # etcdctl of etcd 3.5 imports etcdutl, and the checksum database has no go.etcd.io/etcd/etcdutl/v3
  # v3.5.24 (404): another version's image gets the etcdctl of the default etcd (same v3 API; only
  # people run it, never kubeadm or the kubelet).
  ctl_reqs=(); for m in "${etcd_mods[@]}"; do ctl_reqs+=("$m@$ETCD_DEFAULT_VERSION"); done
  step etcdctl wrapped etcdctl "$BIN_DIR/etcdctl" go.etcd.io/etcd/etcdctl/v3 \
    "go.etcd.io/etcd/etcdctl/v3@$ETCD_DEFAULT_VERSION" "${ctl_reqs[@]}"
  mark "$BIN_DIR/etcd" "$ETCD_VERSION"
fi

if ! built "$BIN_DIR/coredns" "$COREDNS_VERSION"; then
  step coredns env GOBIN="$BIN_DIR" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
  mark "$BIN_DIR/coredns" "$COREDNS_VERSION"
fi

if ! built "$BIN_DIR/crictl" "$CRICTL_VERSION"; then
  step crictl env GOBIN="$BIN_DIR" go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  mark "$BIN_DIR/crictl" "$CRICTL_VERSION"
fi

# The project's own programs: always rebuilt (seconds, and Go's cache makes a no-op cheap).
step own-tools bash -c "cd '$AIRGAP_DIR/tools' && go build -trimpath -ldflags '-s -w' -o '$BIN_DIR/' ./cmd/..."
