#!/usr/bin/env bash
# Builds the load-balancer image kind starts for a cluster with more than one control-plane node,
# offline, from Debian's haproxy package, tagged exactly as the pinned kind asks for it
# (KIND_HAPROXY_IMAGE in versions.env): with the image present, kind runs it and pulls nothing.
# What kind needs of it (read from kind's loadbalancer action): `mkdir` and `cp` to write
# /usr/local/etc/haproxy/haproxy.cfg, `kill -s HUP 1` to make PID 1 reload it, so PID 1 is haproxy
# in master-worker mode (-W) in the foreground (-db), started on a placeholder config; a second
# file, limits.cfg, is read after kind's (see that file for why).
# Cached: the image carries a label with the hash of its inputs; a match is a no-op.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
ensure debootstrap debootstrap "builds the load balancer's Debian root filesystem"

IMAGE=$KIND_HAPROXY_IMAGE
PACKAGES=(haproxy procps)
CFG="$AIRGAP_DIR/haproxy/haproxy.cfg"
LIMITS="$AIRGAP_DIR/haproxy/limits.cfg"
# The pinned kind's own source, when Go's module cache has it, must name the same image.
kind_const="$(go env GOMODCACHE 2>/dev/null)/sigs.k8s.io/kind@$KIND_VERSION/pkg/cluster/internal/loadbalancer/const.go"
if [[ -f $kind_const ]]; then
  grep -q "\"docker.io/$IMAGE\"" "$kind_const" ||
    die "kind $KIND_VERSION expects another load balancer image than $IMAGE: see $kind_const"
fi
KEY=$( { printf '%s\n' "$DEBIAN_SUITE" "$IMAGE" "${PACKAGES[@]}"; cat "${BASH_SOURCE[0]}" "$CFG" "$LIMITS"; } | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "io.kube-breakfix.inputs"}}' "$IMAGE" 2>/dev/null || true)
if [[ $have == "$KEY" && -z ${BREAKFIX_FORCE:-} ]]; then
  log "load balancer image $IMAGE already built from these inputs"; echo "$IMAGE"; exit 0
fi

mirror=${BREAKFIX_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(sed -nE 's/^URIs:\s*(\S+).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
  [[ -n $mirror ]] || mirror=$(sed -nE 's/^deb\s+(\[[^]]*\]\s+)?(\S+)\s+\S+\s+main.*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1)
fi
[[ -n $mirror ]] || die "no Debian mirror found in the host's apt sources; set BREAKFIX_DEBIAN_MIRROR"

dir="$BUILD_DIR/haproxy-rootfs"
rm -rf "$dir"; mkdir -p "$dir"
include=$(IFS=,; echo "${PACKAGES[*]}")
step haproxy-debootstrap debootstrap --variant=minbase --include="$include" "$DEBIAN_SUITE" "$dir" "$mirror" \
  > "$BUILD_DIR/haproxy-debootstrap.log" 2>&1 || die "debootstrap failed, see $BUILD_DIR/haproxy-debootstrap.log"
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc "$dir"/usr/share/man \
  "$dir"/usr/share/locale
install -D -m 0644 "$CFG" "$dir/usr/local/etc/haproxy/haproxy.cfg"
install -D -m 0644 "$LIMITS" "$dir/usr/local/etc/haproxy/limits.cfg"
[[ -x $dir/usr/sbin/haproxy ]] || die "debootstrap left no /usr/sbin/haproxy in $dir"
chroot "$dir" /usr/sbin/haproxy -c -f /usr/local/etc/haproxy/haproxy.cfg -f /usr/local/etc/haproxy/limits.cfg >/dev/null ||
  die "haproxy rejects the placeholder config $CFG"
BASE="kube-breakfix/haproxy-rootfs:$KEY"
step haproxy-import bash -c "tar -C '$dir' --numeric-owner -c . | docker import - '$BASE' >/dev/null"
# docker import cannot set STOPSIGNAL: one build step on top does (SIGUSR1: haproxy's soft stop).
printf '%s\n' "FROM $BASE" \
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'STOPSIGNAL SIGUSR1' \
  'ENTRYPOINT ["/usr/sbin/haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg", "-f", "/usr/local/etc/haproxy/limits.cfg"]' \
  "LABEL io.kube-breakfix.inputs=$KEY" | docker build -q -t "$IMAGE" - >/dev/null || die "docker build of $IMAGE failed"
docker rmi "$BASE" >/dev/null
rm -rf "$dir"
log "load balancer image $IMAGE built"
echo "$IMAGE"
