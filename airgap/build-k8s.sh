#!/usr/bin/env bash
# Builds the Kubernetes binaries of K8S_VERSION from source through the Go module proxy.
# k8s.io/kubernetes cannot be built as a plain dependency: its go.mod points every staging
# module (k8s.io/api, k8s.io/client-go, ...) at ./staging. A small wrapper module replaces
# each of them with its published v0.MINOR.PATCH release instead.
source "$(dirname "$0")/lib.sh"
ensure_build_tools

MOD="$BUILD_DIR/k8s-mod"
[[ $K8S_VERSION == "$K8S_DEFAULT_VERSION" ]] || MOD="$BUILD_DIR/k8s-$K8S_VERSION/mod"
STAMP="$BIN_DIR/.k8s-$K8S_VERSION"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl)
all_built() { local b; for b in "${BINARIES[@]}"; do [[ -x $BIN_DIR/$b ]] || return 1; done; }
if [[ -f $STAMP ]] && all_built; then
  log "kubernetes $K8S_VERSION binaries already built"; exit 0
fi

staging_version="v0.${K8S_VERSION#v1.}"
mkdir -p "$MOD"
go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
kmod="$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION"
go_line=$(grep -m1 '^go ' "$kmod/go.mod")
{
  echo "module breakfix.local/k8sbuild"
  echo
  echo "$go_line"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  sed -nE 's#^\s*(k8s\.io/[a-z0-9-]+) => \./staging/.*#\1#p' "$kmod/go.mod" |
    while read -r m; do echo "replace $m => $m $staging_version"; done
} > "$MOD/go.mod"
{
  echo "//go:build tools"
  echo
  echo "package tools"
  echo
  echo "import ("
  for b in "${BINARIES[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$b\""; done
  echo ")"
} > "$MOD/tools.go"

cd "$MOD" || die "cannot enter $MOD"
step k8s-mod-tidy go mod tidy
build_date=$(date -u -d "@$(stat -c %Y "$kmod/go.mod")" +%Y-%m-%dT%H:%M:%SZ)
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date -X $pkg.gitCommit=module-proxy-$K8S_VERSION"
done
pkgs=(); for b in "${BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
step k8s-go-build go build -trimpath -tags providerless,dockerless -ldflags "$ldflags" -o "$BIN_DIR/" "${pkgs[@]}"
"$BIN_DIR/kubectl" version --client | grep -q "$K8S_VERSION" || die "kubectl does not report $K8S_VERSION"
touch "$STAMP"
