#!/usr/bin/env bash
# `make node-image`: builds a kind-compatible node image with no registry and no GitHub download.
#   1. Docker engine up (docker-up.sh)
#   2. Kubernetes binaries from source (build-k8s.sh)
#   3. kind, etcd, CoreDNS, crictl and the project's own programs (build-components.sh)
#   4. Debian root filesystem (build-rootfs.sh; beside 2 and 3, as is the load balancer's image,
#      haproxy-image.sh, beside 5 and 6)
#   5. one image per component, tagged with the names kubeadm expects
#   6. the node image: rootfs + node files + binaries, component images imported into its
#      containerd (namespace k8s.io) so that creating a cluster pulls nothing.
# Cached: the image tag carries a hash of every input under airgap/; when that image exists the
# whole build is a no-op (BREAKFIX_FORCE=1 rebuilds). The last line printed is the image reference.
# BREAKFIX_BUILD_DIR, GOCACHE, GOMODCACHE and BREAKFIX_NODE_IMAGE_REPO relocate the build, e.g. to
# measure a build from empty caches without touching the usual ones.
# --plan: print what a build would install and build on this machine, change nothing, exit 0.
case ${1:-} in
  --plan) export BREAKFIX_PLAN=1 ;;
  "") ;;
  *) printf 'airgap: error: unknown argument %s (usage: node-image.sh [--plan])\n' "$1" >&2; exit 2 ;;
esac
source "$(dirname "$0")/lib.sh"
T0=$SECONDS
[[ -n $PLAN || $(id -u) -eq 0 ]] || die "must run as root (Docker engine, debootstrap)"
# Every tool, before the first step: installed now, or one line saying what is missing.
ensure_build_tools

