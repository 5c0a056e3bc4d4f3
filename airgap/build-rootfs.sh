#!/usr/bin/env bash
# Builds the node's Debian root filesystem with debootstrap, from the Debian mirror this
# host's apt already uses (override with BREAKFIX_DEBIAN_MIRROR). Output: $BUILD_DIR/rootfs.tar
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
ensure_build_tools

PACKAGES=(
  systemd systemd-sysv dbus
  containerd runc containernetworking-plugins
  conntrack iptables nftables iproute2 ethtool util-linux mount kmod libseccomp2
  bash ca-certificates jq procps less
  openssh-server sudo
)
OUT="$BUILD_DIR/rootfs.tar"
# The key covers this script too: what it does after debootstrap (the host keys it removes) is an input.
KEY=$( { printf '%s\n' "$DEBIAN_SUITE" "${PACKAGES[@]}"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
if [[ -f $OUT && -f $OUT.key && $(cat "$OUT.key") == "$KEY" ]]; then
  log "rootfs $OUT is up to date"; exit 0
fi

mirror=${BREAKFIX_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(sed -nE 's/^URIs:\s*(\S+).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
  [[ -n $mirror ]] || mirror=$(sed -nE 's/^deb\s+(\[[^]]*\]\s+)?(\S+)\s+\S+\s+main.*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1)
fi
[[ -n $mirror ]] || die "no Debian mirror found in the host's apt sources; set BREAKFIX_DEBIAN_MIRROR"

dir="$BUILD_DIR/rootfs"
rm -rf "$dir"; mkdir -p "$dir"
include=$(IFS=,; echo "${PACKAGES[*]}")
step debootstrap debootstrap --variant=minbase --include="$include" "$DEBIAN_SUITE" "$dir" "$mirror" \
  > "$BUILD_DIR/debootstrap.log" 2>&1 || die "debootstrap failed, see $BUILD_DIR/debootstrap.log"
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
# openssh-server's postinst made host keys in the chroot: no image ships them, each node makes its
# own when sshd first starts (node/etc/systemd/system/ssh.service.d/).
rm -f "$dir"/etc/ssh/ssh_host_*
step rootfs-tar tar -C "$dir" --numeric-owner -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"; echo "$KEY" > "$OUT.key"
rm -rf "$dir"