# The load balancer's image (haproxy-image.sh, haproxy/) is built and cached on its own: not an input.
input_hash() {
  (cd "$AIRGAP_DIR" && find . \( -path ./.build -o -path ./haproxy \) -prune -o -type f ! -name haproxy-image.sh -print |
    LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-12
}
KEY=$(input_hash)
# The version's own reference, and node-image.ref for the first version (what the suite uses by default).
write_ref() {
  echo "$IMAGE" > "$BUILD_DIR/node-image-$K8S_VERSION.ref"
  if [[ $K8S_VERSION == "$K8S_DEFAULT_VERSION" ]]; then echo "$IMAGE" > "$BUILD_DIR/node-image.ref"; fi
}
IMAGE="${BREAKFIX_NODE_IMAGE_REPO:-$NODE_IMAGE_REPO}:$K8S_VERSION-$KEY"

# What a build would do here, from the same caches the build itself consults.
plan_build() {
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    plan "node image $IMAGE is built: nothing to build"; return
  fi
  plan "node image $IMAGE: not built yet (or no Docker engine to ask)"
  local b missing=()
  for b in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl; do
    [[ -x $BIN_DIR/$b ]] || missing+=("$b")
  done
  if [[ -f $BIN_DIR/.k8s-$K8S_VERSION && ${#missing[@]} -eq 0 ]]; then plan "Kubernetes $K8S_VERSION binaries: built"
  else plan "build Kubernetes $K8S_VERSION from the Go module proxy: ${missing[*]:-all} (cold: about 5 min)"; fi
  for b in kind:$KIND_VERSION etcd:$ETCD_VERSION coredns:$COREDNS_VERSION crictl:$CRICTL_VERSION; do
    if [[ -x $BIN_DIR/${b%%:*} && $(cat "$BIN_DIR/${b%%:*}.version" 2>/dev/null) == "${b#*:}" ]]; then
      plan "${b%%:*} ${b#*:}: built"
    else plan "build ${b%%:*} ${b#*:} from the Go module proxy"; fi
  done
  if [[ -f $BUILD_DIR/rootfs.tar ]]; then plan "Debian $DEBIAN_SUITE rootfs: built ($BUILD_DIR/rootfs.tar)"
  else plan "debootstrap a Debian $DEBIAN_SUITE rootfs from the host's apt mirror (about 1 min)"; fi
  plan "assemble the component images and the node image $IMAGE (about 1 min)"
}
if [[ -n $PLAN ]]; then
  bash "$AIRGAP_DIR/docker-up.sh"
  plan_build
  exit 0
fi
step docker-up bash "$AIRGAP_DIR/docker-up.sh"
# The host side needs kind and kubectl next to the image (the suite and the tests use them): on a
# cache hit in a fresh checkout, build kind (seconds with Go's cache) and copy kubectl out of the image.
host_tools() {
  if [[ ! -x $BIN_DIR/kind ]]; then
    step kind env GOBIN="$BIN_DIR" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
    echo "$KIND_VERSION" > "$BIN_DIR/kind.version"
  fi
  if [[ ! -x $BIN_DIR/kubectl ]]; then
    local cid; cid=$(docker create "$IMAGE")
    docker cp "$cid:/usr/bin/kubectl" "$BIN_DIR/kubectl" && docker rm "$cid" >/dev/null
  fi
}

if [[ -z ${BREAKFIX_FORCE:-} ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  host_tools
  log "node image $IMAGE already built from these inputs (${SECONDS}s)"
  write_ref
  echo "$IMAGE"; exit 0
fi

# Long work ahead: check room first (Go caches, rootfs, images: measured ~8 GiB at most).
need_gib=${BREAKFIX_NEED_GIB:-10}
for d in "$BUILD_DIR" "$(go env GOCACHE | xargs dirname)" /var/lib/docker; do
  mkdir -p "$d"
  free=$(df -Pk "$d" | awk 'NR==2 {print int($4/1048576)}')
  (( free >= need_gib )) || die "only ${free} GiB free under $d; need ${need_gib} GiB (set BREAKFIX_NEED_GIB to override)"
done

# beside NAME CMD...: run a build step in the background while the main line goes on; its output
# goes to $BUILD_DIR/NAME.log and is shown by await_beside NAME. Stopping this script stops it.
declare -A BESIDE_PID=()
stop_beside() {
  local p
  for p in "${BESIDE_PID[@]}"; do pkill -TERM -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  return 0
}
trap stop_beside EXIT
beside() {
  local name=$1; shift
  log "step $name: started beside the build (output: $BUILD_DIR/$name.log)"
  "$@" > "$BUILD_DIR/$name.log" 2>&1 &
  BESIDE_PID[$name]=$!
}
await_beside() {
  local name=$1 t0=$SECONDS rc=0
  wait "${BESIDE_PID[$name]}" || rc=$?
  unset "BESIDE_PID[$name]"
  cat "$BUILD_DIR/$name.log" >&2
  (( rc == 0 )) || die "step $name failed (exit $rc): see above and $BUILD_DIR/$name.log"
  log "step $name: done ($((SECONDS - t0))s waited for it)"
}

# The rootfs (debootstrap: downloads from the mirror and unpacking) runs beside the Go builds, which
# keep both cores busy compiling: it costs them little and saves its own wall time on a cold build.
beside rootfs bash "$AIRGAP_DIR/build-rootfs.sh"
step kubernetes bash "$AIRGAP_DIR/build-k8s.sh"
step components bash "$AIRGAP_DIR/build-components.sh"
# The load balancer's image (its own cache; kind's source is in Go's module cache by now, so its
# check of the image name runs) is built beside the node image's assembly.
beside load-balancer bash "$AIRGAP_DIR/haproxy-image.sh"
await_beside rootfs

ROOTFS_IMAGE="kube-breakfix/rootfs:$(cut -c1-12 "$BUILD_DIR/rootfs.tar.key")"
if ! docker image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then
  step rootfs-import docker import "$BUILD_DIR/rootfs.tar" "$ROOTFS_IMAGE" >/dev/null
fi

CTX="$BUILD_DIR/ctx"
rm -rf "$CTX"; mkdir -p "$CTX/tmp"
chmod 1777 "$CTX/tmp"

# build_image REF DOCKERFILE-TEXT FILE...: docker build from a context holding FILEs (offline:
# every base is scratch or an image built here).
build_image() {
  local ref=$1 dockerfile=$2; shift 2
  local c; c="$CTX/$(echo "$ref" | tr '/:' '__')"
  mkdir -p "$c"; cp -a "$CTX/tmp" "$c/tmp"
  local f; for f in "$@"; do cp -a "$f" "$c/"; done
  printf '%s\n' "$dockerfile" > "$c/Dockerfile"
  docker build -q -t "$ref" "$c" >/dev/null || die "docker build of $ref failed"
}
PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
REG=registry.k8s.io
IMAGES=()
images() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    build_image "$REG/$b:$K8S_VERSION" "FROM scratch
COPY tmp/ /tmp/
COPY $b /usr/local/bin/$b
$PATH_ENV" "$BIN_DIR/$b"
    IMAGES+=("$REG/$b:$K8S_VERSION")
  done
  build_image "$REG/kube-proxy:$K8S_VERSION" "FROM $ROOTFS_IMAGE
COPY kube-proxy /usr/local/bin/kube-proxy
COPY iptables-wrapper /usr/sbin/iptables-wrapper
RUN for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do ln -sf /usr/sbin/iptables-wrapper /usr/sbin/\$t; done
$PATH_ENV" "$BIN_DIR/kube-proxy" "$AIRGAP_DIR/images/iptables-wrapper"
  IMAGES+=("$REG/kube-proxy:$K8S_VERSION")
  build_image "$REG/etcd:$ETCD_IMAGE_TAG" "FROM scratch
COPY tmp/ /tmp/
COPY etcd etcdctl /usr/local/bin/
$PATH_ENV" "$BIN_DIR/etcd" "$BIN_DIR/etcdctl"
  IMAGES+=("$REG/etcd:$ETCD_IMAGE_TAG")
  local spec ref bin target
  for spec in "$REG/coredns/coredns:$COREDNS_VERSION coredns /coredns" \
              "$REG/pause:$PAUSE_IMAGE_TAG pause /pause" \
              "$NETD_IMAGE breakfix-netd /usr/local/bin/breakfix-netd" \
              "$APP_IMAGE breakfix-app /usr/local/bin/breakfix-app"; do
    read -r ref bin target <<<"$spec"
    build_image "$ref" "FROM scratch
COPY tmp/ /tmp/
COPY $bin $target
$PATH_ENV
ENTRYPOINT [\"$target\"]" "$BIN_DIR/$bin"
    IMAGES+=("$ref")
  done
}
step component-images images
step images-save docker save -o "$BUILD_DIR/images.tar" "${IMAGES[@]}"

# Node base: rootfs + this project's node files + binaries.
N="$CTX/node"
mkdir -p "$N/bin"
cp -a "$AIRGAP_DIR/node" "$N/files"
sed -i "s|@PAUSE_IMAGE_TAG@|$PAUSE_IMAGE_TAG|" "$N/files/etc/containerd/config.toml"
sed -i "s|@NETD_IMAGE@|$NETD_IMAGE|" "$N/files/kind/manifests/default-cni.yaml"
echo -n "$K8S_VERSION" > "$N/files/kind/version"
cp -a "$BIN_DIR"/{kubelet,kubeadm,kubectl,crictl} "$N/bin/"
cat > "$N/Dockerfile" <<DOCKERFILE
FROM $ROOTFS_IMAGE
COPY bin/kubelet bin/kubeadm bin/kubectl /usr/bin/
COPY bin/crictl /usr/local/bin/
COPY files/ /
RUN set -e; \
    mkdir -p /opt/cni/bin /etc/cni/net.d /etc/kubernetes/manifests /var/lib/kubelet; \
    for p in /usr/lib/cni/*; do ln -sf "\$p" /opt/cni/bin/; done; \
    ln -sf /lib/systemd/systemd /sbin/init; \
    echo 'ReadKMsg=no' >> /etc/systemd/journald.conf; \
    find /etc/systemd/system -name '*.wants' -type d -exec sh -c 'rm -f "\$1"/*' _ {} \; ; \
    systemctl mask systemd-udevd.service systemd-udevd-kernel.socket systemd-udevd-control.socket \
      systemd-udev-trigger.service systemd-binfmt.service systemd-modules-load.service \
      systemd-tmpfiles-setup.service getty@tty1.service console-getty.service serial-getty@.service \
      sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount \
      systemd-remount-fs.service systemd-resolved.service systemd-timesyncd.service \
      apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1; \
    systemctl enable containerd.service kubelet.service ssh.service >/dev/null 2>&1; \
    for k in /etc/ssh/ssh_host_*; do if test -e "\$k"; then echo "host key \$k in the image" >&2; exit 1; fi; done; \
    kubelet --version; kubeadm version -o short; containerd --version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
DOCKERFILE
BASE_IMAGE="kube-breakfix/node-base:$KEY"
step node-base docker build -q -t "$BASE_IMAGE" "$N" >/dev/null

# Import the component images into the node's containerd, then commit that container.
preload() {
  local c="breakfix-preload-$KEY"
  docker rm -f "$c" >/dev/null 2>&1 || true
  docker run -d --name "$c" --privileged --entrypoint /bin/sleep \
    -v "$BUILD_DIR/images.tar:/images.tar:ro" "$BASE_IMAGE" infinity >/dev/null
  # shellcheck disable=SC2064  # expand $c now: the trap runs after c has gone out of scope
  trap "docker rm -f $c >/dev/null 2>&1 || true" RETURN
  docker exec "$c" bash -euc '
    containerd >/tmp/containerd.log 2>&1 &
    for i in $(seq 1 200); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
    ctr version >/dev/null || { cat /tmp/containerd.log; exit 1; }
    ctr -n k8s.io images import --no-unpack /images.tar >/dev/null
    for img in $(ctr -n k8s.io images ls -q); do
      ctr -n k8s.io images label "$img" io.cri-containerd.pinned=pinned >/dev/null
    done
    ctr -n k8s.io images ls -q
    kill %1; wait || true
    rm -rf /tmp/* /var/lib/containerd/tmpmounts/* /run/containerd
  ' >&2
  docker commit "$c" "$BASE_IMAGE-preloaded" >/dev/null
  # `docker commit --change` cannot set STOPSIGNAL on every Docker version: a last build step does.
  printf '%s\n' "FROM $BASE_IMAGE-preloaded" \
    'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' 'CMD []' \
    'STOPSIGNAL SIGRTMIN+3' 'ENV container=docker' \
    "LABEL io.kube-breakfix.k8s-version=$K8S_VERSION io.kube-breakfix.inputs=$KEY" |
    docker build -q -t "$IMAGE" - >/dev/null
  docker rmi "$BASE_IMAGE-preloaded" >/dev/null
}
step preload-images preload
docker rmi "$BASE_IMAGE" >/dev/null 2>&1 || true
await_beside load-balancer
log "node image built in $((SECONDS - T0))s"
write_ref
echo "$IMAGE"
